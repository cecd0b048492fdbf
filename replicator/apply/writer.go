package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/sqlbuild"
)

// writer turns row changes into statements, merging only CONSECUTIVE
// inserts (multi-row INSERT) or deletes (DELETE ... IN) on the same table;
// updates are one statement each. Order is kept.
type writer struct {
	a     *Applier
	tx    *tx
	fkOff bool            // foreign_key_checks is 0 in the session (source rows said so)
	upd   []pendingUpdate // consecutive UPDATEs, sent as one pipeline
	updB  int
	op    change.Op
	tbl   change.TableID
	cols  []string
	key   []string
	rows  [][]any // insert values or delete keys
	pos   []string
	size  int
}

func (w *writer) add(ctx context.Context, r *change.Row, pos string) error {
	if skipped(r.Table) {
		return nil
	}
	if r.NoFKChecks != w.fkOff {
		if err := w.setFKChecks(ctx, !r.NoFKChecks); err != nil {
			return err
		}
	}
	cols, vals := writable(r, r.After)
	keyCols, keyVals, err := keyOf(r)
	if err != nil && r.Op != change.Insert {
		return fmt.Errorf("%s at %s: %w", r.Table, pos, err)
	}
	switch r.Op {
	case change.Update:
		if err := w.flushMerged(ctx); err != nil {
			return err
		}
		q, args := sqlbuild.Update(r.Table, cols, vals, keyCols, keyVals)
		return w.addUpdate(ctx, pendingUpdate{table: r.Table, q: q, args: args, keyCols: keyCols, keyVals: keyVals, pos: pos})
	case change.Insert:
		return w.merge(ctx, r, cols, nil, vals, pos)
	case change.Delete:
		return w.merge(ctx, r, nil, keyCols, keyVals, pos)
	}
	return fmt.Errorf("%s at %s: unknown row op %d", r.Table, pos, r.Op)
}

func (w *writer) merge(ctx context.Context, r *change.Row, cols, keyCols []string, vals []any, pos string) error {
	n := sqlbuild.Size("", vals) + 8
	if err := w.flushUpdates(ctx); err != nil {
		return err
	}
	same := w.op == r.Op && w.tbl == r.Table && sameCols(w.cols, cols) && sameCols(w.key, keyCols)
	if !same || w.size+n > w.a.maxStmt {
		if err := w.flushMerged(ctx); err != nil {
			return err
		}
		w.op, w.tbl, w.cols, w.key, w.size = r.Op, r.Table, cols, keyCols, 256+len(cols)*32
	}
	w.rows = append(w.rows, vals)
	w.pos = append(w.pos, pos)
	w.size += n
	return nil
}

func sameCols(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// flush writes whatever is pending (the two kinds are never both pending).
func (w *writer) flush(ctx context.Context) error {
	if err := w.flushUpdates(ctx); err != nil {
		return err
	}
	return w.flushMerged(ctx)
}

// flushMerged writes the merged INSERT or DELETE group, if any.
func (w *writer) flushMerged(ctx context.Context) error {
	if len(w.rows) == 0 {
		return nil
	}
	rows, pos := w.rows, w.pos
	w.rows, w.pos, w.size = nil, nil, 0
	var q string
	var args []any
	if w.op == change.Insert {
		q, args = sqlbuild.Insert(w.tbl, w.cols, rows)
		return w.exec(ctx, change.Insert, w.tbl, q, args, len(rows), nil, rows, pos[len(pos)-1])
	}
	q, args = sqlbuild.Delete(w.tbl, w.key, rows)
	return w.exec(ctx, change.Delete, w.tbl, q, args, len(rows), w.key, rows, pos[len(pos)-1])
}

// exec runs one statement and checks it changed exactly want rows.
func (w *writer) exec(ctx context.Context, op change.Op, t change.TableID, q string, args []any, want int,
	keyCols []string, keys [][]any, pos string) error {
	savepoint := op == change.Delete && len(keys) > 1
	if savepoint {
		if _, err := w.tx.ExecContext(ctx, "SAVEPOINT evac_delete"); err != nil {
			return fmt.Errorf("%s %s at %s: %w", op, t, pos, err)
		}
	}
	res, err := w.tx.ExecContext(ctx, q, args...)
	if err != nil {
		if mysqlErrno(err) == 1062 {
			return &DivergenceError{Table: t, Op: op, Key: dupKey(err), Pos: pos, Detail: err.Error()}
		}
		return fmt.Errorf("%s %s at %s: %w", op, t, pos, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s %s at %s: %w", op, t, pos, err)
	}
	if int(n) == want {
		return nil
	}
	if savepoint {
		// A merged DELETE can miss rows that an earlier row of the same
		// statement removed by a self-referencing ON DELETE CASCADE (the
		// server deletes in key order, the source deleted in binlog order).
		// Undo it and delete one key at a time in source order.
		if _, err := w.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT evac_delete"); err != nil {
			return fmt.Errorf("%s %s at %s: %w", op, t, pos, err)
		}
		return w.deleteEach(ctx, t, keyCols, keys, pos)
	}
	missing := w.missingKey(ctx, t, keyCols, keys)
	return &DivergenceError{Table: t, Op: op, Key: missing, Pos: pos,
		Detail: fmt.Sprintf("%d of %d rows matched", n, want)}
}

// missingKey finds the first key of keys that no longer exists (best effort,
// for the error message).
func (w *writer) missingKey(ctx context.Context, t change.TableID, keyCols []string, keys [][]any) string {
	for _, k := range keys {
		q, args := sqlbuild.Select(t, keyCols, k)
		var c int
		if err := w.tx.QueryRowContext(ctx, q, args...).Scan(&c); err == nil && c == 0 {
			return formatKey(keyCols, k)
		}
	}
	if len(keys) > 0 {
		return formatKey(keyCols, keys[0])
	}
	return ""
}

func (w *writer) insertChunk(ctx context.Context, c ChunkRows) error {
	if err := w.flush(ctx); err != nil {
		return err
	}
	for i := 0; i < len(c.Rows); {
		size, j := 256+len(c.Columns)*32, i
		for j < len(c.Rows) && (j == i || size+sqlbuild.Size("", c.Rows[j]) < w.a.maxStmt) {
			size += sqlbuild.Size("", c.Rows[j]) + 8
			j++
		}
		rows := make([][]any, j-i)
		for k := range rows {
			rows[k] = bindRow(c.Rows[i+k])
		}
		q, args := sqlbuild.Insert(c.Table, c.Columns, rows)
		if err := w.exec(ctx, change.Insert, c.Table, q, args, len(rows), nil, nil, "snapshot chunk"); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func bindRow(vals []any) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = sqlbuild.Bindable(v)
	}
	return out
}

// writable returns the columns and values to write (generated columns
// left out).
func writable(r *change.Row, img []any) ([]string, []any) {
	if img == nil {
		return nil, nil
	}
	cols := make([]string, 0, len(r.Columns))
	vals := make([]any, 0, len(r.Columns))
	for i, c := range r.Columns {
		if i < len(r.Generated) && r.Generated[i] {
			continue
		}
		cols = append(cols, c)
		vals = append(vals, sqlbuild.Bindable(img[i]))
	}
	return cols, vals
}

// keyOf returns the key columns and their values in the row's before image.
func keyOf(r *change.Row) ([]string, []any, error) {
	if len(r.Key) == 0 {
		return nil, nil, fmt.Errorf("no primary key or non-null unique key known for %s: add one on the source", r.Table)
	}
	img := r.Before
	if img == nil {
		img = r.After
	}
	cols := make([]string, len(r.Key))
	vals := make([]any, len(r.Key))
	for i, k := range r.Key {
		cols[i], vals[i] = r.Columns[k], sqlbuild.Bindable(img[k])
	}
	return cols, vals, nil
}

func formatKey(cols []string, vals []any) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		v := vals[i]
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		parts[i] = fmt.Sprintf("%s=%v", c, v)
	}
	return strings.Join(parts, ",")
}

// dupKey extracts "Duplicate entry 'x' for key 'k'" from a 1062 error.
func dupKey(err error) string {
	s := err.Error()
	if i := strings.Index(s, "Duplicate entry"); i >= 0 {
		return s[i:]
	}
	return s
}

// deleteEach deletes keys one statement each, in order; a key that matches
// no row is a divergence.
func (w *writer) deleteEach(ctx context.Context, t change.TableID, keyCols []string, keys [][]any, pos string) error {
	for _, k := range keys {
		q, args := sqlbuild.Delete(t, keyCols, [][]any{k})
		res, err := w.tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("%s %s at %s: %w", change.Delete, t, pos, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return &DivergenceError{Table: t, Op: change.Delete, Key: formatKey(keyCols, k), Pos: pos,
				Detail: fmt.Sprintf("%d of 1 rows matched", n)}
		}
	}
	return nil
}

// setFKChecks flushes pending statements and switches the session's
// foreign_key_checks, mirroring the source session of the rows that follow.
func (w *writer) setFKChecks(ctx context.Context, on bool) error {
	if err := w.flush(ctx); err != nil {
		return err
	}
	v := "1"
	if !on {
		v = "0"
	}
	if _, err := w.tx.ExecContext(ctx, "SET SESSION foreign_key_checks="+v); err != nil {
		return fmt.Errorf("set foreign_key_checks=%s: %w", v, err)
	}
	w.fkOff = !on
	w.tx.dirty = !on
	return nil
}
