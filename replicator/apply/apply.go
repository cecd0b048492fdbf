package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/replicator/change"
)

// DivergenceError reports that the target does not hold what the source's
// binlog says it holds: a duplicate key on INSERT, or an UPDATE/DELETE
// that matched no row. Replication stops; it is never ignored.
type DivergenceError struct {
	Table  change.TableID
	Op     change.Op
	Key    string // key columns and values, e.g. "id=5"
	Pos    string // position after the source transaction
	Detail string
}

func (e *DivergenceError) Error() string {
	return fmt.Sprintf("target diverged from source: %s on %s key (%s) at source position %s: %s; "+
		"the target was changed outside evac or the start position is wrong: re-snapshot the table (evac replicate --snapshot auto)",
		e.Op, e.Table, e.Key, e.Pos, e.Detail)
}

// Apply writes a batch in one target transaction: the rows of its source
// transactions (in order), its chunk rows, its extra statements and the
// checkpoint. A Txn with DDL runs the DDL protocol instead (see ddl.go).
func (a *Applier) Apply(ctx context.Context, b Batch) error {
	for i := range b.Txns {
		if b.Txns[i].DDL != nil {
			if len(b.Txns) != 1 || len(b.Chunks) != 0 {
				return errors.New("apply: a DDL transaction must be alone in its batch")
			}
			return a.applyDDL(ctx, b)
		}
	}
	tx, err := a.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := a.applyBody(ctx, tx, b); err != nil {
		return err
	}
	if err := a.finish(ctx, tx, b, ""); err != nil {
		return err
	}
	if err := crash("rows-before-commit"); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		pos, _ := b.Checkpoint()
		return fmt.Errorf("commit target transaction at %s: %w", pos, err)
	}
	a.rowsDone += int64(b.Rows())
	return nil
}

// applyBody writes the rows, chunks and extra statements of b inside tx.
func (a *Applier) applyBody(ctx context.Context, tx *tx, b Batch) error {
	w := &writer{a: a, tx: tx}
	for i := range b.Txns {
		t := &b.Txns[i]
		for j := range t.Rows {
			if err := w.add(ctx, &t.Rows[j], t.Pos); err != nil {
				return err
			}
		}
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	if w.fkOff { // back to evac's session setting before chunks, extras and the pool
		if err := w.setFKChecks(ctx, true); err != nil {
			return err
		}
	}
	for _, c := range b.Chunks {
		if err := w.insertChunk(ctx, c); err != nil {
			return err
		}
	}
	for _, s := range b.Extra {
		if _, err := tx.ExecContext(ctx, s.SQL, s.Args...); err != nil {
			return fmt.Errorf("batch statement %.60q: %w", s.SQL, err)
		}
	}
	return nil
}

// finish writes the checkpoint (taking the newest heartbeat seen) in tx.
func (a *Applier) finish(ctx context.Context, tx *tx, b Batch, pendingDDL string) error {
	pos, ts := b.Checkpoint()
	if pos == "" {
		return errors.New("apply: batch without a position")
	}
	hb := b.HeartbeatTS
	for i := range b.Txns {
		if t := heartbeatOf(b.Txns[i].Rows); t.After(hb) {
			hb = t
		}
	}
	if hb.After(a.lastHB) {
		a.lastHB = hb
	}
	if err := a.writeXA(ctx, tx, b); err != nil {
		return err
	}
	return a.writeCheckpoint(ctx, tx, Checkpoint{Pos: pos, CommitTS: ts, HeartbeatTS: hb, PendingDDL: pendingDDL})
}

// writeXA persists rows of XA transactions prepared in this batch and
// forgets those committed or rolled back in it (same transaction as the
// checkpoint, so a restart between PREPARE and COMMIT keeps them).
func (a *Applier) writeXA(ctx context.Context, tx *tx, b Batch) error {
	for i := range b.Txns {
		t := &b.Txns[i]
		if t.XAPrepare != nil {
			data, err := change.EncodeRows(t.XAPrepare.Rows)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO evac_meta.xa_pending (stream_id, xid, pos, rows_gob)
				VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE pos = VALUES(pos), rows_gob = VALUES(rows_gob)`,
				a.cfg.StreamID, t.XAPrepare.XID, t.Pos, data); err != nil {
				return fmt.Errorf("persist prepared XA %s: %w", t.XAPrepare.XID, err)
			}
		}
		if t.XAEnd != "" {
			if _, err := tx.ExecContext(ctx, "DELETE FROM evac_meta.xa_pending WHERE stream_id = ? AND xid = ?",
				a.cfg.StreamID, t.XAEnd); err != nil {
				return fmt.Errorf("forget XA %s: %w", t.XAEnd, err)
			}
		}
	}
	return nil
}

// heartbeatOf returns the newest evac_meta.heartbeat ts in rows.
func heartbeatOf(rows []change.Row) time.Time {
	var hb time.Time
	for i := range rows {
		r := &rows[i]
		if r.Table.Schema != "evac_meta" || r.Table.Name != "heartbeat" || r.After == nil {
			continue
		}
		for c, name := range r.Columns {
			if name != "ts" {
				continue
			}
			if v, ok := r.After[c].([]byte); ok {
				if t := parseTS(string(v)); t.After(hb) {
					hb = t
				}
			}
		}
	}
	return hb
}

// skipped reports rows never written as data: evac's own tables and the
// system schemas.
func skipped(t change.TableID) bool {
	switch t.Schema {
	case "evac_meta", "mysql", "information_schema", "performance_schema", "sys":
		return true
	}
	return false
}

func mysqlErrno(err error) uint16 {
	var me *driver.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}
