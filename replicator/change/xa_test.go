package change

import (
	"reflect"
	"testing"
)

func TestEncodeRowsRoundTrip(t *testing.T) {
	rows := []Row{{Op: Update, Table: TableID{"d", "t"}, Columns: []string{"a", "b", "c", "d", "e", "f"},
		Before: []any{nil, int64(-1), uint64(1 << 63), float32(1.5), float64(-0.25), []byte{0, 0xff}},
		After:  []any{[]byte{}, int64(2), uint64(0), float32(0), float64(1e-310), []byte("x")},
		Key:    []int{1}, Generated: []bool{false, false, true, false, false, false}, NoFKChecks: true}}
	b, err := EncodeRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRows(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, rows)
	}
}
