package chunk

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Compare orders two normalized key tuples of k in Go: -1, 0 or 1. It is
// exact for integer and binary keys only; for other keys (collated strings,
// DECIMAL, temporal) it returns an error and callers use a Locator.
func Compare(k Key, a, b []any) (int, error) {
	for i, c := range k.Columns {
		r, err := compareOne(c, a[i], b[i])
		if err != nil || r != 0 {
			return r, err
		}
	}
	return 0, nil
}

func compareOne(c Column, a, b any) (int, error) {
	switch c.Kind {
	case KindInt:
		x, ok1 := a.(int64)
		y, ok2 := b.(int64)
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("key column %s: want int64 values, got %T and %T", c.Name, a, b)
		}
		return cmp3(x < y, x > y), nil
	case KindUint:
		x, ok1 := a.(uint64)
		y, ok2 := b.(uint64)
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("key column %s: want uint64 values, got %T and %T", c.Name, a, b)
		}
		return cmp3(x < y, x > y), nil
	case KindBinary:
		x, ok1 := a.([]byte)
		y, ok2 := b.([]byte)
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("key column %s: want []byte values, got %T and %T", c.Name, a, b)
		}
		if c.DataType == "binary" { // BINARY(n) is zero-padded to n
			x, y = pad(x, int(c.Length)), pad(y, int(c.Length))
		}
		return bytes.Compare(x, y), nil
	}
	return 0, fmt.Errorf("key column %s (%s) cannot be ordered in Go; use a Locator (server-side comparison)", c.Name, c.DataType)
}

func cmp3(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}

func pad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	return append(append([]byte(nil), b...), make([]byte, n-len(b))...)
}

// Contains reports whether the normalized key tuple vals lies in ch
// (Go-side, integer and binary keys only: see Compare).
func Contains(ch Chunk, vals []any) (bool, error) {
	if ch.Lo != nil {
		r, err := Compare(ch.Key, vals, ch.Lo)
		if err != nil || r < 0 {
			return false, err
		}
	}
	if ch.Hi != nil {
		r, err := Compare(ch.Key, vals, ch.Hi)
		if err != nil || r >= 0 {
			return false, err
		}
	}
	return true, nil
}

// Locator finds, for key tuples, the index of the range they fall into
// among sorted boundaries b[0] < b[1] < ...: the result i means
// b[i-1] <= key < b[i] (0: below b[0], len(b): at or above the last).
// It compares in Go when the key allows it and otherwise asks the server
// (one query per binary-search round for a whole batch of keys), so the
// order is always the server's own.
type Locator struct {
	DB  *sql.DB // used only for keys that are not GoComparable
	Key Key
}

// Locate returns the range index of every key tuple in keys.
func (l Locator) Locate(ctx context.Context, bounds [][]any, keys [][]any) ([]int, error) {
	lo := make([]int, len(keys))
	hi := make([]int, len(keys))
	for i := range keys {
		hi[i] = len(bounds)
	}
	for {
		var probe []int
		for i := range keys {
			if lo[i] < hi[i] {
				probe = append(probe, i)
			}
		}
		if len(probe) == 0 {
			return lo, nil
		}
		pairs := make([][2][]any, len(probe))
		for j, i := range probe {
			pairs[j] = [2][]any{keys[i], bounds[(lo[i]+hi[i])/2]}
		}
		ge, err := l.greaterEq(ctx, pairs)
		if err != nil {
			return nil, err
		}
		for j, i := range probe {
			mid := (lo[i] + hi[i]) / 2
			if ge[j] {
				lo[i] = mid + 1
			} else {
				hi[i] = mid
			}
		}
	}
}

// greaterEq evaluates a >= b for each pair.
func (l Locator) greaterEq(ctx context.Context, pairs [][2][]any) ([]bool, error) {
	out := make([]bool, len(pairs))
	if l.Key.GoComparable() {
		for i, p := range pairs {
			r, err := Compare(l.Key, p[0], p[1])
			if err != nil {
				return nil, err
			}
			out[i] = r >= 0
		}
		return out, nil
	}
	const batch = 200
	for start := 0; start < len(pairs); start += batch {
		end := min(start+batch, len(pairs))
		if err := l.serverGE(ctx, pairs[start:end], out[start:end]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (l Locator) serverGE(ctx context.Context, pairs [][2][]any, out []bool) error {
	if l.DB == nil {
		return fmt.Errorf("table %s: key needs server-side comparison but no database was given", l.Key.QualifiedTable())
	}
	exprs := make([]string, len(pairs))
	var args []any
	for i, p := range pairs {
		s, a := cmpExpr(l.Key.Columns, p[1], ">", ">=", Placeholder, Placeholder)
		// cmpExpr puts the column on the left: substitute the probe key's
		// placeholders for the column by interleaving its values.
		exprs[i] = s
		args = append(args, interleave(l.Key.Columns, p[0], a)...)
	}
	q := "SELECT " + strings.Join(exprs, ", ")
	dest := make([]sql.NullBool, len(pairs))
	ptrs := make([]any, len(pairs))
	for i := range dest {
		ptrs[i] = &dest[i]
	}
	if err := l.DB.QueryRowContext(ctx, q, args...).Scan(ptrs...); err != nil {
		return fmt.Errorf("compare keys of %s on the server: %w", l.Key.QualifiedTable(), err)
	}
	for i := range dest {
		out[i] = dest[i].Bool
	}
	return nil
}

// interleave rebuilds the argument list of a cmpExpr whose column side is a
// placeholder too: each comparison "col op val" becomes "key op bound", so
// every bound argument is preceded by the matching key value.
func interleave(cols []Column, key []any, boundArgs []any) []any {
	out := make([]any, 0, 2*len(boundArgs))
	n := len(cols)
	k := 0
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			out = append(out, key[j], boundArgs[k])
			k++
		}
	}
	return out
}
