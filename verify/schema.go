package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/evac-dev/evac/replicator/chunk"
)

// schemaError marks a table that cannot be compared chunk by chunk.
type schemaError struct {
	status string
	msg    string
}

func (e schemaError) Error() string { return e.msg }

// prepare loads both sides' columns and the chunking key, and refuses
// tables whose columns or key definitions differ.
func (v *tableVerifier) prepare(ctx context.Context, j *tableJob) error {
	scols, err := loadColumns(ctx, v.src, j.schema, j.name)
	if err != nil {
		return err
	}
	tcols, err := loadColumns(ctx, v.dst, j.schema, j.name)
	if err != nil {
		return err
	}
	if len(tcols) == 0 {
		return schemaError{StatusMissing, fmt.Sprintf("table %s does not exist on the target", j.res.Table)}
	}
	if msg := diffColumns(scols, tcols); msg != "" {
		return schemaError{StatusSchemaDiffer, fmt.Sprintf("table %s columns differ: %s; align the target schema, then verify again", j.res.Table, msg)}
	}
	for i := range scols {
		// The NULL marker may be left out only where neither side can hold NULL.
		scols[i].NotNull = scols[i].NotNull && tcols[i].NotNull
	}
	j.cols = scols
	key, err := chunk.LoadKey(ctx, v.src, j.schema, j.name)
	if errors.Is(err, chunk.ErrNoKey) {
		j.res.Keyless = true
		return nil
	}
	if err != nil {
		return err
	}
	tkey, err := chunk.LoadKey(ctx, v.dst, j.schema, j.name)
	if err != nil {
		return schemaError{StatusSchemaDiffer, fmt.Sprintf("table %s: target key: %v", j.res.Table, err)}
	}
	if msg := diffKeys(key, tkey); msg != "" {
		return schemaError{StatusSchemaDiffer, fmt.Sprintf("table %s: %s; the same chunk bounds would select different rows on the two sides, so evac cannot compare it: give both sides the same key definition", j.res.Table, msg)}
	}
	j.key = key
	j.res.Key = key.Names()
	j.rowLen, j.estRows = tableStats(ctx, v.src, j.schema, j.name)
	return nil
}

// tableStats returns the server's estimates of a table's average row
// length in bytes and its row count (0 and -1 when unknown). They only size
// chunks (see startSize and chunks), never decide what is compared.
func tableStats(ctx context.Context, db *sql.DB, schema, table string) (rowLen, rows int64) {
	var l, n sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT AVG_ROW_LENGTH, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA=? AND TABLE_NAME=?", schema, table).Scan(&l, &n)
	if err != nil {
		return 0, -1
	}
	rows = -1
	if n.Valid {
		rows = n.Int64
	}
	return l.Int64, rows
}

// diffColumns compares column names and order; types that print the same
// value identically (INT vs BIGINT) still compare by value, so only names
// matter here.
func diffColumns(src, dst []column) string {
	var out []string
	sn := map[string]bool{}
	for _, c := range src {
		sn[c.Name] = true
	}
	dn := map[string]bool{}
	for _, c := range dst {
		dn[c.Name] = true
		if !sn[c.Name] {
			out = append(out, "column "+c.Name+" only on target")
		}
	}
	for _, c := range src {
		if !dn[c.Name] {
			out = append(out, "column "+c.Name+" missing on target")
		}
	}
	if len(out) == 0 {
		for i := range src {
			if src[i].Name != dst[i].Name {
				out = append(out, fmt.Sprintf("column order differs at position %d (%s vs %s)", i+1, src[i].Name, dst[i].Name))
				break
			}
		}
	}
	return strings.Join(out, ", ")
}

// diffKeys reports key columns whose name, type or collation differ.
func diffKeys(s, t chunk.Key) string {
	if strings.Join(s.Names(), ",") != strings.Join(t.Names(), ",") {
		return fmt.Sprintf("key columns differ: source %s (%s) vs target %s (%s)", s.Index, strings.Join(s.Names(), ","), t.Index, strings.Join(t.Names(), ","))
	}
	for i, a := range s.Columns {
		b := t.Columns[i]
		if a.DataType != b.DataType || a.Kind != b.Kind {
			return fmt.Sprintf("key column %s type differs: source %s vs target %s", a.Name, a.DataType, b.DataType)
		}
		if a.Collation != b.Collation {
			return fmt.Sprintf("key column %s collation differs: source %s vs target %s", a.Name, a.Collation, b.Collation)
		}
	}
	return ""
}
