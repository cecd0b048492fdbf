package chunk

import (
	"context"
	"testing"
	"time"
)

var intKey = Key{Schema: "d", Table: "t", Index: "PRIMARY", Columns: []Column{
	{Name: "a", Kind: KindInt}, {Name: "b", Kind: KindUint},
}}

func TestRangeWhere(t *testing.T) {
	cases := []struct {
		lo, hi []any
		want   string
		nargs  int
	}{
		{nil, nil, "1=1", 0},
		{[]any{int64(1), uint64(2)}, nil, "((`a` > ?) OR (`a` = ? AND `b` >= ?))", 3},
		{nil, []any{int64(1), uint64(2)}, "((`a` < ?) OR (`a` = ? AND `b` < ?))", 3},
		{[]any{int64(1), uint64(2)}, []any{int64(3), uint64(4)}, "((`a` > ?) OR (`a` = ? AND `b` >= ?)) AND ((`a` < ?) OR (`a` = ? AND `b` < ?))", 6},
	}
	for _, c := range cases {
		got, args := RangeWhere(intKey, c.lo, c.hi)
		if got != c.want || len(args) != c.nargs {
			t.Errorf("RangeWhere(%v,%v) = %q %v, want %q", c.lo, c.hi, got, args, c.want)
		}
	}
}

func TestPlaceholder(t *testing.T) {
	cases := []struct {
		c    Column
		want string
	}{
		{Column{Kind: KindInt}, "?"},
		{Column{Kind: KindString, Charset: "latin1", Collation: "latin1_swedish_ci"}, "CONVERT(? USING latin1) COLLATE latin1_swedish_ci"},
		{Column{Kind: KindDecimal, Precision: 65, Scale: 30}, "CAST(? AS DECIMAL(65,30))"},
		{Column{Kind: KindTemporal, DataType: "date"}, "CAST(? AS DATE)"},
		{Column{Kind: KindTemporal, DataType: "datetime", Scale: 6}, "CAST(? AS DATETIME(6))"},
	}
	for _, c := range cases {
		if got := Placeholder(c.c); got != c.want {
			t.Errorf("Placeholder(%+v) = %q, want %q", c.c, got, c.want)
		}
	}
}

func TestCompareAndContains(t *testing.T) {
	k := Key{Columns: []Column{{Name: "a", Kind: KindInt}, {Name: "b", Kind: KindBinary, DataType: "binary", Length: 3}}}
	ch := Chunk{Key: k, Lo: []any{int64(-5), []byte("b")}, Hi: []any{int64(10), []byte{}}}
	cases := []struct {
		v    []any
		want bool
	}{
		{[]any{int64(-5), []byte("a")}, false},
		{[]any{int64(-5), []byte("b")}, true},
		{[]any{int64(-5), []byte("b\x00")}, true}, // BINARY(3) padding
		{[]any{int64(9), []byte("zzz")}, true},
		{[]any{int64(10), []byte{}}, false},
		{[]any{int64(-6), []byte("zzz")}, false},
	}
	for _, c := range cases {
		got, err := Contains(ch, c.v)
		if err != nil || got != c.want {
			t.Errorf("Contains(%v) = %v, %v; want %v", c.v, got, err, c.want)
		}
	}
	if _, err := Compare(Key{Columns: []Column{{Name: "s", Kind: KindString}}}, []any{[]byte("a")}, []any{[]byte("b")}); err == nil {
		t.Error("Compare on a collated string key must refuse")
	}
	u := Key{Columns: []Column{{Name: "u", Kind: KindUint}}}
	if r, _ := Compare(u, []any{uint64(1 << 63)}, []any{uint64(1)}); r != 1 {
		t.Error("unsigned compare must not wrap")
	}
}

func TestLocateGo(t *testing.T) {
	k := Key{Columns: []Column{{Name: "a", Kind: KindInt}}}
	bounds := [][]any{{int64(10)}, {int64(20)}, {int64(30)}}
	keys := [][]any{{int64(-1)}, {int64(10)}, {int64(19)}, {int64(20)}, {int64(30)}, {int64(99)}}
	got, err := Locator{Key: k}.Locate(context.Background(), bounds, keys)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 1, 2, 3, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Locate = %v, want %v", got, want)
		}
	}
}

func TestNormalizeAndFeedback(t *testing.T) {
	v, err := Normalize(Column{Kind: KindUint}, []byte("18446744073709551615"))
	if err != nil || v.(uint64) != 18446744073709551615 {
		t.Fatalf("Normalize uint = %v %v", v, err)
	}
	if v, _ := Normalize(Column{Kind: KindInt}, int32(-3)); v.(int64) != -3 {
		t.Fatal("int32 not widened")
	}
	c := New(nil, intKey, Options{TargetRows: 100, TargetTime: 100 * time.Millisecond})
	c.Feedback(100, 400*time.Millisecond) // 4x too slow: want 25, step halfway
	if c.Rows() != 62 {
		t.Fatalf("Rows after feedback = %d, want 62", c.Rows())
	}
	if _, err := KindOf("enum", false); err == nil {
		t.Fatal("enum keys must be refused")
	}
}

func TestSessionDSN(t *testing.T) {
	got, err := SessionDSN("u:p@tcp(h:1)/db?parseTime=false")
	if err != nil || got != "u:p@tcp(h:1)/db?charset=binary&parseTime=false&time_zone=%27%2B00%3A00%27" {
		t.Fatalf("SessionDSN = %q %v", got, err)
	}
}
