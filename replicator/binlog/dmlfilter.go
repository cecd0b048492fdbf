package binlog

import (
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// statementWanted reports whether a DML statement logged as a Query event
// (binlog_format STATEMENT/MIXED in some session) may touch a replicated
// table: the names after FROM/INTO/UPDATE/JOIN/TABLE are checked against the
// filter. Statements on other schemas (another application sharing the
// server) are not evac's to refuse. Unparseable statements count as wanted.
// (Added by the snapshot helper: a shared server's other writers must not
// stop the stream.)
func (s *Stream) statementWanted(q, defaultDB string) bool {
	toks := rawTokens(q)
	found := false
	for i := 0; i < len(toks); i++ {
		switch strings.ToUpper(toks[i]) {
		case "FROM", "INTO", "UPDATE", "JOIN", "TABLE":
		default:
			continue
		}
		if i+1 >= len(toks) {
			break
		}
		id := change.TableID{Schema: defaultDB, Name: ident(toks[i+1])}
		if i+3 < len(toks) && toks[i+2] == "." {
			id = change.TableID{Schema: ident(toks[i+1]), Name: ident(toks[i+3])}
		}
		found = true
		if s.wanted(id) && id.Schema != MetaSchema {
			return true
		}
	}
	return !found
}
