package binlog

import (
	"strings"
	"unicode"

	"github.com/evac-dev/evac/replicator/change"
)

// queryKind classifies a Query event's statement.
type queryKind uint8

const (
	qOther queryKind = iota
	qBegin
	qCommit
	qRollback
	qDML
	qDDL
	qXAStart
	qXAEnd
	qXAPrepare
	qXACommit
	qXARollback
	qSavepoint
)

// classify returns the kind of a statement from its leading keywords.
func classify(sql string) queryKind {
	w := words(sql, 3)
	if len(w) == 0 {
		return qOther
	}
	switch w[0] {
	case "BEGIN":
		return qBegin
	case "COMMIT":
		return qCommit
	case "ROLLBACK":
		if len(w) > 1 && w[1] == "TO" {
			return qSavepoint
		}
		return qRollback
	case "SAVEPOINT", "RELEASE":
		return qSavepoint
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD":
		return qDML
	case "XA":
		if len(w) > 1 {
			switch w[1] {
			case "START", "BEGIN":
				return qXAStart
			case "END":
				return qXAEnd
			case "PREPARE":
				return qXAPrepare
			case "COMMIT":
				return qXACommit
			case "ROLLBACK":
				return qXARollback
			}
		}
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE":
		return qDDL
	}
	return qOther
}

// tokens splits SQL into upper-cased keywords and identifiers (backquotes
// removed, dotted names kept as "a", ".", "b"), skipping comments except
// MySQL executable comments (/*!...*/ and /*M!...*/), whose content counts.
func tokens(sql string, limit int) []string { return tokenize(sql, limit, true) }

func tokenize(sql string, limit int, upper bool) []string {
	var out []string
	s := []rune(sql)
	for i := 0; i < len(s) && (limit <= 0 || len(out) < limit); {
		c := s[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := i + 2
			if j < len(s) && s[j] == '!' || (j+1 < len(s) && s[j] == 'M' && s[j+1] == '!') {
				for j < len(s) && (s[j] == '!' || s[j] == 'M' || unicode.IsDigit(s[j])) {
					j++
				}
				i = j // executable comment: read its content; "*/" is skipped below
				continue
			}
			end := strings.Index(string(s[j:]), "*/")
			if end < 0 {
				return out
			}
			i = j + len([]rune(string(s[j:])[:end])) + 2
		case c == '*' && i+1 < len(s) && s[i+1] == '/':
			i += 2
		case c == '-' && i+2 < len(s) && s[i+1] == '-' && unicode.IsSpace(s[i+2]), c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '`':
			var b strings.Builder
			for i++; i < len(s); i++ {
				if s[i] == '`' {
					if i+1 < len(s) && s[i+1] == '`' {
						b.WriteRune('`')
						i++
						continue
					}
					break
				}
				b.WriteRune(s[i])
			}
			i++
			out = append(out, "`"+b.String())
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, string(s[i:min(j+1, len(s))]))
			i = j + 1
		case unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '$':
			j := i
			for j < len(s) && (unicode.IsLetter(s[j]) || unicode.IsDigit(s[j]) || s[j] == '_' || s[j] == '$') {
				j++
			}
			w := string(s[i:j])
			if upper {
				w = strings.ToUpper(w)
			}
			out = append(out, w)
			i = j
		default:
			out = append(out, string(c))
			i++
		}
	}
	return out
}

func words(sql string, n int) []string { return tokens(sql, n) }

// ident returns the identifier a token names (backquoted names keep case;
// bare ones were upper-cased, so the original spelling is recovered from
// raw by the caller through identAt).
func ident(tok string) string { return strings.TrimPrefix(tok, "`") }

// tableNames parses the tables a DDL statement names. Unqualified names get
// defaultDB. A database-level statement yields {db, ""}. Statements that
// name no table (views, routines, triggers, users) yield nil.
func tableNames(sql, defaultDB string) []change.TableID {
	toks := rawTokens(sql)
	up := make([]string, len(toks))
	for i, t := range toks {
		if strings.HasPrefix(t, "`") {
			up[i] = t
		} else {
			up[i] = strings.ToUpper(t)
		}
	}
	p := &ddlParser{raw: toks, up: up, db: defaultDB}
	return p.parse()
}

// rawTokens is tokens() keeping the original case of bare identifiers.
func rawTokens(sql string) []string { return tokenize(sql, 0, false) }

func isWordRune(c rune) bool {
	return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '$'
}

type ddlParser struct {
	raw, up []string
	i       int
	db      string
}

func (p *ddlParser) peek() string {
	if p.i < len(p.up) {
		return p.up[p.i]
	}
	return ""
}

func (p *ddlParser) accept(words ...string) bool {
	for _, w := range words {
		if p.peek() == w {
			p.i++
			return true
		}
	}
	return false
}

func (p *ddlParser) skip(words ...string) {
	for p.accept(words...) {
	}
}

// name reads [db.]table.
func (p *ddlParser) name() (change.TableID, bool) {
	if p.i >= len(p.raw) {
		return change.TableID{}, false
	}
	a := ident(p.raw[p.i])
	p.i++
	if p.peek() == "." && p.i+1 < len(p.raw) {
		b := ident(p.raw[p.i+1])
		p.i += 2
		return change.TableID{Schema: a, Name: b}, true
	}
	return change.TableID{Schema: p.db, Name: a}, true
}

func (p *ddlParser) list() []change.TableID {
	var out []change.TableID
	for {
		t, ok := p.name()
		if !ok {
			return out
		}
		out = append(out, t)
		if !p.accept(",") {
			return out
		}
	}
}

func (p *ddlParser) parse() []change.TableID {
	switch {
	case p.accept("CREATE"):
		p.skip("OR", "REPLACE", "TEMPORARY", "ONLINE", "OFFLINE", "UNIQUE", "FULLTEXT", "SPATIAL")
		switch {
		case p.accept("TABLE"):
			return p.createTable()
		case p.accept("DATABASE", "SCHEMA"):
			return p.database()
		case p.accept("INDEX"):
			return p.onTable()
		}
	case p.accept("ALTER"):
		p.skip("ONLINE", "OFFLINE", "IGNORE")
		switch {
		case p.accept("TABLE"):
			return p.alterTable()
		case p.accept("DATABASE", "SCHEMA"):
			return p.database()
		}
	case p.accept("DROP"):
		p.skip("TEMPORARY", "ONLINE", "OFFLINE")
		switch {
		case p.accept("TABLE", "TABLES"):
			p.skip("IF", "EXISTS")
			if p.peek() == "/" { // "DROP TABLE /* generated by server */" is stripped by tokens
				p.i++
			}
			return p.list()
		case p.accept("DATABASE", "SCHEMA"):
			return p.database()
		case p.accept("INDEX"):
			return p.onTable()
		}
	case p.accept("RENAME"):
		if p.accept("TABLE", "TABLES") {
			var out []change.TableID
			for {
				a, ok := p.name()
				if !ok || !p.accept("TO") {
					return out
				}
				b, _ := p.name()
				out = append(out, a, b)
				if !p.accept(",") {
					return out
				}
			}
		}
	case p.accept("TRUNCATE"):
		p.accept("TABLE")
		return p.list()
	}
	return nil
}

func (p *ddlParser) createTable() []change.TableID {
	p.skip("IF", "NOT", "EXISTS")
	t, ok := p.name()
	if !ok {
		return nil
	}
	out := []change.TableID{t}
	for p.i < len(p.up) {
		if p.accept("LIKE") {
			if l, ok := p.name(); ok {
				out = append(out, l)
			}
			break
		}
		p.i++
	}
	return out
}

func (p *ddlParser) alterTable() []change.TableID {
	p.skip("IF", "EXISTS")
	t, ok := p.name()
	if !ok {
		return nil
	}
	out := []change.TableID{t}
	for p.i < len(p.up) {
		if p.accept("RENAME") && !p.accept("COLUMN", "INDEX", "KEY") {
			p.skip("TO", "AS")
			if n, ok := p.name(); ok {
				out = append(out, n)
			}
			continue
		}
		p.i++
	}
	return out
}

func (p *ddlParser) onTable() []change.TableID {
	for p.i < len(p.up) {
		if p.accept("ON") {
			t, ok := p.name()
			if ok {
				return []change.TableID{t}
			}
			return nil
		}
		p.i++
	}
	return nil
}

func (p *ddlParser) database() []change.TableID {
	p.skip("IF", "NOT", "EXISTS")
	if p.i >= len(p.raw) {
		return nil
	}
	return []change.TableID{{Schema: ident(p.raw[p.i])}}
}
