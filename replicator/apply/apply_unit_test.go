package apply

import (
	"github.com/evac-dev/evac/replicator/sqlbuild"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/replicator/change"
)

func TestAddMode(t *testing.T) {
	tests := map[string]string{
		"":                                    "NO_AUTO_VALUE_ON_ZERO",
		"STRICT_TRANS_TABLES":                 "STRICT_TRANS_TABLES,NO_AUTO_VALUE_ON_ZERO",
		"NO_AUTO_VALUE_ON_ZERO,ANSI_QUOTES":   "ANSI_QUOTES,NO_AUTO_VALUE_ON_ZERO",
		" STRICT_ALL_TABLES , ,NO_ZERO_DATE ": "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_AUTO_VALUE_ON_ZERO",
	}
	for in, want := range tests {
		if got := addMode(in, "NO_AUTO_VALUE_ON_ZERO"); got != want {
			t.Errorf("addMode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessionDSN(t *testing.T) {
	got, err := SessionDSN("u:p@tcp(h:3306)/?tls=false", "STRICT_TRANS_TABLES")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"charset=binary", "clientFoundRows=true", "interpolateParams=true", "rejectReadOnly=true",
		"foreign_key_checks=1", "sql_mode=%27STRICT_TRANS_TABLES%2CNO_AUTO_VALUE_ON_ZERO%27", "time_zone=%27%2B00%3A00%27"} {
		if !strings.Contains(got, want) {
			t.Errorf("SessionDSN = %s, missing %s", got, want)
		}
	}
	if _, err := SessionDSN("not a dsn", ""); err == nil {
		t.Error("want error for a bad DSN")
	}
}

func TestBindable(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		in, want any
	}{
		{negZero, []byte("-0e0")},
		{float32(negZero), []byte("-0e0")},
		{float32(1.5), float64(1.5)},
		{0.1, 0.1},
		{int64(-1), int64(-1)},
		{[]byte{}, []byte{}},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := sqlbuild.Bindable(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Bindable(%#v) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestBatchCheckpointAndHeartbeat(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	hb := change.Row{Op: change.Update, Table: change.TableID{Schema: "evac_meta", Name: "heartbeat"},
		Columns: []string{"id", "ts"}, After: []any{uint64(1), []byte("2026-01-02 03:04:05.123456")}}
	b := Batch{Txns: []change.Txn{{Pos: "0-1-1"}, {Pos: "0-1-2", CommitTS: ts, Rows: []change.Row{hb}}}}
	if pos, got := b.Checkpoint(); pos != "0-1-2" || !got.Equal(ts) {
		t.Errorf("Checkpoint = %s %v", pos, got)
	}
	if got := heartbeatOf(b.Txns[1].Rows); !got.Equal(ts.Add(123456 * time.Microsecond)) {
		t.Errorf("heartbeatOf = %v", got)
	}
	b.Pos = "0-1-9"
	if pos, _ := b.Checkpoint(); pos != "0-1-9" {
		t.Errorf("explicit Pos ignored: %s", pos)
	}
	if b.Rows() != 1 {
		t.Errorf("Rows = %d", b.Rows())
	}
	if !skipped(hb.Table) || !skipped(change.TableID{Schema: "mysql", Name: "user"}) || skipped(change.TableID{Schema: "shop", Name: "t"}) {
		t.Error("skipped() wrong")
	}
}

func TestDDLSession(t *testing.T) {
	d := &change.DDL{SQLMode: "ANSI_QUOTES", Charset: "45,45,8"}
	got := ddlSession(d, "Europe/Berlin")
	want := []string{"SET SESSION sql_mode='ANSI_QUOTES'", "SET SESSION time_zone='Europe/Berlin'",
		"SET SESSION character_set_client=45, collation_connection=45, collation_server=8"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ddlSession = %q", got)
	}
	if got := ddlSession(&change.DDL{TimeZone: "SYSTEM"}, "-05:00"); got[1] != "SET SESSION time_zone='-05:00'" {
		t.Errorf("SYSTEM zone: %q", got)
	}
	d = &change.DDL{TimeZone: "+02:00", Charset: "1;DROP,2,3"}
	got = ddlSession(d, "x")
	if got[1] != "SET SESSION time_zone='+02:00'" || !strings.Contains(got[2], "character_set_client=0,") {
		t.Errorf("ddlSession = %q", got)
	}
}

func TestFormatKey(t *testing.T) {
	if got := formatKey([]string{"a", "b"}, []any{int64(1), []byte("x")}); got != "a=1,b=x" {
		t.Errorf("formatKey = %s", got)
	}
}

func TestPortableSQLMode(t *testing.T) {
	src := "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION,EMPTY_STRING_IS_NULL"
	if got := PortableSQLMode(src, true); got != src {
		t.Errorf("MariaDB target: %q", got)
	}
	if got := PortableSQLMode(src, false); got != "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION" {
		t.Errorf("MySQL target: %q", got)
	}
}
