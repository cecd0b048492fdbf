package verify

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sort"
	"strings"
)

// hashCount is one distinct row hash with its number of copies.
type hashCount struct {
	hash string
	n    int64
}

// keyless verifies a table without a usable key as a whole: the aggregate,
// then the multiset of row hashes (GROUP BY hash with COUNT, so a duplicated
// row is seen). Differences name the row hash and both counts.
//
// The hash counts of both sides are streamed in hash order and merge-joined
// (memory does not grow with the table); at most MaxKeys differing hashes
// are listed, the count of differing hashes stays exact.
func (v *tableVerifier) keyless(ctx context.Context, j *tableJob) error {
	if err := v.throttle(ctx); err != nil {
		return err
	}
	s, t, _, err := v.both(ctx, j, nil, nil)
	if err != nil {
		return err
	}
	var diffs []RowDiff
	var total int64
	if !s.equal(t) {
		rounds := max(1, v.opt.Rechecks)
		var prev map[string]bool // differences of every earlier round (nil = keep all)
		for i := 0; i < rounds; i++ {
			keep := func(d RowDiff) bool { return prev == nil || prev[hashDiffID(d)] }
			diffs, total, err = v.keylessRound(ctx, j, keep)
			if err != nil {
				return fmt.Errorf("table %s: %w", j.res.Table, err)
			}
			if total == 0 {
				break
			}
			// Filter the next round by this one only when every difference
			// is listed; otherwise the next round keeps all (exact count).
			prev = nil
			if total == int64(len(diffs)) {
				prev = make(map[string]bool, len(diffs))
				for _, d := range diffs {
					prev[hashDiffID(d)] = true
				}
			}
		}
	}
	fixes, err := v.keylessFixes(ctx, j, diffs, total)
	if err != nil {
		return err
	}
	j.add(func(r *TableResult) {
		r.Chunks = 1
		r.SourceRows, r.TargetRows = s.Rows, t.Rows
		if total > 0 {
			r.ChunksDiffer = 1
			r.Diffs = append(r.Diffs, diffs...)
			r.DifferingKeys = total
			r.Truncated = total > int64(len(diffs))
			r.fix = append(r.fix, fixes...)
		}
	})
	return nil
}

// hashDiffID identifies a keyless difference across re-check rounds.
func hashDiffID(d RowDiff) string { return d.RowHash + fmt.Sprint(d.SourceCount, d.TargetCount) }

// keylessRound streams the source's hash counts, waits until the target has
// applied past a source mark taken after the source was read, streams the
// target's, and merges them.
func (v *tableVerifier) keylessRound(ctx context.Context, j *tableJob, keep func(RowDiff) bool) (diffs []RowDiff, total int64, err error) {
	if err := v.throttle(ctx); err != nil {
		return nil, 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	var src, dst *hashCursor
	defer func() {
		if err != nil {
			cancel() // drop unread results instead of draining them
		}
		dst.close()
		src.close()
		cancel()
	}()
	if src, err = openHashCursor(rctx, v.src, j); err != nil {
		return nil, 0, fmt.Errorf("source: %w", err)
	}
	mark, err := v.wait.Mark(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err = v.wait.Wait(ctx, mark); err != nil {
		return nil, 0, err
	}
	if dst, err = openHashCursor(rctx, v.dst, j); err != nil {
		return nil, 0, fmt.Errorf("target: %w", err)
	}
	return mergeHashCounts(src.next, dst.next, v.opt.MaxKeys, keep)
}

// hashCursor streams one side's (row hash, count) in ascending hash order
// on a dedicated connection.
type hashCursor struct {
	conn  *sql.Conn
	rows  *sql.Rows
	side  string
	first *hashCount // read before the source mark is taken
	done  bool
}

// holdTimeout is the session net_write_timeout of a hash stream: one side
// is left unread while the other side is read or while the target catches
// up, and the server must not abort it for that.
const holdTimeout = 86400

// openHashCursor starts the GROUP BY query and reads its first row: the
// derived table of row hashes is fully materialised before the first group
// is sent, so once it returns the side has been read.
func openHashCursor(ctx context.Context, db *sql.DB, j *tableJob) (*hashCursor, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	c := &hashCursor{conn: conn}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION net_write_timeout = %d", holdTimeout)); err != nil {
		c.close()
		return nil, err
	}
	q := fmt.Sprintf("SELECT h, COUNT(*) FROM (SELECT %s AS h FROM %s%s) AS evac_rows GROUP BY h ORDER BY h", hashExpr(j.cols), j.qname, materialize)
	if c.rows, err = conn.QueryContext(ctx, q); err != nil {
		c.close()
		return nil, err
	}
	h, ok, err := c.read()
	if err != nil {
		c.close()
		return nil, err
	}
	if ok {
		c.first = &h
	}
	return c, nil
}

func (c *hashCursor) read() (hashCount, bool, error) {
	var h hashCount
	if c.done {
		return h, false, nil
	}
	if !c.rows.Next() {
		c.done = true
		return h, false, c.rows.Err()
	}
	err := c.rows.Scan(&h.hash, &h.n)
	return h, err == nil, err
}

// next returns the next (hash, count); false at the end.
func (c *hashCursor) next() (hashCount, bool, error) {
	if c.first != nil {
		h := *c.first
		c.first = nil
		return h, true, nil
	}
	return c.read()
}

// close ends the stream and restores the session (or drops the connection).
func (c *hashCursor) close() {
	if c == nil || c.conn == nil {
		return
	}
	if c.rows != nil {
		c.rows.Close()
	}
	if _, err := c.conn.ExecContext(context.Background(), "SET SESSION net_write_timeout = DEFAULT"); err != nil {
		_ = c.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	c.conn.Close()
	c.conn = nil
}

// keylessFixes repairs rows of a keyless table by content: extra copies
// are deleted by row hash (DELETE ... WHERE <row hash> = h LIMIT n), missing
// copies are inserted with the source row's values. total is the exact
// number of differing hashes, of which diffs are the listed ones.
func (v *tableVerifier) keylessFixes(ctx context.Context, j *tableJob, diffs []RowDiff, total int64) ([]string, error) {
	var out []string
	for i, d := range diffs {
		if i == v.opt.MaxKeys {
			break
		}
		if d.TargetCount > d.SourceCount {
			out = append(out, fmt.Sprintf("DELETE FROM %s WHERE %s = '%s' LIMIT %d;", j.qname, hashExpr(j.cols), d.RowHash, d.TargetCount-d.SourceCount))
			continue
		}
		vals, err := rowByHash(ctx, v.src, j, d.RowHash)
		if err != nil {
			return nil, fmt.Errorf("table %s: read source row %s: %w", j.res.Table, d.RowHash, err)
		}
		for k := d.TargetCount; k < d.SourceCount; k++ {
			out = append(out, insertSQL(j, leafRow{vals: vals}))
		}
	}
	if listed := int64(min(len(diffs), v.opt.MaxKeys)); total > listed {
		out = append(out, fmt.Sprintf("-- %d more rows of %s differ; run verify again after applying these", total-listed, j.qname))
	}
	return out, nil
}

// rowByHash reads the normalised columns of one row whose hash is h.
func rowByHash(ctx context.Context, db *sql.DB, j *tableJob, h string) ([][]byte, error) {
	sel := make([]string, len(j.cols))
	for i, c := range j.cols {
		sel[i] = normExpr(c)
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s = ? LIMIT 1", strings.Join(sel, ", "), j.qname, hashExpr(j.cols))
	raw := make([]sql.RawBytes, len(j.cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	rows, err := db.QueryContext(ctx, q, h)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("row is gone (the source changed)")
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	vals := make([][]byte, len(raw))
	for i, b := range raw {
		if b != nil {
			vals[i] = append([]byte{}, b...)
		}
	}
	return vals, nil
}

// hashStream yields (hash, count) in strictly ascending hash order; false
// at the end.
type hashStream func() (hashCount, bool, error)

// orderedStream wraps s with a check of its order: the merge is only right
// if both sides sort the hashes (equal-length lower-case hex) byte-wise.
func orderedStream(side string, s hashStream) hashStream {
	var last string
	started := false
	return func() (hashCount, bool, error) {
		h, ok, err := s()
		if err != nil {
			return h, false, fmt.Errorf("%s: %w", side, err)
		}
		if !ok {
			return h, false, nil
		}
		if started && h.hash <= last {
			return h, false, fmt.Errorf("%s row hashes are not in ascending byte order (%q after %q): the session must use charset=binary (open it with verify.OpenDB)", side, h.hash, last)
		}
		last, started = h.hash, true
		return h, true, nil
	}
}

// mergeHashCounts merge-joins two hash-sorted multisets in constant memory.
// It returns the first limit differences that keep accepts (limit < 0: all;
// keep nil: all) and the exact number of accepted differences.
func mergeHashCounts(src, dst hashStream, limit int, keep func(RowDiff) bool) ([]RowDiff, int64, error) {
	src, dst = orderedStream("source", src), orderedStream("target", dst)
	var out []RowDiff
	var total int64
	emit := func(h string, a, b int64) {
		kind := Missing
		if b > a {
			kind = Extra
		}
		d := RowDiff{Kind: kind, RowHash: h, SourceCount: a, TargetCount: b}
		if keep != nil && !keep(d) {
			return
		}
		total++
		if limit < 0 || len(out) < limit {
			out = append(out, d)
		}
	}
	s, sok, err := src()
	if err != nil {
		return nil, 0, err
	}
	t, tok, err := dst()
	if err != nil {
		return nil, 0, err
	}
	for sok || tok {
		advS, advT := false, false
		switch {
		case !tok || (sok && s.hash < t.hash):
			emit(s.hash, s.n, 0)
			advS = true
		case !sok || t.hash < s.hash:
			emit(t.hash, 0, t.n)
			advT = true
		default:
			if s.n != t.n {
				emit(s.hash, s.n, t.n)
			}
			advS, advT = true, true
		}
		if advS {
			if s, sok, err = src(); err != nil {
				return nil, 0, err
			}
		}
		if advT {
			if t, tok, err = dst(); err != nil {
				return nil, 0, err
			}
		}
	}
	return out, total, nil
}

// sliceStream streams a hash-sorted slice.
func sliceStream(hc []hashCount) hashStream {
	i := 0
	return func() (hashCount, bool, error) {
		if i >= len(hc) {
			return hashCount{}, false, nil
		}
		i++
		return hc[i-1], true, nil
	}
}

// diffHashCounts merge-joins two hash-sorted multisets held in memory.
func diffHashCounts(src, dst []hashCount) []RowDiff {
	out, _, err := mergeHashCounts(sliceStream(src), sliceStream(dst), -1, nil)
	if err != nil {
		return nil
	}
	return out
}

// finishTable sets a table's status and caps its listed diffs. A keyless
// table has already set its exact DifferingKeys (it lists at most MaxKeys).
func finishTable(r *TableResult, maxKeys int) {
	if r.Status != StatusMatch {
		return
	}
	r.DifferingKeys = max(r.DifferingKeys, int64(len(r.Diffs)))
	sort.SliceStable(r.Diffs, func(a, b int) bool {
		return diffID(r.Diffs[a])+r.Diffs[a].RowHash < diffID(r.Diffs[b])+r.Diffs[b].RowHash
	})
	if r.ChunksDiffer > 0 || len(r.Diffs) > 0 || r.DifferingKeys > 0 {
		r.Status = StatusDiffer
	}
	if len(r.Diffs) > maxKeys {
		r.Diffs, r.Truncated = r.Diffs[:maxKeys], true
	}
}
