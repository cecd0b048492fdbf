package preflight

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// grants is the current user's privileges as information_schema shows them
// (direct grants; privileges that come only through a role are not seen).
type grants struct {
	global map[string]bool
	schema []schemaGrant
	table  map[change.TableID]map[string]bool
}

type schemaGrant struct {
	pattern *regexp.Regexp
	priv    string
}

func readGrants(ctx context.Context, db *sql.DB) (*grants, error) {
	g := &grants{global: map[string]bool{}, table: map[change.TableID]map[string]bool{}}
	if err := scanPairs(ctx, db, "SELECT PRIVILEGE_TYPE, '' FROM information_schema.USER_PRIVILEGES", func(p, _ string) {
		g.global[strings.ToUpper(p)] = true
	}); err != nil {
		return nil, err
	}
	if err := scanPairs(ctx, db, "SELECT PRIVILEGE_TYPE, TABLE_SCHEMA FROM information_schema.SCHEMA_PRIVILEGES", func(p, s string) {
		g.schema = append(g.schema, schemaGrant{grantPattern(s), strings.ToUpper(p)})
	}); err != nil {
		return nil, err
	}
	return g, scanPairs(ctx, db, "SELECT PRIVILEGE_TYPE, CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLE_PRIVILEGES", func(p, t string) {
		s, n, _ := strings.Cut(t, ".")
		id := change.TableID{Schema: s, Name: n}
		if g.table[id] == nil {
			g.table[id] = map[string]bool{}
		}
		g.table[id][strings.ToUpper(p)] = true
	})
}

func scanPairs(ctx context.Context, db *sql.DB, q string, f func(a, b string)) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read privileges: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return err
		}
		f(a, b)
	}
	return rows.Err()
}

// grantPattern turns a database grant name (where _ and % are wildcards
// and \_ \% literal) into a regexp.
func grantPattern(s string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteString(regexp.QuoteMeta(string(s[i])))
		case c == '_':
			b.WriteString(".")
		case c == '%':
			b.WriteString(".*")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// onSchema reports whether priv is held on every table of schema.
func (g *grants) onSchema(schema, priv string) bool {
	if g.global[priv] || g.global["ALL PRIVILEGES"] {
		return true
	}
	for _, s := range g.schema {
		if (s.priv == priv || s.priv == "ALL PRIVILEGES") && s.pattern.MatchString(schema) {
			return true
		}
	}
	return false
}

// onTable reports whether priv is held on one table.
func (g *grants) onTable(id change.TableID, priv string) bool {
	return g.onSchema(id.Schema, priv) || g.table[id][priv]
}

// missing lists privs not held on schema.
func (g *grants) missing(schema string, privs []string) []string {
	var out []string
	for _, p := range privs {
		if !g.onSchema(schema, p) {
			out = append(out, p)
		}
	}
	return out
}

func schemasOf(tables []change.TableID) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tables {
		if !seen[t.Schema] {
			seen[t.Schema] = true
			out = append(out, t.Schema)
		}
	}
	sort.Strings(out)
	return out
}

// checkSourcePrivileges: REPLICATION SLAVE, REPLICATION CLIENT (MariaDB:
// BINLOG MONITOR), SELECT on the tables, writes on evac_meta.
func checkSourcePrivileges(ctx context.Context, o Options, _, _ *server, r *Result) error {
	g, err := readGrants(ctx, o.Source)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if !g.global["REPLICATION SLAVE"] {
		r.fail("privileges", "source user lacks REPLICATION SLAVE (needed to read the binlog): GRANT REPLICATION SLAVE ON *.* TO <user>")
	}
	if !g.global["REPLICATION CLIENT"] && !g.global["BINLOG MONITOR"] && !g.global["SUPER"] {
		r.fail("privileges", "source user lacks REPLICATION CLIENT (needed for the binlog position): GRANT REPLICATION CLIENT ON *.* TO <user>")
	}
	var noSelect []string
	for _, t := range o.Tables {
		if !g.onTable(t, "SELECT") {
			noSelect = append(noSelect, t.String())
		}
	}
	if len(noSelect) > 0 {
		r.fail("privileges", "source user lacks SELECT on %s: GRANT SELECT ON <db>.* TO <user>", strings.Join(noSelect, ", "))
	}
	need := []string{"INSERT", "UPDATE", "CREATE"}
	miss := g.missing("evac_meta", need)
	if len(miss) == 0 {
		return nil
	}
	switch {
	case o.Snapshot:
		r.fail("privileges", "source user lacks %s on evac_meta: the snapshot commits watermark rows in evac_meta.watermark to pair each chunk with the binlog exactly: GRANT INSERT, UPDATE, DELETE, CREATE ON evac_meta.* TO <user> (a read-only source can only be replicated with --snapshot never after a copy made another way)", strings.Join(miss, ", "))
	case !o.NoHeartbeat:
		r.fail("privileges", "source user lacks %s on evac_meta (heartbeat writes): GRANT INSERT, UPDATE, DELETE, CREATE ON evac_meta.* TO <user>, or run with --no-heartbeat (lag is then measured from event commit times)", strings.Join(miss, ", "))
	}
	return nil
}

// targetPrivs are what the applier and schema copy need on the target; no
// SUPER (RDS/Aurora have none).
var targetPrivs = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES"}

func checkTargetPrivileges(ctx context.Context, o Options, _, _ *server, r *Result) error {
	g, err := readGrants(ctx, o.Target)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for _, s := range append(schemasOf(o.Tables), "evac_meta") {
		if miss := g.missing(s, targetPrivs); len(miss) > 0 {
			r.fail("privileges", "target user lacks %s on %s: GRANT %s ON `%s`.* TO <user> (SUPER is not needed)",
				strings.Join(miss, ", "), s, strings.Join(targetPrivs, ", "), s)
		}
	}
	return nil
}
