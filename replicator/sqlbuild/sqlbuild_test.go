package sqlbuild

import (
	"reflect"
	"testing"

	"github.com/evac-dev/evac/replicator/change"
)

var tbl = change.TableID{Schema: "d`b", Name: "t 1"}

func TestBuilders(t *testing.T) {
	tests := []struct {
		name     string
		sql      string
		args     []any
		wantSQL  string
		wantArgs []any
	}{
		{"insert", "", nil, "INSERT INTO `d``b`.`t 1` (`a`,`b`) VALUES (?,?),(?,?)", []any{1, "x", 2, nil}},
		{"update", "", nil, "UPDATE `d``b`.`t 1` SET `a`=?,`b`=? WHERE `a`=?", []any{5, "y", 1}},
		{"delete1", "", nil, "DELETE FROM `d``b`.`t 1` WHERE `a` IN (?,?,?)", []any{1, 2, 3}},
		{"delete2", "", nil, "DELETE FROM `d``b`.`t 1` WHERE (`a`=? AND `b`=?) OR (`a`=? AND `b`=?)", []any{1, "x", 2, "y"}},
		{"select", "", nil, "SELECT COUNT(*) FROM `d``b`.`t 1` WHERE `a`=? AND `b`=?", []any{1, "x"}},
	}
	tests[0].sql, tests[0].args = Insert(tbl, []string{"a", "b"}, [][]any{{1, "x"}, {2, nil}})
	tests[1].sql, tests[1].args = Update(tbl, []string{"a", "b"}, []any{5, "y"}, []string{"a"}, []any{1})
	tests[2].sql, tests[2].args = Delete(tbl, []string{"a"}, [][]any{{1}, {2}, {3}})
	tests[3].sql, tests[3].args = Delete(tbl, []string{"a", "b"}, [][]any{{1, "x"}, {2, "y"}})
	tests[4].sql, tests[4].args = Select(tbl, []string{"a", "b"}, []any{1, "x"})
	for _, tt := range tests {
		if tt.sql != tt.wantSQL || !reflect.DeepEqual(tt.args, tt.wantArgs) {
			t.Errorf("%s: got %q %v, want %q %v", tt.name, tt.sql, tt.args, tt.wantSQL, tt.wantArgs)
		}
	}
}

func TestQuoteAndSize(t *testing.T) {
	if got := Quote("a`b"); got != "`a``b`" {
		t.Errorf("Quote = %s", got)
	}
	if got := Size("INSERT ?", []any{[]byte("abc"), int64(1)}); got != 8+16+24 {
		t.Errorf("Size = %d", got)
	}
}
