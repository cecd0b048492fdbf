package binlog

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/position"
)

// TestMySQLFlavorFixture decodes constructed MySQL 8.0 GTID-mode events with
// go-mysql's parser and checks the transactions the stream delivers.
func TestMySQLFlavorFixture(t *testing.T) {
	data, err := loadFixture("mysql80_gtid.bin", mysqlFixture)
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./replicator/binlog -run TestMySQLFlavorFixture -update-fixtures)", err)
	}
	if !bytes.Equal(data, mysqlFixture()) {
		t.Fatal("testdata/binlog/mysql80_gtid.bin differs from the generator: regenerate with -update-fixtures")
	}
	s := &Stream{hist: NewHistory("t", nil), xa: map[string]*pending{}, tables: map[uint64]*tableInfo{},
		kind: position.MySQLGTID, pos: position.MustParse(fixtureUUID + ":1-10"), mysqlFl: true,
		log: slog.New(slog.DiscardHandler), cfg: Config{Include: func(id change.TableID) bool { return id.Schema == "shop" }}}
	p := replication.NewBinlogParser()
	p.SetFlavor("mysql")
	p.SetUseDecimal(true)
	p.SetParseTime(false)
	p.SetTimestampStringLocation(time.UTC)
	p.SetRenderJSONAsMySQLText(true)
	p.SetVerifyChecksum(false)
	p.SetRowsEventDecodeFunc(s.decodeRows)
	var txns []change.Txn
	var streamErr error
	err = p.ParseReader(bytes.NewReader(data[4:]), func(ev *replication.BinlogEvent) error {
		if streamErr != nil {
			return nil
		}
		txn, done, err := s.handle(context.Background(), ev)
		if err != nil {
			streamErr = err
		} else if done {
			txns = append(txns, txn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(txns) != 4 {
		t.Fatalf("got %d transactions, want 4: %+v", len(txns), txns)
	}
	u := fixtureUUID
	want := []struct {
		pos, gtid string
		rows      int
		ddl       bool
	}{{u + ":1-11", u + ":11", 2, false}, {u + ":1-12", u + ":12", 0, true}, {u + ":1-13", u + ":13", 0, false}, {u + ":1-14", u + ":14", 0, false}}
	for i, w := range want {
		if txns[i].Pos != w.pos || txns[i].GTID != w.gtid || len(txns[i].Rows) != w.rows || (txns[i].DDL != nil) != w.ddl {
			t.Errorf("txn %d = pos %s gtid %s rows %d ddl %v; want %+v", i, txns[i].Pos, txns[i].GTID, len(txns[i].Rows), txns[i].DDL != nil, w)
		}
	}
	r := txns[0].Rows
	wantAfter := [][]any{
		{^uint64(0), uint64(0xffffff), []byte("h\xc3\xa9\xf0\x9f\x98\x80"), []byte("2021-10-31 00:30:00.123456")},
		{uint64(1), uint64(0), []byte{}, nil},
	}
	for i := range wantAfter {
		if r[i].Op != change.Insert || !reflect.DeepEqual(r[i].After, wantAfter[i]) || !reflect.DeepEqual(r[i].Key, []int{0}) ||
			!reflect.DeepEqual(r[i].Columns, []string{"id", "n", "v", "ts"}) {
			t.Errorf("row %d = %+v, want after %#v key [0]", i, r[i], wantAfter[i])
		}
	}
	if !txns[0].CommitTS.Equal(time.Unix(1700000001, 0)) {
		t.Errorf("commit ts %v", txns[0].CommitTS)
	}
	d := txns[1].DDL
	if d.SQLMode != "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION" || d.Charset != "255,255,255" || d.TimeZone != "+00:00" ||
		!reflect.DeepEqual(d.Tables, []change.TableID{{Schema: "shop", Name: "t"}}) {
		t.Errorf("DDL = %+v", d)
	}
	if streamErr == nil || !strings.HasPrefix(streamErr.Error(), "source wrote DML as a statement") {
		t.Errorf("statement DML: got %v", streamErr)
	}
}
