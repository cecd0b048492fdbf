package binlog

import (
	"strings"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/evac-dev/evac/replicator/change"
)

func TestBindWithoutNames(t *testing.T) {
	hist := &Table{ID: change.TableID{Schema: "d", Name: "t"}, Key: []string{"id"},
		Columns: []Column{{Name: "id", DataType: "int"}, {Name: "u", DataType: "bigint", Unsigned: true}, {Name: "g", DataType: "int", Generated: true}}}
	tm := &replication.TableMapEvent{Schema: []byte("d"), Table: []byte("t"), ColumnCount: 3,
		ColumnType: []byte{gomysql.MYSQL_TYPE_LONG, gomysql.MYSQL_TYPE_LONGLONG, gomysql.MYSQL_TYPE_LONG}}
	info, err := bind(tm, hist)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(info.columns, ",") != "id,u,g" || len(info.key) != 1 || info.key[0] != 0 || !info.generated[2] {
		t.Fatalf("bind = %+v", info)
	}
	v, _ := normalize(int64(-1), info.cols[1])
	if v != ^uint64(0) {
		t.Fatalf("unsigned from history: %v", v)
	}
	// a reordered history (stale) is refused, not mis-decoded
	tm.ColumnType = []byte{gomysql.MYSQL_TYPE_LONGLONG, gomysql.MYSQL_TYPE_LONG, gomysql.MYSQL_TYPE_LONG}
	if _, err := bind(tm, hist); err == nil || !strings.Contains(err.Error(), "the history is stale") {
		t.Fatalf("stale history: %v", err)
	}
	tm.ColumnCount = 2
	tm.ColumnType = tm.ColumnType[:2]
	if _, err := bind(tm, hist); err == nil || !strings.Contains(err.Error(), "has 3 columns but the binlog event has 2") {
		t.Fatalf("column count: %v", err)
	}
	if _, err := bind(tm, nil); err == nil || !strings.Contains(err.Error(), "binlog_row_metadata=FULL") {
		t.Fatalf("no history: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	u8 := &Column{DataType: "tinyint", Unsigned: true}
	u24 := &Column{DataType: "mediumint", Unsigned: true}
	bit := &Column{DataType: "bit"}
	tests := []struct {
		in   any
		col  *Column
		want any
	}{
		{int8(-1), u8, uint64(255)},
		{int32(-1), u24, uint64(0xffffff)},
		{int64(-1), bit, ^uint64(0)},
		{int8(-1), nil, int64(-1)},
		{uint32(7), nil, uint64(7)},
		{"abc", nil, []byte("abc")},
		{float32(1.5), nil, float32(1.5)},
		{2021, nil, int64(2021)},
	}
	for _, tt := range tests {
		got, err := normalize(tt.in, tt.col)
		if err != nil || !equalValue(got, tt.want) {
			t.Errorf("normalize(%#v) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func equalValue(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && string(ab) == string(bb)
	}
	return a == b
}

func TestFixedStringLen(t *testing.T) {
	tests := []struct {
		typ  byte
		meta uint16
		n    int
		ok   bool
	}{
		{gomysql.MYSQL_TYPE_STRING, 0xfe04, 4, true},           // BINARY(4)
		{gomysql.MYSQL_TYPE_STRING, 0xce00 | 0xfc, 1020, true}, // CHAR(255) utf8mb4: length bits in the type byte
		{gomysql.MYSQL_TYPE_STRING, 0xf701, 0, false},          // ENUM
		{gomysql.MYSQL_TYPE_VARCHAR, 40, 0, false},
	}
	for _, tt := range tests {
		tm := &replication.TableMapEvent{ColumnType: []byte{tt.typ}, ColumnMeta: []uint16{tt.meta}}
		n, ok := fixedStringLen(tm, 0)
		if ok != tt.ok || (ok && n != tt.n) {
			t.Errorf("fixedStringLen(%d, %#x) = %d,%v want %d,%v", tt.typ, tt.meta, n, ok, tt.n, tt.ok)
		}
	}
}
