package verify

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
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
	j.add(func(r *TableResult) {
		r.Chunks = 1
		r.SourceRows, r.TargetRows = s.Rows, t.Rows
		if len(diffs) > 0 {
			r.ChunksDiffer = 1
			r.Diffs = append(r.Diffs, diffs...)
			r.fix = append(r.fix, fmt.Sprintf("-- %s has no primary or unique key: %d row(s) differ by content; repair by hand (row hashes in the report)", j.qname, len(diffs)))
		}
	})
	return nil
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
	q := fmt.Sprintf("SELECT h, COUNT(*) FROM (SELECT %s AS h FROM %s) AS evac_rows GROUP BY h ORDER BY h", hashExpr(j.cols), j.qname)
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
