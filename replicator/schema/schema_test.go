package schema

import (
	"testing"

	"github.com/evac-dev/evac/replicator/change"
)

func id(n string) change.TableID { return change.TableID{Schema: "d", Name: n} }

func TestOrder(t *testing.T) {
	tables := []change.TableID{id("a_child"), id("b_grand"), id("c_parent"), id("d_self"), id("e")}
	fks := []ForeignKey{
		{Table: id("a_child"), Ref: id("c_parent")},
		{Table: id("b_grand"), Ref: id("a_child")},
		{Table: id("d_self"), Ref: id("d_self")}, // self-reference: no ordering constraint
	}
	got, cycles := Order(tables, fks)
	want := "d.c_parent d.d_self d.e d.a_child d.b_grand"
	if s := names(got); s != want || len(cycles) != 0 {
		t.Fatalf("Order = %q (cycles %v), want %q", s, cycles, want)
	}
	_, cycles = Order(tables, append(fks, ForeignKey{Table: id("c_parent"), Ref: id("b_grand")}))
	if len(cycles) != 1 || names(cycles[0]) != "d.a_child d.b_grand d.c_parent" {
		t.Fatalf("cycles = %v", cycles)
	}
}

func names(ts []change.TableID) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += " "
		}
		s += t.String()
	}
	return s
}

func TestFilter(t *testing.T) {
	f := Filter{Databases: []string{"shop"}, Exclude: []string{"shop.tmp"}}
	cases := map[change.TableID]bool{
		{Schema: "shop", Name: "orders"}:         true,
		{Schema: "shop", Name: "tmp"}:            false,
		{Schema: "other", Name: "x"}:             false,
		{Schema: "evac_meta", Name: "watermark"}: false,
		{Schema: "mysql", Name: "user"}:          false,
	}
	for tb, want := range cases {
		if f.Match(tb) != want {
			t.Errorf("Match(%s) = %v", tb, !want)
		}
	}
	g := Filter{Tables: []string{"a.t"}}
	if !g.Match(change.TableID{Schema: "a", Name: "t"}) || g.Match(change.TableID{Schema: "a", Name: "u"}) || !g.MatchSchema("a") || g.MatchSchema("b") {
		t.Error("Tables filter")
	}
	if (ForeignKey{OnDelete: "RESTRICT", OnUpdate: "NO ACTION"}).Cascades() || !(ForeignKey{OnDelete: "SET NULL"}).Cascades() {
		t.Error("Cascades")
	}
}

func TestCycleCore(t *testing.T) {
	fks := []ForeignKey{
		{Name: "ab", Table: id("a"), Ref: id("b")},
		{Name: "ba", Table: id("b"), Ref: id("a")},
		{Name: "ca", Table: id("c"), Ref: id("a")}, // depends on the cycle, not on it
		{Name: "dc", Table: id("d"), Ref: id("c")},
		{Name: "aa", Table: id("a"), Ref: id("a")}, // self-reference
		{Name: "ex", Table: id("e"), Ref: id("x")},
	}
	_, rest := Order([]change.TableID{id("a"), id("b"), id("c"), id("d"), id("e"), id("x")}, fks)
	if len(rest) != 1 || names(rest[0]) != "d.a d.b d.c d.d" {
		t.Fatalf("Order rest = %v", rest)
	}
	core, keys := CycleCore(rest[0], fks)
	var kn []string
	for _, k := range keys {
		kn = append(kn, k.Name)
	}
	if names(core) != "d.a d.b" || len(kn) != 2 || kn[0] != "ab" || kn[1] != "ba" {
		t.Fatalf("CycleCore = %v %v", names(core), kn)
	}
}
