package snapshot

// touch is the last state of one key seen in a chunk's watermark window.
type touch struct {
	after   []any // the row after the last event, in the window's column order; nil: deleted
	cols    []string
	deleted bool
}

// window collects, between a chunk's low and high watermark, every key of
// the chunk touched by a binlog event, keeping only the last state.
type window struct {
	token   string
	touched map[string]touch
	order   []string // first-touch order, for deterministic output
	invalid string   // non-empty: the window must be discarded (reason)
}

func newWindow(token string) *window {
	return &window{token: token, touched: map[string]touch{}}
}

// set records the state of key k after an event.
func (w *window) set(k string, cols []string, after []any) {
	if _, ok := w.touched[k]; !ok {
		w.order = append(w.order, k)
	}
	w.touched[k] = touch{after: after, cols: cols, deleted: after == nil}
}

// merge returns the chunk's rows at the high watermark: the snapshot rows
// (snapKeys[i] is the encoded key of snapRows[i]) with every touched key
// replaced by its last after-image, or removed when it was deleted.
// Touched after-images are reordered to cols by name.
func (w *window) merge(cols []string, snapRows [][]any, snapKeys []string) ([][]any, error) {
	out := make([][]any, 0, len(snapRows)+len(w.order))
	for i, r := range snapRows {
		if _, ok := w.touched[snapKeys[i]]; !ok {
			out = append(out, r)
		}
	}
	for _, k := range w.order {
		t := w.touched[k]
		if t.deleted {
			continue
		}
		row, err := project(cols, t.cols, t.after)
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, nil
}

// project reorders vals (named by from) into the column order to.
func project(to, from []string, vals []any) ([]any, error) {
	idx := columnIndex(from)
	out := make([]any, len(to))
	for i, c := range to {
		j, ok := idx[lower(c)]
		if !ok || j >= len(vals) {
			return nil, errMissingColumn(c)
		}
		out[i] = vals[j]
	}
	return out, nil
}
