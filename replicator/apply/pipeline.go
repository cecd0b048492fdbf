package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/sqlbuild"
)

// maxPipeline caps the UPDATEs sent in one round trip.
var maxPipeline = 100

// pendingUpdate is one single-row UPDATE waiting in the pipeline.
type pendingUpdate struct {
	table   change.TableID
	q       string
	args    []any
	keyCols []string
	keyVals []any
	pos     string
}

func (w *writer) addUpdate(ctx context.Context, u pendingUpdate) error {
	n := sqlbuild.Size(u.q, u.args) + 1
	if len(w.upd) > 0 && (len(w.upd) >= maxPipeline || w.updB+n > w.a.maxStmt) {
		if err := w.flushUpdates(ctx); err != nil {
			return err
		}
	}
	w.upd = append(w.upd, u)
	w.updB += n
	return nil
}

// flushUpdates sends the pending UPDATEs as one multi-statement request (in
// order, inside the batch's transaction) and checks each matched one row.
func (w *writer) flushUpdates(ctx context.Context) error {
	ups := w.upd
	w.upd, w.updB = nil, 0
	if len(ups) == 0 {
		return nil
	}
	if len(ups) == 1 || maxPipeline <= 1 {
		for _, u := range ups[:len(ups)-1] {
			if err := w.exec(ctx, change.Update, u.table, u.q, u.args, 1, u.keyCols, [][]any{u.keyVals}, u.pos); err != nil {
				return err
			}
		}
		u := ups[len(ups)-1]
		return w.exec(ctx, change.Update, u.table, u.q, u.args, 1, u.keyCols, [][]any{u.keyVals}, u.pos)
	}
	qs := make([]string, len(ups))
	var args []any
	for i, u := range ups {
		qs[i] = u.q
		args = append(args, u.args...)
	}
	affected, err := w.tx.execMulti(ctx, strings.Join(qs, ";"), args)
	if errors.Is(err, errNoPipeline) {
		for _, u := range ups {
			if err := w.exec(ctx, change.Update, u.table, u.q, u.args, 1, u.keyCols, [][]any{u.keyVals}, u.pos); err != nil {
				return err
			}
		}
		return nil
	}
	if err != nil {
		if mysqlErrno(err) == 1062 {
			return &DivergenceError{Table: ups[0].table, Op: change.Update, Key: dupKey(err), Pos: ups[len(ups)-1].pos, Detail: err.Error()}
		}
		return fmt.Errorf("update pipeline of %d statements ending at %s: %w", len(ups), ups[len(ups)-1].pos, err)
	}
	if len(affected) != len(ups) {
		return fmt.Errorf("update pipeline: %d results for %d statements", len(affected), len(ups))
	}
	for i, n := range affected {
		if n != 1 {
			u := ups[i]
			return &DivergenceError{Table: u.table, Op: change.Update, Key: formatKey(u.keyCols, u.keyVals), Pos: u.pos,
				Detail: fmt.Sprintf("%d of 1 rows matched", n)}
		}
	}
	return nil
}
