package verify

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
)

const checkpointDDL = `CREATE DATABASE evac_meta;
CREATE TABLE evac_meta.checkpoint (stream_id VARCHAR(64) PRIMARY KEY, position TEXT NOT NULL,
  source_commit_ts DATETIME(6) NULL, heartbeat_ts DATETIME(6) NULL, pending_ddl LONGTEXT NULL,
  pending_position TEXT NULL, updated_at DATETIME(6) NOT NULL);`

// TestTablesWaitForEvacCheckpoint plays evac's applier by hand: the target
// lags behind a source change, and verify must wait until the checkpoint
// (evac_meta.checkpoint on the target) passes the source's high mark
// instead of reporting the lagging row.
func TestTablesWaitForEvacCheckpoint(t *testing.T) {
	testenv.Require(t)
	ms := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true})
	mt := testenv.StartMariaDB(t, testenv.MariaDBOptions{})
	srcRoot, dstRoot := testenv.OpenDB(t, "private source", ms.DSN), testenv.OpenDB(t, "private target", mt.DSN)
	data := `CREATE DATABASE vt; CREATE TABLE vt.t (id INT PRIMARY KEY, v INT);
INSERT INTO vt.t SELECT seq, seq FROM vt.seq_1_to_3000;`
	load(t, srcRoot, data)
	load(t, dstRoot, data+checkpointDDL)
	setCheckpoint(t, srcRoot, dstRoot)

	testenv.Exec(t, srcRoot, "CREATE TABLE vt.other (id INT PRIMARY KEY)")
	var mid string
	if err := srcRoot.QueryRow("SELECT @@GLOBAL.gtid_binlog_pos").Scan(&mid); err != nil {
		t.Fatal(err)
	}
	testenv.Exec(t, srcRoot, "UPDATE vt.t SET v = -1 WHERE id = 1500") // not yet applied on the target
	applied := make(chan struct{})
	go func() { // the "applier": applies the DDL at once, the row change late
		defer close(applied)
		time.Sleep(100 * time.Millisecond)
		if _, err := dstRoot.Exec("CREATE TABLE vt.other (id INT PRIMARY KEY)"); err != nil {
			t.Error(err)
		}
		if _, err := dstRoot.Exec("UPDATE evac_meta.checkpoint SET position = ?", mid); err != nil {
			t.Error(err)
		}
		// Late enough that the verifier has read the lagging chunk even on
		// a loaded machine (it then must wait for the checkpoint).
		time.Sleep(6 * time.Second)
		if _, err := dstRoot.Exec("UPDATE vt.t SET v = -1 WHERE id = 1500"); err != nil {
			t.Error(err)
		}
		setCheckpoint(t, srcRoot, dstRoot)
	}()
	src, dst := mustOpen(t, ms.DSN), mustOpen(t, mt.DSN)
	res, notes, err := Tables(context.Background(), src, dst, TableOptions{Databases: []string{"vt"}}, nil)
	<-applied
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(notes, ";"), "evac checkpoint") {
		t.Fatalf("waiter not detected: %v", notes)
	}
	if r := byName(res, "vt.t"); r.Status != StatusMatch || r.Rechecked != 1 {
		t.Fatalf("lagging target: %+v, want match after one re-check", r)
	}

	testenv.Exec(t, dstRoot, "UPDATE vt.t SET v = 7 WHERE id = 10")
	res, _, err = Tables(context.Background(), src, dst, TableOptions{Databases: []string{"vt"}, WaitTimeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := byName(res, "vt.t"); len(r.Diffs) != 1 || r.Diffs[0].Key["id"] != "10" {
		t.Fatalf("planted difference with a caught-up checkpoint: %+v", r.Diffs)
	}
}

func setCheckpoint(t *testing.T, src, dst *sql.DB) {
	var pos string
	if err := src.QueryRow("SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos); err != nil {
		t.Error(err)
		return
	}
	if _, err := dst.Exec(`REPLACE INTO evac_meta.checkpoint (stream_id, position, heartbeat_ts, updated_at)
		VALUES ('default', ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))`, pos); err != nil {
		t.Error(err)
	}
}

func mustOpen(t *testing.T, dsn string) *sql.DB {
	db, err := OpenDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func byName(res []TableResult, name string) TableResult {
	for _, r := range res {
		if r.Table == name {
			return r
		}
	}
	return TableResult{Table: name, Status: "absent"}
}
