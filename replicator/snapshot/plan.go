package snapshot

import (
	"context"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/chunk"
	"github.com/evac-dev/evac/replicator/position"
)

// state of a planned chunk.
type state uint8

const (
	pending state = iota // planned, not copied: its events are skipped
	open                 // low watermark seen: its events are collected
	done                 // emitted to the target: its events apply
)

// planChunk is one chunk of a table's plan.
type planChunk struct {
	ch    chunk.Chunk
	ord   string // sortable order string (key order), persisted
	state state
	win   *window // while open
	tries int
	// committed: the chunk's rows are in the target. donePos: for a chunk
	// recorded by an earlier run, its high-watermark position: events at
	// or before it are already in its rows (parallel inserts, see insert.go).
	committed bool
	donePos   position.Position

	// set by the reader before it commits the high watermark
	cols     []string
	rows     [][]any
	rowKeys  []string
	lowTok   string
	highTok  string
	readDone bool
}

// tablePlan is the snapshot state of one table, shared by the planner (adds
// chunks), the readers (fill rows) and the coordinator (states, windows).
// Callers hold Coordinator.mu.
type tablePlan struct {
	id        change.TableID
	key       chunk.Key
	singleRun bool // self-referencing FK: one chunk for the whole table
	cascadeBy map[change.TableID]bool
	parents   []change.TableID
	tail      *gap // trailing gap of a resumed plan, chunked by the planner

	chunks   []*planChunk // in key order
	edges    [][]any      // segment boundaries (see rebuild)
	segs     []*planChunk // segs[i] covers [edges[i-1], edges[i]); nil: not planned
	complete bool         // the plan reaches +inf
	finished bool         // every chunk done and complete: the table is copied
}

// rebuild recomputes the segment index from chunks (sorted by key).
func (t *tablePlan) rebuild() {
	t.edges, t.segs = nil, nil
	for i, c := range t.chunks {
		var prev *planChunk
		if i > 0 {
			prev = t.chunks[i-1]
		}
		t.appendSeg(c, prev)
	}
}

// appendSeg adds chunk c, which follows prev (nil: c is the first), to the
// segment index.
func (t *tablePlan) appendSeg(c, prev *planChunk) {
	if prev == nil {
		if c.ch.Lo != nil {
			t.segs = append(t.segs, nil)
			t.edges = append(t.edges, c.ch.Lo)
		}
		t.segs = append(t.segs, c)
		return
	}
	prevHi := prev.ch.Hi
	t.edges = append(t.edges, prevHi)
	if encodeKey(prevHi) != encodeKey(c.ch.Lo) {
		t.segs = append(t.segs, nil)
		t.edges = append(t.edges, c.ch.Lo)
	}
	t.segs = append(t.segs, c)
}

func (t *tablePlan) lastHi() []any {
	if n := len(t.chunks); n > 0 {
		return t.chunks[n-1].ch.Hi
	}
	return nil
}

// add appends a newly planned chunk at the end of the plan.
func (t *tablePlan) add(c *planChunk) {
	var prev *planChunk
	if n := len(t.chunks); n > 0 {
		prev = t.chunks[n-1]
	}
	t.chunks = append(t.chunks, c)
	t.appendSeg(c, prev)
	if c.ch.Hi == nil {
		t.complete = true
	}
}

// locate returns, for each key tuple, the chunk holding it (nil: not
// planned yet, i.e. not copied).
func (t *tablePlan) locate(ctx context.Context, loc chunk.Locator, keys [][]any) ([]*planChunk, error) {
	out := make([]*planChunk, len(keys))
	if len(t.segs) == 0 {
		return out, nil
	}
	bounds := t.edges
	if hi := t.lastHi(); hi != nil { // keys at or past the last planned Hi are unplanned
		bounds = append(bounds[:len(bounds):len(bounds)], hi)
	}
	idx, err := loc.Locate(ctx, bounds, keys)
	if err != nil {
		return nil, err
	}
	for i, j := range idx {
		if j < len(t.segs) {
			out[i] = t.segs[j]
		}
	}
	return out, nil
}

// allCommitted reports whether the plan is complete and every chunk's rows
// are in the target.
func (t *tablePlan) allCommitted() bool {
	if !t.complete {
		return false
	}
	for _, c := range t.chunks {
		if !c.committed {
			return false
		}
	}
	return true
}

func tableOf(ch chunk.Chunk) change.TableID {
	return change.TableID{Schema: ch.Key.Schema, Name: ch.Key.Table}
}

// allDone reports whether the plan is complete and every chunk is done.
func (t *tablePlan) allDone() bool {
	if !t.complete {
		return false
	}
	for _, c := range t.chunks {
		if c.state != done {
			return false
		}
	}
	return true
}
