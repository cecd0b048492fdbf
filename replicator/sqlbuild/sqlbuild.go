// Package sqlbuild builds the applier's SQL: plain INSERT, UPDATE and DELETE
// with quoted identifiers and bound values. It is pure (no I/O).
package sqlbuild

import (
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// Quote quotes an identifier with backquotes.
func Quote(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// Table quotes schema.table.
func Table(t change.TableID) string { return Quote(t.Schema) + "." + Quote(t.Name) }

func columnList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = Quote(c)
	}
	return strings.Join(q, ",")
}

func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

// Insert builds one multi-row INSERT of rows (each with len(cols) values).
func Insert(t change.TableID, cols []string, rows [][]any) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(Table(t))
	b.WriteString(" (")
	b.WriteString(columnList(cols))
	b.WriteString(") VALUES ")
	ph := placeholders(len(cols))
	args := make([]any, 0, len(rows)*len(cols))
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ph)
		args = append(args, r...)
	}
	return b.String(), args
}

// Update builds an UPDATE of one row: SET every column in cols, WHERE the
// key columns equal keyVals.
func Update(t change.TableID, cols []string, vals []any, keyCols []string, keyVals []any) (string, []any) {
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(Table(t))
	b.WriteString(" SET ")
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Quote(c))
		b.WriteString("=?")
	}
	b.WriteString(" WHERE ")
	b.WriteString(keyMatch(keyCols))
	args := make([]any, 0, len(vals)+len(keyVals))
	args = append(args, vals...)
	return b.String(), append(args, keyVals...)
}

func keyMatch(keyCols []string) string {
	parts := make([]string, len(keyCols))
	for i, k := range keyCols {
		parts[i] = Quote(k) + "=?"
	}
	return strings.Join(parts, " AND ")
}

// Delete builds a DELETE of the rows with the given keys: "k IN (...)"
// for a one-column key, OR-ed conjunctions for a composite key.
func Delete(t change.TableID, keyCols []string, keys [][]any) (string, []any) {
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	b.WriteString(Table(t))
	b.WriteString(" WHERE ")
	args := make([]any, 0, len(keys)*len(keyCols))
	if len(keyCols) == 1 {
		b.WriteString(Quote(keyCols[0]))
		b.WriteString(" IN ")
		b.WriteString(placeholders(len(keys)))
		for _, k := range keys {
			args = append(args, k[0])
		}
		return b.String(), args
	}
	m := "(" + keyMatch(keyCols) + ")"
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(m)
		args = append(args, k...)
	}
	return b.String(), args
}

// Select builds a primary-key lookup of one row (for divergence reports).
func Select(t change.TableID, keyCols []string, keyVals []any) (string, []any) {
	return "SELECT COUNT(*) FROM " + Table(t) + " WHERE " + keyMatch(keyCols), keyVals
}

// Size estimates the bytes of a statement once its values are inlined
// (the driver interpolates them): text length plus each value's escaped
// size.
func Size(sql string, args []any) int {
	n := len(sql)
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			n += 2*len(v) + 10
		case string:
			n += 2*len(v) + 10
		default:
			n += 24
		}
	}
	return n
}
