package verify

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/evac-dev/evac/replicator/chunk"
)

// leafRow is one row of a drill-down leaf: raw key bytes, the row hash and
// each column's normalised value (nil = NULL).
type leafRow struct {
	key  []string
	hash string
	vals [][]byte
}

// drill bisects [lo, hi) until a range holds at most DrillRows rows on both
// sides, then names every differing key of the differing leaves.
func (v *tableVerifier) drill(ctx context.Context, j *tableJob, lo, hi []any, sn, tn int64) ([]RowDiff, []string, error) {
	if max(sn, tn) > int64(v.opt.DrillRows) {
		mid, err := v.split(ctx, j, lo, hi, sn, tn)
		if err != nil {
			return nil, nil, err
		}
		if mid != nil {
			var diffs []RowDiff
			var fixes []string
			for _, r := range [][2][]any{{lo, mid}, {mid, hi}} {
				s, t, _, err := v.both(ctx, j, r[0], r[1])
				if err != nil {
					return nil, nil, err
				}
				v.log.Debug("drill", "table", j.res.Table, "lo", r[0], "hi", r[1], "source", s, "target", t)
				if s.equal(t) {
					continue
				}
				d, f, err := v.drill(ctx, j, r[0], r[1], s.Rows, t.Rows)
				if err != nil {
					return nil, nil, err
				}
				diffs, fixes = append(diffs, d...), append(fixes, f...)
			}
			return diffs, fixes, nil
		}
	}
	return v.leaf(ctx, j, lo, hi)
}

// split returns a key inside (lo, hi) halving the larger side, or nil.
func (v *tableVerifier) split(ctx context.Context, j *tableJob, lo, hi []any, sn, tn int64) ([]any, error) {
	db, n := v.src, sn
	if tn > sn {
		db, n = v.dst, tn
	}
	mid, err := nextBoundary(ctx, db, j.key, lo, hi, int(n/2))
	if err != nil {
		return nil, fmt.Errorf("table %s: split chunk: %w", j.res.Table, err)
	}
	if mid == nil || (lo != nil && fmt.Sprint(mid) == fmt.Sprint(lo)) {
		return nil, nil
	}
	return mid, nil
}

// leaf compares rows of a small range. On a live target the comparison is
// repeated (source read, mark, wait, target read); a key is reported only if
// it differs in every round.
func (v *tableVerifier) leaf(ctx context.Context, j *tableJob, lo, hi []any) ([]RowDiff, []string, error) {
	read := func(db *sql.DB) ([]leafRow, error) { return readLeaf(ctx, db, j, lo, hi) }
	var diffs []RowDiff
	var fixes []string
	var seen map[string]int
	rounds := max(1, v.opt.Rechecks)
	for i := 0; i < rounds; i++ {
		s, t, err := marked(v, ctx, read)
		if err != nil {
			return nil, nil, fmt.Errorf("table %s: %w", j.res.Table, err)
		}
		d, f := compareRows(j, s, t)
		if i == 0 {
			seen = map[string]int{}
		}
		diffs, fixes = nil, nil
		for k, rd := range d {
			id := diffID(rd)
			if i == 0 || seen[id] == i {
				seen[id] = i + 1
				diffs, fixes = append(diffs, rd), append(fixes, f[k])
			}
		}
		if len(diffs) == 0 {
			break
		}
	}
	return diffs, fixes, nil
}

// diffID identifies a diff by its key, columns in sorted order.
func diffID(d RowDiff) string {
	names := make([]string, 0, len(d.Key))
	for k := range d.Key {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%q=%q;", k, d.Key[k])
	}
	return b.String()
}

// readLeaf reads key, row hash and normalised columns of [lo, hi).
func readLeaf(ctx context.Context, db *sql.DB, j *tableJob, lo, hi []any) ([]leafRow, error) {
	where, args := chunk.RangeWhere(j.key, lo, hi)
	sel := []string{chunk.OrderBy(j.key), hashExpr(j.cols)}
	for _, c := range j.cols {
		sel = append(sel, normExpr(c))
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s", strings.Join(sel, ", "), j.qname, where, chunk.OrderBy(j.key))
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nk := len(j.key.Columns)
	var out []leafRow
	for rows.Next() {
		raw := make([]sql.RawBytes, nk+1+len(j.cols))
		ptrs := make([]any, len(raw))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := leafRow{hash: string(raw[nk])}
		for i := 0; i < nk; i++ {
			r.key = append(r.key, string(raw[i]))
		}
		for _, b := range raw[nk+1:] {
			if b == nil {
				r.vals = append(r.vals, nil)
			} else {
				r.vals = append(r.vals, append([]byte{}, b...))
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// compareRows joins both sides by exact key bytes and returns the diffs and
// their repair statements (same index).
func compareRows(j *tableJob, src, dst []leafRow) ([]RowDiff, []string) {
	tmap := make(map[string]leafRow, len(dst))
	for _, r := range dst {
		tmap[strings.Join(r.key, "\x00")] = r
	}
	var diffs []RowDiff
	var fixes []string
	for _, s := range src {
		id := strings.Join(s.key, "\x00")
		t, ok := tmap[id]
		delete(tmap, id)
		switch {
		case !ok:
			diffs = append(diffs, RowDiff{Kind: Missing, Key: keyMap(j, s.key)})
			fixes = append(fixes, insertSQL(j, s))
		case t.hash != s.hash:
			cols := differingColumns(j, s, t)
			diffs = append(diffs, RowDiff{Kind: Different, Key: keyMap(j, s.key), Columns: cols})
			fixes = append(fixes, updateSQL(j, s, cols))
		}
	}
	for _, t := range dst {
		if _, ok := tmap[strings.Join(t.key, "\x00")]; ok {
			diffs = append(diffs, RowDiff{Kind: Extra, Key: keyMap(j, t.key)})
			fixes = append(fixes, deleteSQL(j, t.key))
		}
	}
	return diffs, fixes
}

func differingColumns(j *tableJob, s, t leafRow) []string {
	var out []string
	for i, c := range j.cols {
		a, b := s.vals[i], t.vals[i]
		if (a == nil) != (b == nil) || string(a) != string(b) {
			out = append(out, c.Name)
		}
	}
	return out
}

// keyMap shows a key: text when it is valid UTF-8, else 0x-hex.
func keyMap(j *tableJob, key []string) map[string]string {
	m := make(map[string]string, len(key))
	for i, c := range j.key.Columns {
		m[c.Name] = display(key[i])
	}
	return m
}

func display(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return fmt.Sprintf("0x%X", s)
}
