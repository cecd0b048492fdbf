package verify

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/evac-dev/evac/replicator/chunk"
)

// sum is one chunk's aggregate on one side.
type sum struct {
	Rows  int64
	LaneA string // exact DECIMAL sum of the first 64 bits of each row hash
	LaneB string // XOR of the second 64-bit half
}

func (s sum) equal(o sum) bool { return s == o }

// chunks walks the key on the source ([lo, hi) ranges, first and last open)
// and schedules one job per chunk on g.
func (v *tableVerifier) chunks(ctx context.Context, g *errgroup.Group, j *tableJob) error {
	j.size.Store(v.startSize(j))
	if j.estRows > 0 && j.estRows <= j.size.Load()/2 {
		// The server estimates the whole table at half a chunk or less: one
		// chunk, without a boundary walk that would scan it to find no bound.
		// (0 is not trusted: fresh InnoDB statistics of a just-loaded table.)
		g.Go(func() error { return v.chunk(ctx, j, nil, nil) })
		return nil
	}
	var lo []any
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		hi, err := nextBoundary(ctx, v.src, j.key, lo, nil, int(j.size.Load()))
		if err != nil {
			return fmt.Errorf("table %s: chunk boundary: %w", j.res.Table, err)
		}
		v.log.Debug("chunk boundary", "table", j.res.Table, "rows", j.size.Load(), "took", time.Since(start))
		clo := lo
		g.Go(func() error { return v.chunk(ctx, j, clo, hi) })
		if hi == nil {
			return nil
		}
		lo = hi
	}
}

// nextBoundary returns the key n rows after lo (inside [lo, hi)), or nil
// when fewer rows remain. The server orders and compares (collation-aware).
func nextBoundary(ctx context.Context, db *sql.DB, k chunk.Key, lo, hi []any, n int) ([]any, error) {
	where, args := chunk.RangeWhere(k, lo, hi)
	q := fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s) WHERE %s ORDER BY %s LIMIT 1 OFFSET %d",
		chunk.OrderBy(k), k.QualifiedTable(), chunk.QuoteIdent(k.Index), where, chunk.OrderBy(k), n)
	raw := make([]sql.RawBytes, len(k.Columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	return keyValues(k, raw)
}

// keyValues converts raw key bytes to bind values: integers as int64/uint64
// (a string bound against an integer column would compare as DOUBLE),
// everything else as bytes (chunk.Placeholder relabels them).
func keyValues(k chunk.Key, raw []sql.RawBytes) ([]any, error) {
	out := make([]any, len(raw))
	for i, c := range k.Columns {
		switch c.Kind {
		case chunk.KindInt:
			n, err := strconv.ParseInt(string(raw[i]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", c.Name, err)
			}
			out[i] = n
		case chunk.KindUint:
			n, err := strconv.ParseUint(string(raw[i]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", c.Name, err)
			}
			out[i] = n
		default:
			out[i] = append([]byte{}, raw[i]...)
		}
	}
	return out, nil
}

// checksum runs the chunk aggregate on one side.
func checksum(ctx context.Context, db *sql.DB, j *tableJob, lo, hi []any) (sum, error) {
	where, args := "1=1", []any(nil)
	if !j.res.Keyless {
		where, args = chunk.RangeWhere(j.key, lo, hi)
	}
	var s sum
	err := db.QueryRowContext(ctx, checksumQuery(j.qname, j.cols, where), args...).Scan(&s.Rows, &s.LaneA, &s.LaneB)
	return s, err
}

// both checksums a range on both sides at once.
func (v *tableVerifier) both(ctx context.Context, j *tableJob, lo, hi []any) (s, t sum, took time.Duration, err error) {
	var g errgroup.Group
	g.Go(func() error {
		start := time.Now()
		var e error
		s, e = checksum(ctx, v.src, j, lo, hi)
		took = time.Since(start)
		return wrapSide("source", j, e)
	})
	g.Go(func() error {
		var e error
		t, e = checksum(ctx, v.dst, j, lo, hi)
		return wrapSide("target", j, e)
	})
	err = g.Wait()
	return s, t, took, err
}

func wrapSide(side string, j *tableJob, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", side, j.res.Table, err)
}

// chunk verifies one chunk: checksum both sides; if they differ, re-check
// once the target has applied past a source mark; if it still differs,
// drill down to keys.
func (v *tableVerifier) chunk(ctx context.Context, j *tableJob, lo, hi []any) error {
	if err := v.throttle(ctx); err != nil {
		return err
	}
	start := time.Now()
	s, t, took, err := v.both(ctx, j, lo, hi)
	if err != nil {
		return err
	}
	v.log.Debug("chunk checksummed", "table", j.res.Table, "rows", s.Rows, "source_took", took, "both_took", time.Since(start))
	v.adapt(j, s.Rows, took)
	if lo == nil && hi == nil && j.estRows > 0 && s.Rows > 4*max(j.estRows, int64(v.opt.MinChunkRows)) {
		v.log.Warn("table statistics are stale: it was checksummed as one chunk, larger than the chunk time target; run ANALYZE TABLE on the source",
			"table", j.res.Table, "estimated_rows", j.estRows, "rows", s.Rows)
	}
	differ := !s.equal(t)
	rechecked := false
	if differ && v.opt.Rechecks > 0 {
		rechecked = true
		if differ, s, t, err = v.recheck(ctx, j, lo, hi); err != nil {
			return err
		}
	}
	var diffs []RowDiff
	var fixes []string
	if differ {
		if diffs, fixes, err = v.drill(ctx, j, lo, hi, s.Rows, t.Rows); err != nil {
			return err
		}
		// A chunk whose aggregate kept changing but where no key differs in
		// every re-check round was only moving (a hot range), not different.
		differ = len(diffs) > 0
	}
	j.add(func(r *TableResult) {
		r.Chunks++
		r.SourceRows += s.Rows
		r.TargetRows += t.Rows
		if rechecked {
			r.Rechecked++
		}
		if differ {
			r.ChunksDiffer++
			r.Diffs = append(r.Diffs, diffs...)
			r.fix = append(r.fix, fixes...)
		}
	})
	return nil
}

// recheck re-reads a differing chunk up to Rechecks times, each time
// reading the source, taking a source high mark, waiting until the target
// applied past it, then reading the target. It still differs only if every
// round differs.
func (v *tableVerifier) recheck(ctx context.Context, j *tableJob, lo, hi []any) (bool, sum, sum, error) {
	var s, t sum
	for i := 0; i < v.opt.Rechecks; i++ {
		var err error
		if s, t, err = marked(v, ctx, func(db *sql.DB) (sum, error) { return checksum(ctx, db, j, lo, hi) }); err != nil {
			return false, s, t, err
		}
		if s.equal(t) {
			return false, s, t, nil
		}
	}
	return true, s, t, nil
}

// marked reads the source, then waits for the target to pass the source's
// position, then reads the target.
func marked[T any](v *tableVerifier, ctx context.Context, read func(*sql.DB) (T, error)) (T, T, error) {
	var zero T
	s, err := read(v.src)
	if err != nil {
		return zero, zero, fmt.Errorf("source: %w", err)
	}
	mark, err := v.wait.Mark(ctx)
	if err != nil {
		return zero, zero, err
	}
	if err := v.wait.Wait(ctx, mark); err != nil {
		return zero, zero, err
	}
	t, err := read(v.dst)
	if err != nil {
		return zero, zero, fmt.Errorf("target: %w", err)
	}
	return s, t, nil
}

// startSize is a table's first chunk size: MinChunkRows, or once a chunk
// of any table has been timed, the rows that the measured source rate
// (bytes of average row length per second) checksums in ChunkTime, capped.
// Carrying the rate over saves every table from restarting at MinChunkRows.
func (v *tableVerifier) startSize(j *tableJob) int64 {
	v.rateMu.Lock()
	rate := v.rate
	v.rateMu.Unlock()
	if rate <= 0 || j.rowLen <= 0 {
		return int64(v.opt.MinChunkRows)
	}
	n := rate * v.opt.ChunkTime.Seconds() / float64(j.rowLen)
	n = min(max(n, float64(v.opt.MinChunkRows)), float64(v.opt.MaxChunkRows))
	return int64(n)
}

// adapt sizes the next chunk to the time target, capped.
func (v *tableVerifier) adapt(j *tableJob, rows int64, took time.Duration) {
	if rows < int64(v.opt.MinChunkRows)/2 || took <= 0 {
		return
	}
	if j.rowLen > 0 {
		v.rateMu.Lock()
		v.rate = float64(rows*j.rowLen) / took.Seconds()
		v.rateMu.Unlock()
	}
	n := float64(rows) * float64(v.opt.ChunkTime) / float64(took)
	cur := float64(j.size.Load())
	n = min(n, cur*2) // grow at most 2x per chunk
	n = max(n, float64(v.opt.MinChunkRows))
	n = min(n, float64(v.opt.MaxChunkRows))
	j.size.Store(int64(n))
}

// throttle waits while the source's Threads_running is above the limit.
func (v *tableVerifier) throttle(ctx context.Context) error {
	if v.opt.MaxThreadsRunning <= 0 {
		return nil
	}
	delay := 50 * time.Millisecond
	for {
		var name string
		var n int
		err := v.src.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Threads_running'").Scan(&name, &n)
		if err != nil {
			return fmt.Errorf("read source Threads_running: %w", err)
		}
		if n <= v.opt.MaxThreadsRunning {
			return nil
		}
		v.log.Debug("throttled: source busy", "threads_running", n, "max", v.opt.MaxThreadsRunning)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}
