package preflight

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/chunk"
	"github.com/evac-dev/evac/replicator/schema"
)

// checkTables: InnoDB only, a usable key everywhere, foreign keys, row size.
func checkTables(ctx context.Context, o Options, _, tgt *server, r *Result) error {
	if err := checkEngines(ctx, o, r); err != nil {
		return err
	}
	var noKey, badKey []string
	for _, t := range o.Tables {
		_, err := chunk.LoadKey(ctx, o.Source, t.Schema, t.Name)
		switch {
		case errors.Is(err, chunk.ErrNoKey):
			noKey = append(noKey, t.String())
		case err != nil && strings.Contains(err.Error(), "not supported"):
			badKey = append(badKey, err.Error())
		case err != nil:
			return err
		}
	}
	if len(noKey) > 0 {
		r.fail("primary-key", "tables without a primary key or NOT NULL unique key: %s; evac applies changes by key: add a primary key (e.g. ALTER TABLE t ADD COLUMN id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY) or exclude them with --exclude-tables", strings.Join(noKey, ", "))
	}
	for _, m := range badKey {
		r.fail("primary-key", "%s", m)
	}
	if err := checkForeignKeys(ctx, o, r); err != nil {
		return err
	}
	return checkRowSize(ctx, o, tgt, r)
}

func checkEngines(ctx context.Context, o Options, r *Result) error {
	var bad []string
	for _, t := range o.Tables {
		var engine string
		err := o.Source.QueryRowContext(ctx, "SELECT COALESCE(ENGINE,'') FROM information_schema.TABLES WHERE TABLE_SCHEMA=? AND TABLE_NAME=? AND TABLE_TYPE='BASE TABLE'",
			t.Schema, t.Name).Scan(&engine)
		if err != nil {
			return fmt.Errorf("source: read engine of %s: %w", t, err)
		}
		if !strings.EqualFold(engine, "InnoDB") {
			bad = append(bad, t.String()+" ("+engine+")")
		}
	}
	if len(bad) > 0 {
		r.fail("engine", "tables not using InnoDB: %s; evac needs transactional, consistent-snapshot reads: ALTER TABLE t ENGINE=InnoDB, or exclude them with --exclude-tables", strings.Join(bad, ", "))
	}
	return nil
}

func checkForeignKeys(ctx context.Context, o Options, r *Result) error {
	fks, err := schema.LoadForeignKeys(ctx, o.Source, o.Tables)
	if err != nil {
		return err
	}
	selected := map[change.TableID]bool{}
	for _, t := range o.Tables {
		selected[t] = true
	}
	for _, fk := range fks {
		if !selected[fk.Ref] {
			r.fail("foreign-key", "table %s references %s (foreign key %s), which is not selected: add %s to the replicated tables or exclude %s", fk.Table, fk.Ref, fk.Name, fk.Ref, fk.Table)
			continue
		}
		if fk.Cascades() {
			r.note("foreign-key", "foreign key %s on %s -> %s (ON DELETE %s ON UPDATE %s): cascaded changes are not in the binlog, so evac keeps the foreign key on the target, applies with foreign_key_checks=1 (the target cascades too), copies %s before %s, and re-reads a %s chunk when %s changes during its copy",
				fk.Name, fk.Table, fk.Ref, fk.OnDelete, fk.OnUpdate, fk.Ref, fk.Table, fk.Table, fk.Ref)
		}
	}
	if _, cycles := schema.Order(o.Tables, fks); len(cycles) > 0 {
		for _, c := range cycles {
			r.fail("foreign-key", "%s", cycleMessage(schema.CycleCore(c, fks)))
		}
	}
	return nil
}

// maxDeclared is the largest value each type can hold, in bytes (for the
// row size check); LOB types count as their maximum.
func maxDeclared(dataType string, octets int64) int64 {
	switch dataType {
	case "tinyblob", "tinytext":
		return 255
	case "blob", "text":
		return 65535
	case "mediumblob", "mediumtext":
		return 16 << 20
	case "longblob", "longtext", "json":
		return 4 << 30
	}
	if octets > 0 {
		return octets
	}
	return 8
}

func checkRowSize(ctx context.Context, o Options, tgt *server, r *Result) error {
	packet, _ := strconv.ParseInt(tgt.vars["max_allowed_packet"], 10, 64)
	if packet <= 0 {
		return nil
	}
	for _, t := range o.Tables {
		rows, err := o.Source.QueryContext(ctx, "SELECT COLUMN_NAME, LOWER(DATA_TYPE), COALESCE(CHARACTER_OCTET_LENGTH, 0) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=? AND TABLE_NAME=?", t.Schema, t.Name)
		if err != nil {
			return fmt.Errorf("source: read columns of %s: %w", t, err)
		}
		var total int64
		var lobs []string
		for rows.Next() {
			var name, typ string
			var oct int64
			if err := rows.Scan(&name, &typ, &oct); err != nil {
				rows.Close()
				return err
			}
			m := maxDeclared(typ, oct)
			total += m
			isLOB := strings.Contains(typ, "blob") || strings.Contains(typ, "text") || typ == "json"
			if isLOB && m >= packet {
				lobs = append(lobs, name)
			}
		}
		rows.Close()
		switch {
		case len(lobs) > 0:
			r.warn("row-size", "table %s has columns that can hold more than the target's max_allowed_packet (%d bytes): %s; a larger value cannot be applied: raise max_allowed_packet on the target (RDS/Aurora parameter group, up to 1073741824)", t, packet, strings.Join(lobs, ", "))
		case total > packet:
			r.fail("row-size", "table %s rows can reach %d bytes, more than the target's max_allowed_packet (%d): raise max_allowed_packet on the target (RDS/Aurora parameter group)", t, total, packet)
		}
	}
	return nil
}

// cycleMessage explains a foreign-key cycle and the manual ways out: the
// keys that close it, and which of them can be dropped on the source
// without changing what the source's own writes do to other rows.
func cycleMessage(tables []change.TableID, keys []schema.ForeignKey) string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.String()
	}
	var desc, plain []string
	for _, fk := range keys {
		desc = append(desc, fmt.Sprintf("%s (%s -> %s, ON DELETE %s ON UPDATE %s)", fk.Name, fk.Table, fk.Ref, fk.OnDelete, fk.OnUpdate))
		if !fk.Cascades() {
			plain = append(plain, fmt.Sprintf("ALTER TABLE %s.%s DROP FOREIGN KEY %s", quote(fk.Table.Schema), quote(fk.Table.Name), quote(fk.Name)))
		}
	}
	hint := "every key of the cycle cascades, so dropping one changes what the source does: exclude the tables with --exclude-tables and copy them separately (e.g. mariadb-dump --single-transaction during cutover)"
	if len(plain) > 0 {
		hint = "drop on the source, for the migration, a key that does not cascade (it only validates, so no cascaded write is lost; " + strings.Join(plain, "; ") +
			"; re-add it on both sides after cutover), or exclude the tables with --exclude-tables and copy them separately (e.g. mariadb-dump --single-transaction during cutover)"
	}
	return fmt.Sprintf("tables %s reference each other in a foreign-key cycle through %s; evac copies referenced tables before referencing ones and does not copy cycles (REPLICATION.md, \"Foreign-key cycles\"): %s",
		strings.Join(names, ", "), strings.Join(desc, ", "), hint)
}

func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }
