package binlog

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
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

// statusVars are the Query event status variables evac replays DDL with.
type statusVars struct {
	SQLMode  uint64
	HasMode  bool
	Charset  string // "client,connection,server" collation ids
	TimeZone string
}

// parseStatusVars reads the Query event status variable block; it stops at
// the first code it does not know (the ones evac needs come first).
func parseStatusVars(b []byte) statusVars {
	var v statusVars
	fixed := map[byte]int{0: 4, 3: 4, 7: 2, 8: 2, 9: 8, 10: 4, 13: 3, 14: 8, 16: 1, 17: 8, 18: 2, 19: 1, 20: 1, 128: 3, 129: 8, 130: 1}
	for i := 0; i < len(b); {
		code := b[i]
		i++
		switch code {
		case 1:
			if i+8 > len(b) {
				return v
			}
			v.SQLMode, v.HasMode = binary.LittleEndian.Uint64(b[i:]), true
			i += 8
		case 4:
			if i+6 > len(b) {
				return v
			}
			v.Charset = fmt.Sprintf("%d,%d,%d", binary.LittleEndian.Uint16(b[i:]),
				binary.LittleEndian.Uint16(b[i+2:]), binary.LittleEndian.Uint16(b[i+4:]))
			i += 6
		case 5, 6:
			if i >= len(b) || i+1+int(b[i]) > len(b) {
				return v
			}
			if code == 5 {
				v.TimeZone = string(b[i+1 : i+1+int(b[i])])
			}
			i += 1 + int(b[i])
		case 2:
			if i >= len(b) {
				return v
			}
			i += 2 + int(b[i])
		case 11:
			if i >= len(b) {
				return v
			}
			i += 1 + int(b[i])
			if i >= len(b) {
				return v
			}
			i += 1 + int(b[i])
		case 12:
			if i >= len(b) {
				return v
			}
			n := int(b[i])
			i++
			if n == 254 {
				n = 0
			}
			for ; n > 0 && i < len(b); n-- {
				for i < len(b) && b[i] != 0 {
					i++
				}
				i++
			}
		default:
			n, ok := fixed[code]
			if !ok {
				return v
			}
			i += n
		}
	}
	return v
}

var sqlModeNames = []string{
	"REAL_AS_FLOAT", "PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE", "IGNORE_BAD_TABLE_OPTIONS",
	"ONLY_FULL_GROUP_BY", "NO_UNSIGNED_SUBTRACTION", "NO_DIR_IN_CREATE", "POSTGRESQL", "ORACLE",
	"MSSQL", "DB2", "MAXDB", "NO_KEY_OPTIONS", "NO_TABLE_OPTIONS", "NO_FIELD_OPTIONS", "MYSQL323",
	"MYSQL40", "ANSI", "NO_AUTO_VALUE_ON_ZERO", "NO_BACKSLASH_ESCAPES", "STRICT_TRANS_TABLES",
	"STRICT_ALL_TABLES", "NO_ZERO_IN_DATE", "NO_ZERO_DATE", "ALLOW_INVALID_DATES",
	"ERROR_FOR_DIVISION_BY_ZERO", "TRADITIONAL", "NO_AUTO_CREATE_USER", "HIGH_NOT_PRECEDENCE",
	"NO_ENGINE_SUBSTITUTION", "PAD_CHAR_TO_FULL_LENGTH", "EMPTY_STRING_IS_NULL",
	"SIMULTANEOUS_ASSIGNMENT", "TIME_ROUND_FRACTIONAL",
}

// sqlModeString renders a MariaDB sql_mode bit set as names. Compound modes
// (ANSI, TRADITIONAL, ...) are left out: their parts are set as bits too.
func sqlModeString(mode uint64, mysqlFlavor bool) string {
	var names []string
	for i, n := range sqlModeNames {
		if mode&(1<<uint(i)) == 0 {
			continue
		}
		switch n {
		case "ANSI", "TRADITIONAL", "POSTGRESQL", "ORACLE", "MSSQL", "DB2", "MAXDB", "MYSQL323", "MYSQL40":
			continue
		case "IGNORE_BAD_TABLE_OPTIONS":
			if mysqlFlavor {
				continue // bit 4 is unused on MySQL
			}
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

// xid is an XA transaction id in canonical form.
type xid struct {
	FormatID    int64
	Gtrid, Bqal string
}

func (x xid) key() string {
	return fmt.Sprintf("%d:%s:%s", x.FormatID, hex.EncodeToString([]byte(x.Gtrid)), hex.EncodeToString([]byte(x.Bqal)))
}

// parseXID reads the xid after "XA <verb>" ('g'[,'b'[,fmt]] or X'..' forms).
func parseXID(sql string) (xid, error) {
	toks := tokens(sql, 0)
	// skip XA and the verb(s)
	i := 0
	for i < len(toks) && (toks[i] == "XA" || toks[i] == "START" || toks[i] == "BEGIN" || toks[i] == "END" ||
		toks[i] == "PREPARE" || toks[i] == "COMMIT" || toks[i] == "ROLLBACK") {
		i++
	}
	var parts []string
	for ; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == "," || t == "ONE" || t == "PHASE" || t == "SUSPEND" || t == "FOR" || t == "MIGRATE":
			continue
		case t == "X" && i+1 < len(toks) && strings.HasPrefix(toks[i+1], "'"):
			b, err := hex.DecodeString(strings.Trim(toks[i+1], "'"))
			if err != nil {
				return xid{}, fmt.Errorf("xid in %q: %w", sql, err)
			}
			parts = append(parts, string(b))
			i++
		case strings.HasPrefix(t, "X'"):
			b, err := hex.DecodeString(strings.Trim(t[1:], "'"))
			if err != nil {
				return xid{}, fmt.Errorf("xid in %q: %w", sql, err)
			}
			parts = append(parts, string(b))
		case strings.HasPrefix(t, "'") || strings.HasPrefix(t, "\""):
			parts = append(parts, unquote(t))
		default:
			parts = append(parts, t)
		}
	}
	if len(parts) == 0 {
		return xid{}, fmt.Errorf("no xid in %q", sql)
	}
	x := xid{FormatID: 1, Gtrid: parts[0]}
	if len(parts) > 1 {
		x.Bqal = parts[1]
	}
	if len(parts) > 2 {
		if _, err := fmt.Sscan(parts[2], &x.FormatID); err != nil {
			return xid{}, fmt.Errorf("xid format id in %q: %w", sql, err)
		}
	}
	return x, nil
}

func unquote(t string) string {
	q := t[0]
	t = strings.TrimSuffix(t[1:], string(q))
	r := strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\"`, `"`, `\0`, "\x00", `\n`, "\n", string(q)+string(q), string(q))
	return r.Replace(t)
}

// parseXAPrepareEvent reads a binary XA_PREPARE_LOG_EVENT body.
func parseXAPrepareEvent(b []byte) (xid, error) {
	if len(b) < 13 {
		return xid{}, fmt.Errorf("XA_PREPARE event too short (%d bytes)", len(b))
	}
	fmtID := int64(int32(binary.LittleEndian.Uint32(b[1:])))
	gl := int(binary.LittleEndian.Uint32(b[5:]))
	bl := int(binary.LittleEndian.Uint32(b[9:]))
	if 13+gl+bl > len(b) {
		return xid{}, fmt.Errorf("XA_PREPARE event xid lengths %d+%d exceed body", gl, bl)
	}
	return xid{FormatID: fmtID, Gtrid: string(b[13 : 13+gl]), Bqal: string(b[13+gl : 13+gl+bl])}, nil
}
