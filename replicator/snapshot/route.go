package snapshot

import (
	"context"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/position"
)

// WatermarkTable is the source table whose row events mark chunk windows.
var WatermarkTable = change.TableID{Schema: "evac_meta", Name: "watermark"}

// rowKeys holds the located chunks of one row's before and after keys.
type rowKeys struct {
	plan         *tablePlan
	kb, ka       string
	before, aftr *planChunk
}

// route filters one source transaction through the snapshot state (caller
// holds c.mu): it returns the rows to apply, and the chunks whose high
// watermark this transaction carries. Watermark rows are consumed here.
func (c *Coordinator) route(ctx context.Context, txn change.Txn) ([]change.Row, []*planChunk, error) {
	located, err := c.locateRows(ctx, txn.Rows)
	if err != nil {
		return nil, nil, err
	}
	var keep []change.Row
	var highs []*planChunk
	isDone := doneAt(txn.Pos)
	for i, r := range txn.Rows {
		if r.Table == WatermarkTable {
			if hc := c.watermark(r); hc != nil {
				highs = append(highs, hc)
			}
			continue
		}
		c.invalidateCascades(r)
		lk := located[i]
		if lk == nil {
			keep = append(keep, r)
			continue
		}
		keep = append(keep, decide(r, lk, isDone)...)
	}
	return keep, highs, nil
}

// decide applies the snapshot invariant to one row of a table being
// copied: an event applies iff its key's chunk is already in the target; a
// key in an open window is recorded there; otherwise the event is skipped
// (the chunk copy will carry it). A primary-key change across that line is
// split into its delete and insert halves.
func decide(r change.Row, lk *rowKeys, isDone func(*planChunk) bool) []change.Row {
	bDone, aDone := isDone(lk.before), isDone(lk.aftr)
	switch r.Op {
	case change.Insert:
		if aDone {
			return []change.Row{r}
		}
		record(lk.aftr, lk.ka, r.Columns, r.After)
	case change.Delete:
		if bDone {
			return []change.Row{r}
		}
		record(lk.before, lk.kb, r.Columns, nil)
	case change.Update:
		if lk.kb == lk.ka {
			if aDone {
				return []change.Row{r}
			}
			record(lk.aftr, lk.ka, r.Columns, r.After)
			return nil
		}
		switch {
		case bDone && aDone:
			return []change.Row{r}
		case bDone:
			record(lk.aftr, lk.ka, r.Columns, r.After)
			d := r
			d.Op, d.After = change.Delete, nil
			return []change.Row{d}
		case aDone:
			record(lk.before, lk.kb, r.Columns, nil)
			in := r
			in.Op, in.Before = change.Insert, nil
			return []change.Row{in}
		}
		record(lk.before, lk.kb, r.Columns, nil)
		record(lk.aftr, lk.ka, r.Columns, r.After)
	}
	return nil
}

// doneAt returns the test "is this chunk's copy in the target for an event
// at pos": a chunk emitted in this run is, from its high watermark on; a
// chunk recorded by an earlier run only for events after its recorded
// high-watermark position (its rows already carry the earlier ones).
func doneAt(pos string) func(*planChunk) bool {
	var at *position.Position
	parsed := false
	return func(pc *planChunk) bool {
		if pc == nil || pc.state != done {
			return false
		}
		if pc.donePos.IsZero() {
			return true
		}
		if !parsed {
			parsed = true
			if p, err := position.Parse(pos); err == nil {
				at = &p
			}
		}
		if at == nil {
			return true
		}
		return at.Contains(pc.donePos) && !pc.donePos.Contains(*at)
	}
}

// record notes a key's new state in its chunk's window, if one is open.
func record(pc *planChunk, k string, cols []string, after []any) {
	if pc != nil && pc.state == open && pc.win != nil {
		pc.win.set(k, cols, after)
	}
}

// locateRows finds the chunks of every row key of tables being copied,
// batching the lookups per table (one server round trip set for keys that
// need server-side comparison). nil entries: the row is not affected.
func (c *Coordinator) locateRows(ctx context.Context, rows []change.Row) ([]*rowKeys, error) {
	out := make([]*rowKeys, len(rows))
	type want struct {
		row   int
		after bool
	}
	perTable := map[*tablePlan][]want{}
	keys := map[*tablePlan][][]any{}
	for i, r := range rows {
		p := c.tables[r.Table]
		if p == nil || p.finished {
			continue
		}
		lk := &rowKeys{plan: p}
		out[i] = lk
		for _, img := range []struct {
			vals  []any
			after bool
		}{{r.Before, false}, {r.After, true}} {
			if img.vals == nil {
				continue
			}
			k, err := keyOf(p.key, r.Columns, img.vals)
			if err != nil {
				return nil, err
			}
			if img.after {
				lk.ka = encodeKey(k)
			} else {
				lk.kb = encodeKey(k)
			}
			perTable[p] = append(perTable[p], want{i, img.after})
			keys[p] = append(keys[p], k)
		}
	}
	for p, ws := range perTable {
		found, err := p.locate(ctx, c.locator(p), keys[p])
		if err != nil {
			return nil, err
		}
		for j, w := range ws {
			if w.after {
				out[w.row].aftr = found[j]
			} else {
				out[w.row].before = found[j]
			}
		}
	}
	return out, nil
}

// invalidateCascades discards open windows of tables that an update or
// delete of r's table can change through ON DELETE/UPDATE actions: those
// changes are not in the binlog, so the window cannot see them.
func (c *Coordinator) invalidateCascades(r change.Row) {
	if r.Op == change.Insert {
		return
	}
	for _, p := range c.tables {
		if p.finished || !p.cascadeBy[r.Table] {
			continue
		}
		for _, pc := range p.chunks {
			if pc.state == open && pc.win != nil && pc.win.invalid == "" {
				pc.win.invalid = "foreign-key cascade from " + r.Table.String()
			}
		}
	}
}

// watermark handles one evac_meta.watermark row: a low watermark opens its
// chunk's window; a high watermark is returned for completion.
func (c *Coordinator) watermark(r change.Row) *planChunk {
	tok := tokenOf(r)
	pc := c.tokens[tok]
	if pc == nil {
		return nil // another run's or another stream's watermark
	}
	if tok == pc.lowTok {
		pc.state = open
		pc.win = newWindow(tok)
		return nil
	}
	if tok == pc.highTok && pc.state == open {
		return pc
	}
	return nil
}

// tokenOf reads the token column of a watermark row's after image.
func tokenOf(r change.Row) string {
	for i, col := range r.Columns {
		if strings.EqualFold(col, "token") && i < len(r.After) {
			switch v := r.After[i].(type) {
			case []byte:
				return string(v)
			case string:
				return v
			}
		}
	}
	return ""
}
