package snapshot

import (
	"context"
	"testing"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/chunk"
	"github.com/evac-dev/evac/replicator/position"
)

var intKey = chunk.Key{Schema: "d", Table: "t", Index: "PRIMARY", Columns: []chunk.Column{{Name: "id", Kind: chunk.KindInt}}}

func i64(v int64) []any { return []any{v} }

// plan: [-inf,10) done, [10,20) open, [20,30) pending, >= 30 unplanned.
func testCoordinator() (*Coordinator, []*planChunk) {
	id := change.TableID{Schema: "d", Name: "t"}
	p := &tablePlan{id: id, key: intKey, cascadeBy: map[change.TableID]bool{}}
	cs := []*planChunk{
		{ch: chunk.Chunk{Key: intKey, Hi: i64(10)}, state: done},
		{ch: chunk.Chunk{Key: intKey, Lo: i64(10), Hi: i64(20)}, state: open, win: newWindow("L")},
		{ch: chunk.Chunk{Key: intKey, Lo: i64(20), Hi: i64(30)}, state: pending},
	}
	for _, c := range cs {
		p.add(c)
	}
	c := &Coordinator{tables: map[change.TableID]*tablePlan{id: p}, locs: map[*tablePlan]chunk.Locator{p: {Key: intKey}}, tokens: map[string]*planChunk{}}
	return c, cs
}

func row(op change.Op, before, after int64) change.Row {
	r := change.Row{Op: op, Table: change.TableID{Schema: "d", Name: "t"}, Columns: []string{"id", "v"}}
	if op != change.Insert {
		r.Before = []any{before, []byte("b")}
	}
	if op != change.Delete {
		r.After = []any{after, []byte("a")}
	}
	return r
}

func TestRouteDecisions(t *testing.T) {
	cases := []struct {
		name    string
		row     change.Row
		want    []change.Op // rows kept for the applier
		touched []string    // keys recorded in the open window
	}{
		{"insert into copied chunk applies", row(change.Insert, 0, 5), []change.Op{change.Insert}, nil},
		{"insert into open window is recorded", row(change.Insert, 0, 15), nil, []string{"15"}},
		{"insert into pending chunk is skipped", row(change.Insert, 0, 25), nil, nil},
		{"insert past the plan is skipped", row(change.Insert, 0, 99), nil, nil},
		{"delete in copied chunk applies", row(change.Delete, 3, 0), []change.Op{change.Delete}, nil},
		{"delete in window recorded as deleted", row(change.Delete, 12, 0), nil, []string{"12-"}},
		{"update same key in copied chunk", row(change.Update, 4, 4), []change.Op{change.Update}, nil},
		{"pk change copied->copied stays an update", row(change.Update, 4, 6), []change.Op{change.Update}, nil},
		{"pk change copied->pending becomes delete", row(change.Update, 4, 25), []change.Op{change.Delete}, nil},
		{"pk change pending->copied becomes insert", row(change.Update, 25, 4), []change.Op{change.Insert}, nil},
		{"pk change copied->window: delete + record", row(change.Update, 4, 15), []change.Op{change.Delete}, []string{"15"}},
		{"pk change window->pending: record deleted", row(change.Update, 15, 25), nil, []string{"15-"}},
		{"pk change -inf side", row(change.Update, -100, 99), []change.Op{change.Delete}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			co, cs := testCoordinator()
			keep, _, err := co.route(context.Background(), change.Txn{Rows: []change.Row{c.row}})
			if err != nil {
				t.Fatal(err)
			}
			var ops []change.Op
			for _, r := range keep {
				ops = append(ops, r.Op)
			}
			if len(ops) != len(c.want) || (len(ops) > 0 && ops[0] != c.want[0]) {
				t.Fatalf("kept %v, want %v", ops, c.want)
			}
			var got []string
			for _, k := range cs[1].win.order {
				s := ""
				id := int64(0)
				for _, cand := range []int64{12, 15} {
					if encodeKey(i64(cand)) == k {
						id = cand
					}
				}
				s = string(rune('0'+id/10)) + string(rune('0'+id%10))
				if cs[1].win.touched[k].deleted {
					s += "-"
				}
				got = append(got, s)
			}
			if len(got) != len(c.touched) || (len(got) > 0 && got[0] != c.touched[0]) {
				t.Fatalf("touched %v, want %v", got, c.touched)
			}
		})
	}
}

func TestWindowMerge(t *testing.T) {
	w := newWindow("L")
	cols := []string{"id", "v"}
	snap := [][]any{{int64(1), []byte("a")}, {int64(2), []byte("b")}, {int64(3), []byte("c")}}
	keys := []string{encodeKey(i64(1)), encodeKey(i64(2)), encodeKey(i64(3))}
	w.set(encodeKey(i64(2)), []string{"v", "id"}, []any{[]byte("B1"), int64(2)})
	w.set(encodeKey(i64(2)), []string{"v", "id"}, []any{[]byte("B2"), int64(2)}) // last image wins
	w.set(encodeKey(i64(3)), cols, nil)                                          // deleted
	w.set(encodeKey(i64(4)), cols, []any{int64(4), []byte("d")})                 // inserted
	got, err := w.merge(cols, snap, keys)
	if err != nil {
		t.Fatal(err)
	}
	want := "1:a 2:B2 4:d"
	var s []string
	for _, r := range got {
		s = append(s, string(rune('0'+r[0].(int64)))+":"+string(r[1].([]byte)))
	}
	if j := join(s); j != want {
		t.Fatalf("merge = %q, want %q", j, want)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestResumePlanGaps(t *testing.T) {
	p := &tablePlan{key: intKey}
	gaps := resumePlan(p, tableProgress{chunks: []doneChunk{
		{ord: "0000000001", lo: i64(10), hi: i64(20)},
		{ord: "0000000003", lo: i64(30), hi: i64(40)},
	}})
	if len(gaps) != 3 {
		t.Fatalf("gaps = %+v", gaps)
	}
	if gaps[0].lo != nil || gaps[0].hi[0] != int64(10) || gaps[0].prefix != "." {
		t.Errorf("leading gap = %+v", gaps[0])
	}
	if gaps[1].lo[0] != int64(20) || gaps[1].hi[0] != int64(30) || gaps[1].prefix != "0000000001." {
		t.Errorf("middle gap = %+v", gaps[1])
	}
	if gaps[2].lo[0] != int64(40) || gaps[2].hi != nil {
		t.Errorf("tail gap = %+v", gaps[2])
	}
	// ords of gap chunks sort in key order
	if !(".0000000000" < "0000000001" && "0000000001" < "0000000001.0000000000" && "0000000001.0000000009" < "0000000003") {
		t.Error("ord scheme does not sort in key order")
	}
}

func TestKeyRoundTrip(t *testing.T) {
	in := []any{int64(-5), uint64(1 << 63), []byte{0, 'x'}}
	s, err := marshalKey(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := unmarshalKey([]byte(s.(string)))
	if err != nil || encodeKey(out) != encodeKey(in) {
		t.Fatalf("round trip %v -> %v (%v)", in, out, err)
	}
}

func TestDoneAtRecordedPosition(t *testing.T) {
	hw, err := position.Parse("0-1-10")
	if err != nil {
		t.Fatal(err)
	}
	recorded := &planChunk{state: done, donePos: hw}
	thisRun := &planChunk{state: done}
	cases := []struct {
		pos  string
		pc   *planChunk
		want bool
	}{
		{"0-1-9", recorded, false},  // before its HW: its rows carry the event
		{"0-1-10", recorded, false}, // the HW itself
		{"0-1-11", recorded, true},  // after: applies
		{"0-1-5", thisRun, true},
		{"0-1-11", &planChunk{state: pending}, false},
		{"0-1-11", nil, false},
	}
	for _, c := range cases {
		if got := doneAt(c.pos)(c.pc); got != c.want {
			t.Errorf("doneAt(%s) = %v, want %v", c.pos, got, c.want)
		}
	}
}
