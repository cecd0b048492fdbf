package verify

import (
	"context"
	"database/sql"
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
func (v *tableVerifier) keyless(ctx context.Context, j *tableJob) error {
	s, t, _, err := v.both(ctx, j, nil, nil)
	if err != nil {
		return err
	}
	var diffs []RowDiff
	if !s.equal(t) {
		rounds := max(1, v.opt.Rechecks)
		seen := map[string]int{}
		for i := 0; i < rounds; i++ {
			sh, th, err := marked(v, ctx, func(db *sql.DB) ([]hashCount, error) { return readHashCounts(ctx, db, j) })
			if err != nil {
				return fmt.Errorf("table %s: %w", j.res.Table, err)
			}
			diffs = keepSeen(diffHashCounts(sh, th), seen, i)
			if len(diffs) == 0 {
				break
			}
		}
	}
	fixes, err := v.keylessFixes(ctx, j, diffs)
	if err != nil {
		return err
	}
	j.add(func(r *TableResult) {
		r.Chunks = 1
		r.SourceRows, r.TargetRows = s.Rows, t.Rows
		if len(diffs) > 0 {
			r.ChunksDiffer = 1
			r.Diffs = append(r.Diffs, diffs...)
			r.fix = append(r.fix, fixes...)
		}
	})
	return nil
}

// keylessFixes repairs rows of a keyless table by content: extra copies
// are deleted by row hash (DELETE ... WHERE <row hash> = h LIMIT n), missing
// copies are inserted with the source row's values.
func (v *tableVerifier) keylessFixes(ctx context.Context, j *tableJob, diffs []RowDiff) ([]string, error) {
	var out []string
	for i, d := range diffs {
		if i == v.opt.MaxKeys {
			out = append(out, fmt.Sprintf("-- %d more rows of %s differ; run verify again after applying these", len(diffs)-i, j.qname))
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

func keepSeen(d []RowDiff, seen map[string]int, round int) []RowDiff {
	var out []RowDiff
	for _, x := range d {
		id := x.RowHash + fmt.Sprint(x.SourceCount, x.TargetCount)
		if round == 0 || seen[id] == round {
			seen[id] = round + 1
			out = append(out, x)
		}
	}
	return out
}

func readHashCounts(ctx context.Context, db *sql.DB, j *tableJob) ([]hashCount, error) {
	q := fmt.Sprintf("SELECT h, COUNT(*) FROM (SELECT %s AS h FROM %s%s) AS evac_rows GROUP BY h ORDER BY h", hashExpr(j.cols), j.qname, materialize)
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []hashCount
	for rows.Next() {
		var h hashCount
		if err := rows.Scan(&h.hash, &h.n); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// diffHashCounts merge-joins two hash-sorted multisets.
func diffHashCounts(src, dst []hashCount) []RowDiff {
	var out []RowDiff
	i, k := 0, 0
	emit := func(h string, a, b int64) {
		kind := Missing
		if b > a {
			kind = Extra
		}
		out = append(out, RowDiff{Kind: kind, RowHash: h, SourceCount: a, TargetCount: b})
	}
	for i < len(src) || k < len(dst) {
		switch {
		case k >= len(dst) || (i < len(src) && src[i].hash < dst[k].hash):
			emit(src[i].hash, src[i].n, 0)
			i++
		case i >= len(src) || dst[k].hash < src[i].hash:
			emit(dst[k].hash, 0, dst[k].n)
			k++
		default:
			if src[i].n != dst[k].n {
				emit(src[i].hash, src[i].n, dst[k].n)
			}
			i++
			k++
		}
	}
	return out
}

// finishTable sets a table's status and caps its listed diffs.
func finishTable(r *TableResult, maxKeys int) {
	if r.Status != StatusMatch {
		return
	}
	r.DifferingKeys = int64(len(r.Diffs))
	sort.SliceStable(r.Diffs, func(a, b int) bool {
		return diffID(r.Diffs[a])+r.Diffs[a].RowHash < diffID(r.Diffs[b])+r.Diffs[b].RowHash
	})
	if r.ChunksDiffer > 0 || len(r.Diffs) > 0 {
		r.Status = StatusDiffer
	}
	if len(r.Diffs) > maxKeys {
		r.Diffs, r.Truncated = r.Diffs[:maxKeys], true
	}
}
