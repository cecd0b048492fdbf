package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/evac-dev/evac/replicator/apply"
	"github.com/evac-dev/evac/replicator/sqlbuild"
)

// Parallel chunk inserts (Config.Inserter set): a chunk emitted at its high
// watermark H is committed by one of several target connections in its own
// transaction, with its chunk-done record holding H, instead of riding in
// the stream's batch. Ordering and crash rules:
//
//   - the apply loop commits every event before H, then calls Submit; and it
//     calls WaitInserts before committing any batch with rows to apply (or
//     DDL), so a chunk sees all earlier events (its parents' rows, for
//     foreign keys) and no later event reaches its range before its rows;
//   - batches without rows (watermarks, heartbeats) go on meanwhile, so the
//     checkpoint may pass H before the chunk commits: if evac dies then,
//     the chunk has no record and is copied again on resume (nothing of
//     its range was applied, by the rule above);
//   - the chunk may commit before the checkpoint reaches H: on resume a
//     recorded chunk skips the events at or before its H (its rows already
//     carry them) and applies the later ones (planChunk.donePos).
type insertJob struct {
	pc   *planChunk
	rows [][]any
	stmt apply.Stmt
}

// startInserters launches Config.InsertWorkers goroutines; stopInserters
// joins them.
func (c *Coordinator) startInserters() {
	if c.cfg.Inserter == nil {
		return
	}
	c.jobs = make(chan insertJob, c.cfg.MaxInFlight+1)
	for i := 0; i < c.cfg.InsertWorkers; i++ {
		c.insWG.Add(1)
		go func() {
			defer c.insWG.Done()
			for j := range c.jobs {
				err := c.insertChunk(j)
				c.inserted(j, err)
			}
		}()
	}
}

// Submit starts the inserts of the chunks emitted so far (Result.Queued).
// The caller must have committed every event before their high watermark.
func (c *Coordinator) Submit() {
	c.mu.Lock()
	q := c.queued
	c.queued = nil
	c.mu.Unlock()
	for _, j := range q {
		c.pending.Add(1)
		c.jobs <- j
	}
}

// Close stops the insert workers (after the apply loop has stopped).
func (c *Coordinator) Close() {
	if c.jobs != nil {
		close(c.jobs)
		c.insWG.Wait()
	}
}

// WaitInserts waits until every submitted chunk is committed and returns
// the first insert error.
func (c *Coordinator) WaitInserts() error {
	c.pending.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.insErr
}

// insertTimeout bounds one chunk's insert transaction on the target.
const insertTimeout = 10 * time.Minute

func (c *Coordinator) insertChunk(j insertJob) error {
	// An insert in flight finishes even after SIGTERM (graceful stop), but
	// not forever: a target cut off by the network must not hang the stop.
	// Aborting is safe: the chunk-done record commits with the rows.
	ctx, cancel := context.WithTimeout(context.Background(), insertTimeout)
	defer cancel()
	tx, err := c.cfg.Inserter.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("target: begin chunk %s: %w", j.pc.ch, err)
	}
	defer func() { _ = tx.Rollback() }()
	id := tableOf(j.pc.ch)
	for i := 0; i < len(j.rows); {
		size, k := 256+len(j.pc.cols)*32, i
		for k < len(j.rows) && (k == i || size+sqlbuild.Size("", j.rows[k]) < c.cfg.MaxStmtBytes) {
			size += sqlbuild.Size("", j.rows[k]) + 8
			k++
		}
		q, args := sqlbuild.Insert(id, j.pc.cols, bindRows(j.rows[i:k]))
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("target: insert chunk %s: %w", j.pc.ch, err)
		}
		i = k
	}
	if _, err := tx.ExecContext(ctx, j.stmt.SQL, j.stmt.Args...); err != nil {
		return fmt.Errorf("target: record chunk %s: %w", j.pc.ch, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("target: commit chunk %s: %w", j.pc.ch, err)
	}
	return nil
}

// inserted finishes a committed chunk: progress, table completion, slot.
func (c *Coordinator) inserted(j insertJob, err error) {
	defer c.pending.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	<-c.slots
	if err != nil {
		if c.insErr == nil {
			c.insErr = err
		}
		return
	}
	j.pc.committed = true
	p := c.tables[tableOf(j.pc.ch)]
	st := c.stats[p.id]
	st.RowsCopied += int64(len(j.rows))
	st.ChunksDone++
	if p.allCommitted() && !p.finished {
		stmt := tableDoneStmt(c.cfg.StreamID, p.id, st.RowsCopied)
		ctx, cancel := context.WithTimeout(context.Background(), insertTimeout)
		_, err := c.cfg.Inserter.ExecContext(ctx, stmt.SQL, stmt.Args...)
		cancel()
		if err != nil && c.insErr == nil {
			c.insErr = fmt.Errorf("target: record table %s copied: %w", p.id, err)
			return
		}
		p.finished, st.Finished = true, true
		c.cfg.Logger.Info("table copied", "table", p.id.String(), "rows", st.RowsCopied)
		c.checkAllDone()
	}
}

func bindRows(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	slab := make([]any, n) // one allocation for the whole statement
	for i, r := range rows {
		b := slab[:len(r):len(r)]
		slab = slab[len(r):]
		for k, v := range r {
			b[k] = sqlbuild.Bindable(v)
		}
		out[i] = b
	}
	return out
}
