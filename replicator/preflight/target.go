package preflight

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/evac-dev/evac/replicator/position"
)

// checkTarget: the target must accept writes.
func checkTarget(_ context.Context, _ Options, _, tgt *server, r *Result) error {
	for _, v := range []string{"read_only", "super_read_only", "innodb_read_only"} {
		if tgt.on(v) {
			r.fail("target", "target is read-only (%s=ON); evac must write to it: point --target at the writer (Aurora: the cluster endpoint, not a reader) or SET GLOBAL %s=OFF", v, v)
		}
	}
	return nil
}

// checkCompat: column types and collations the target server lacks.
func checkCompat(ctx context.Context, o Options, src, tgt *server, r *Result) error {
	colls, err := collations(ctx, o.Target)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for _, t := range o.Tables {
		rows, err := o.Source.QueryContext(ctx, `SELECT COLUMN_NAME, LOWER(DATA_TYPE), COALESCE(COLLATION_NAME,''), LOWER(COLUMN_TYPE)
			FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=? AND TABLE_NAME=?`, t.Schema, t.Name)
		if err != nil {
			return fmt.Errorf("source: read columns of %s: %w", t, err)
		}
		for rows.Next() {
			var col, typ, coll, ctype string
			if err := rows.Scan(&col, &typ, &coll, &ctype); err != nil {
				rows.Close()
				return err
			}
			if coll != "" && !colls[strings.ToLower(coll)] {
				r.fail("compat", "column %s.%s uses collation %s, which the target (%s) does not have: change the column's collation on the source (e.g. utf8mb4_unicode_ci) or choose a target that has it", t, col, coll, tgt.version)
			}
			if src.mariadb && !tgt.mariadb {
				switch typ {
				case "uuid", "inet6", "inet4":
					r.fail("compat", "column %s.%s is MariaDB type %s, which MySQL (target %s) lacks: change it on the source (uuid -> CHAR(36) or BINARY(16), inet6 -> VARBINARY(16)) before replicating", t, col, strings.ToUpper(typ), tgt.version)
				}
				if strings.Contains(ctype, "longtext") && isJSONCheck(ctx, o.Source, t.Schema, t.Name, col) {
					r.warn("compat", "column %s.%s is MariaDB JSON (stored as LONGTEXT); on MySQL it becomes LONGTEXT, not JSON: values are copied as text unchanged", t, col)
				}
			}
		}
		rows.Close()
	}
	var tcoll string
	for _, t := range schemasOf(o.Tables) {
		if err := o.Source.QueryRowContext(ctx, "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=?", t).Scan(&tcoll); err == nil && !colls[strings.ToLower(tcoll)] {
			r.fail("compat", "database %s has default collation %s, which the target (%s) does not have: ALTER DATABASE %s COLLATE utf8mb4_unicode_ci on the source", t, tcoll, tgt.version, t)
		}
	}
	return nil
}

func isJSONCheck(ctx context.Context, db *sql.DB, schema, table, col string) bool {
	var n int
	_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA=? AND TABLE_NAME=? AND CHECK_CLAUSE LIKE CONCAT('%json_valid(%', ?, '%')`,
		schema, table, col).Scan(&n)
	return n > 0
}

func collations(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT COLLATION_NAME FROM information_schema.COLLATIONS")
	if err != nil {
		return nil, fmt.Errorf("read collations: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out[strings.ToLower(c)] = true
	}
	return out, rows.Err()
}

// checkResume: the checkpoint position must still be in the source's binlogs.
func checkResume(ctx context.Context, o Options, src, _ *server, r *Result) error {
	if o.ResumePos == "" {
		return nil
	}
	pos, err := position.Parse(o.ResumePos)
	if err != nil {
		r.fail("resume", "the target's checkpoint %q cannot be read (%v): re-snapshot (drop the replicated tables and evac_meta on the target, then run evac replicate again)", o.ResumePos, err)
		return nil
	}
	purged, err := purgedBefore(ctx, o.Source, src, pos)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if purged != "" {
		r.fail("resume", "resume position %s is no longer in the source's binlogs (%s); the target cannot catch up from it: re-snapshot (drop the replicated tables and evac_meta on the target, then run evac replicate again), and keep binlogs longer (expire_logs_days / binlog retention hours)", pos, purged)
	}
	return nil
}

// purgedBefore returns a description when events after pos are gone.
func purgedBefore(ctx context.Context, db *sql.DB, src *server, pos position.Position) (string, error) {
	first, err := firstBinlog(ctx, db)
	if err != nil {
		return "", err
	}
	switch pos.Kind {
	case position.FilePos:
		if pos.File < first {
			return "oldest binlog is " + first, nil
		}
		return "", nil
	case position.MySQLGTID:
		var p string
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_purged").Scan(&p); err != nil {
			return "", err
		}
		purged, err := position.ParseKind(position.MySQLGTID, p)
		if err != nil || pos.Contains(purged) {
			return "", err
		}
		return "gtid_purged is " + p, nil
	case position.MariaDBGTID:
		list, err := firstGTIDList(ctx, db, first)
		if err != nil || list == "" {
			return "", err
		}
		return mariaPurged(pos.String(), list), nil
	}
	return "", nil
}

// mariaPurged compares a MariaDB GTID position with the Gtid_list of the
// oldest binlog (every GTID up to it is in purged files).
func mariaPurged(pos, list string) string {
	have := map[string]uint64{} // domain -> seq
	for _, g := range strings.Split(pos, ",") {
		if p := strings.Split(strings.TrimSpace(g), "-"); len(p) == 3 {
			n, _ := strconv.ParseUint(p[2], 10, 64)
			have[p[0]] = n
		}
	}
	for _, g := range strings.Split(list, ",") {
		p := strings.Split(strings.TrimSpace(g), "-")
		if len(p) != 3 {
			continue
		}
		n, _ := strconv.ParseUint(p[2], 10, 64)
		if seq, ok := have[p[0]]; !ok && n > 0 || ok && seq < n {
			return "the oldest binlog starts after GTID " + strings.TrimSpace(g)
		}
	}
	return ""
}

func firstBinlog(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return "", fmt.Errorf("SHOW BINARY LOGS (needs REPLICATION CLIENT): %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return "", rows.Err()
	}
	vals := make([]any, len(cols))
	var name string
	vals[0] = &name
	for i := 1; i < len(vals); i++ {
		vals[i] = new(sql.RawBytes)
	}
	return name, rows.Scan(vals...)
}

// firstGTIDList reads the Gtid_list event of a MariaDB binlog file.
func firstGTIDList(ctx context.Context, db *sql.DB, file string) (string, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINLOG EVENTS IN '"+strings.ReplaceAll(file, "'", "")+"' LIMIT 4")
	if err != nil {
		return "", fmt.Errorf("SHOW BINLOG EVENTS: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var logName, evType, info string
		var pos, serverID, end uint64
		if err := rows.Scan(&logName, &pos, &evType, &serverID, &end, &info); err != nil {
			return "", err
		}
		if evType == "Gtid_list" {
			return strings.Trim(info, "[] "), nil
		}
	}
	return "", rows.Err()
}
