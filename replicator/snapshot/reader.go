package snapshot

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"

	"github.com/evac-dev/evac/replicator/chunk"
)

var errEOF = io.EOF

// RunReaders plans and reads chunks until every table is copied (Done) or
// ctx ends. It must run alongside the stream loop calling Process: chunks
// are completed there, when the stream reaches their high watermark.
func (c *Coordinator) RunReaders(ctx context.Context) error {
	if err := EnsureSourceTables(ctx, c.cfg.Source); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.planner(gctx) })
	for w := 0; w < c.cfg.Workers; w++ {
		slot := fmt.Sprintf("%s/%d", c.cfg.StreamID, w)
		if _, err := c.cfg.Source.ExecContext(ctx, "INSERT IGNORE INTO `evac_meta`.`watermark` (slot, token, updated_at) VALUES (?, '', UTC_TIMESTAMP(6))", slot); err != nil {
			return fmt.Errorf("source: write evac_meta.watermark: %w", err)
		}
		g.Go(func() error { return c.worker(gctx, slot) })
	}
	return g.Wait()
}

// planner feeds chunks to the workers table by table, starting a table only
// when the tables it references are completely copied.
func (c *Coordinator) planner(ctx context.Context) error {
	defer close(c.work)
	for _, p := range c.order {
		if err := c.waitParents(ctx, p); err != nil {
			return err
		}
		c.mu.Lock()
		var pend []*planChunk
		for _, pc := range p.chunks {
			if pc.state == pending {
				pend = append(pend, pc)
			}
		}
		c.mu.Unlock()
		for _, pc := range pend {
			if err := c.send(ctx, pc); err != nil {
				return err
			}
		}
		if err := c.planTail(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (c *Coordinator) send(ctx context.Context, pc *planChunk) error {
	select {
	case c.work <- pc:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// planTail chunks the part of the table no plan covers yet.
func (c *Coordinator) planTail(ctx context.Context, p *tablePlan) error {
	c.mu.Lock()
	complete, tail, n := p.complete, p.tail, len(p.chunks)
	c.mu.Unlock()
	if complete {
		return nil
	}
	ck := chunk.New(c.cfg.Source, p.key, c.chunkOptions(p))
	prefix := ""
	if tail != nil {
		ck = chunk.ResumeRange(c.cfg.Source, p.key, c.chunkOptions(p), tail.lo, nil, 0)
		prefix = tail.prefix
	} else if n > 0 {
		return fmt.Errorf("snapshot %s: plan has chunks but no tail (internal error)", p.id)
	}
	for {
		c.applyFeedback(ck)
		ch, err := ck.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", p.id, err)
		}
		pc := &planChunk{ch: ch, ord: fmt.Sprintf("%s%010d", prefix, ch.Seq)}
		c.mu.Lock()
		p.add(pc)
		c.mu.Unlock()
		if err := c.send(ctx, pc); err != nil {
			return err
		}
	}
}

func (c *Coordinator) applyFeedback(ck *chunk.Chunker) {
	c.mu.Lock()
	rows, n, took := c.fb.rows, c.fb.n, c.fb.took
	c.fb.rows, c.fb.n, c.fb.took = 0, 0, 0
	c.mu.Unlock()
	if n > 0 {
		ck.Feedback(rows/n, took/time.Duration(n))
	}
}

func (c *Coordinator) waitParents(ctx context.Context, p *tablePlan) error {
	for {
		c.mu.Lock()
		ready := true
		for _, id := range p.parents {
			if q := c.tables[id]; q != nil && !q.finished {
				ready = false
			}
		}
		c.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.allDone:
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// worker reads chunks (re-reads first) until everything is copied.
func (c *Coordinator) worker(ctx context.Context, slot string) error {
	work := c.work
	for {
		var pc *planChunk
		select {
		case pc = <-c.retry:
		default:
			select {
			case pc = <-c.retry:
			case p, ok := <-work:
				if !ok {
					work = nil
					continue
				}
				pc = p
			case <-c.allDone:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := c.copyChunk(ctx, slot, pc); err != nil {
			return err
		}
	}
}

// copyChunk runs one watermark window: LW, snapshot read, HW. A read that
// loses a race with DDL on the table (a column gone between listing and
// reading, or "table definition has changed") is retried with a new window.
func (c *Coordinator) copyChunk(ctx context.Context, slot string, pc *planChunk) error {
	for attempt := 0; ; attempt++ {
		err := c.copyChunkOnce(ctx, slot, pc)
		var me *mysql.MySQLError
		if err == nil || attempt >= 20 || !errors.As(err, &me) || (me.Number != 1054 && me.Number != 1412) {
			return err
		}
		c.cfg.Logger.Debug("chunk read raced with DDL, retrying", "chunk", pc.ch.String(), "err", err)
	}
}

func (c *Coordinator) copyChunkOnce(ctx context.Context, slot string, pc *planChunk) error {
	c.mu.Lock()
	delete(c.tokens, pc.lowTok)
	delete(c.tokens, pc.highTok)
	pc.tries++
	if pc.tries > c.cfg.MaxRetries {
		c.mu.Unlock()
		return fmt.Errorf("snapshot %s: chunk re-read %d times (foreign-key cascades or DDL keep touching it); retry when writes calm down", pc.ch, c.cfg.MaxRetries)
	}
	c.nextTok++
	base := fmt.Sprintf("%s/%s:%d", c.cfg.StreamID, c.run, c.nextTok)
	pc.lowTok, pc.highTok, pc.readDone = base+":L", base+":H", false
	c.tokens[pc.lowTok], c.tokens[pc.highTok] = pc, pc
	c.mu.Unlock()

	conn, err := c.cfg.Source.Conn(ctx)
	if err != nil {
		return fmt.Errorf("source: connect: %w", err)
	}
	defer conn.Close()
	if err := setWatermark(ctx, conn, slot, pc.lowTok); err != nil {
		return err
	}
	start := time.Now()
	cols, rows, keys, err := readChunk(ctx, conn, pc.ch)
	if err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return err
	}
	c.mu.Lock()
	pc.cols, pc.rows, pc.rowKeys, pc.readDone = cols, rows, keys, true
	c.fb.rows += len(rows)
	c.fb.n++
	c.fb.took += time.Since(start)
	c.mu.Unlock()
	return setWatermark(ctx, conn, slot, pc.highTok)
}

func setWatermark(ctx context.Context, conn *sql.Conn, slot, tok string) error {
	_, err := conn.ExecContext(ctx, "UPDATE `evac_meta`.`watermark` SET token=?, updated_at=UTC_TIMESTAMP(6) WHERE slot=?", tok, slot)
	if err != nil {
		return fmt.Errorf("source: write watermark in evac_meta.watermark: %w", err)
	}
	return nil
}

// readChunk reads a chunk in one short REPEATABLE READ consistent-snapshot
// transaction, returning the column list, the rows and their encoded keys.
func readChunk(ctx context.Context, conn *sql.Conn, ch chunk.Chunk) ([]string, [][]any, []string, error) {
	cols, err := copyColumns(ctx, conn, ch.Key.Schema, ch.Key.Table)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return nil, nil, nil, fmt.Errorf("source: set isolation: %w", err)
	}
	if err := checkIsolation(ctx, conn); err != nil {
		return nil, nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return nil, nil, nil, fmt.Errorf("source: start snapshot: %w", err)
	}
	rows, keys, err := scanChunk(ctx, conn, ch, cols)
	if err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return nil, nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, nil, nil, fmt.Errorf("source: end snapshot: %w", err)
	}
	return cols, rows, keys, nil
}

func checkIsolation(ctx context.Context, conn *sql.Conn) error {
	var iso string
	err := conn.QueryRowContext(ctx, "SELECT @@session.transaction_isolation").Scan(&iso)
	if err != nil {
		err = conn.QueryRowContext(ctx, "SELECT @@session.tx_isolation").Scan(&iso)
	}
	if err != nil {
		return fmt.Errorf("source: read isolation level: %w", err)
	}
	if !strings.EqualFold(strings.ReplaceAll(iso, "_", "-"), "REPEATABLE-READ") {
		return fmt.Errorf("source: snapshot session isolation is %s; evac needs REPEATABLE READ for exact chunk reads", iso)
	}
	return nil
}

func scanChunk(ctx context.Context, conn *sql.Conn, ch chunk.Chunk, cols []string) ([][]any, []string, error) {
	where, args := ch.Where()
	q := make([]string, len(cols))
	for i, col := range cols {
		q[i] = chunk.QuoteIdent(col)
	}
	// "? = 1" keeps a bound argument so the binary protocol is used: exact
	// FLOAT/DOUBLE and typed integers.
	query := fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s) WHERE %s AND ? = 1 ORDER BY %s",
		strings.Join(q, ", "), ch.Key.QualifiedTable(), chunk.QuoteIdent(ch.Key.Index), where, chunk.OrderBy(ch.Key))
	rs, err := conn.QueryContext(ctx, query, append(args, 1)...)
	if err != nil {
		return nil, nil, fmt.Errorf("source: read chunk %s: %w", ch, err)
	}
	defer rs.Close()
	var out [][]any
	var keys []string
	// Scan copies each value out of the driver's buffer into vals, so one
	// pointer set serves every row, and rows are cut from shared slabs
	// (fewer allocations for the garbage collector to track).
	var slab []any
	cur := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range cur {
		ptrs[i] = &cur[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("source: read chunk %s: %w", ch, err)
		}
		if len(slab) < len(cols) {
			slab = make([]any, len(cols)*256)
		}
		vals := slab[:len(cols):len(cols)]
		slab = slab[len(cols):]
		copy(vals, cur)
		clear(cur)
		k, err := keyOf(ch.Key, cols, vals)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, vals)
		keys = append(keys, encodeKey(k))
	}
	return out, keys, rs.Err()
}

// copyColumns lists the columns a copy writes: every stored, non-generated
// column (invisible ones included), in table order.
func copyColumns(ctx context.Context, conn *sql.Conn, schema, table string) ([]string, error) {
	rs, err := conn.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA=? AND TABLE_NAME=? AND UPPER(EXTRA) NOT LIKE '%VIRTUAL%'
		AND UPPER(EXTRA) NOT LIKE '%STORED GENERATED%' AND UPPER(EXTRA) NOT LIKE '%PERSISTENT%'
		ORDER BY ORDINAL_POSITION`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("source: list columns of %s.%s: %w", schema, table, err)
	}
	defer rs.Close()
	var cols []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			return nil, err
		}
		cols = append(cols, s)
	}
	if len(cols) == 0 && rs.Err() == nil {
		return nil, fmt.Errorf("source: table %s.%s has no columns (dropped?)", schema, table)
	}
	return cols, rs.Err()
}
