package replicator_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
)

// TestDDLDuringSnapshot: columns are added, dropped and reordered while
// the table is being copied and rows are written; open chunk windows are
// discarded and re-read with the new shape; the end state is identical.
func TestDDLDuringSnapshot(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source(
		"CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, b VARCHAR(20)) ENGINE=InnoDB",
		"INSERT INTO {db}.t SELECT seq, seq, CONCAT('b', seq) FROM {db}.seq_1_to_5000",
	)
	done := make(chan error, 1)
	go func() {
		c := e.config()
		c.ChunkRows = 5
		c.SnapshotWorkers = 1
		done <- e.run(context.Background(), c)
	}()
	// start the DDL once the snapshot is under way
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int
		_ = e.tgt.QueryRow("SELECT COUNT(*) FROM evac_meta.snapshot_chunk WHERE stream_id=?", e.db).Scan(&n)
		if n >= 5 {
			break
		}
	}
	steps := []string{
		"ALTER TABLE {db}.t ADD COLUMN c INT NOT NULL DEFAULT 5",
		"UPDATE {db}.t SET c = id % 7, a = a + 1 WHERE id % 50 = 0",
		"ALTER TABLE {db}.t MODIFY COLUMN b VARCHAR(20) AFTER id",
		"INSERT INTO {db}.t (id, a, b, c) VALUES (9001, 1, 'x', 2), (9002, 2, 'y', 3)",
		"ALTER TABLE {db}.t DROP COLUMN a",
		"DELETE FROM {db}.t WHERE id % 97 = 0",
	}
	for i, s := range steps {
		time.Sleep(150 * time.Millisecond)
		e.source(s)
		t.Logf("step %d done", i)
	}
	var finished int
	_ = e.tgt.QueryRow("SELECT COUNT(*) FROM evac_meta.snapshot_table WHERE stream_id=?", e.db).Scan(&finished)
	if finished != 0 {
		t.Log("the snapshot finished before the last DDL: the mid-snapshot path was not exercised")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.run(context.Background(), e.config()); err != nil {
		t.Fatal(err)
	}
	e.same("t")
	var cols string
	if err := e.tgt.QueryRow(fmt.Sprintf("SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='%s' AND TABLE_NAME='t'", e.db)).Scan(&cols); err != nil || cols != "id,b,c" {
		t.Fatalf("target columns %q (%v), want id,b,c", cols, err)
	}
}

// TestDDLAtStartup: ALTERs run while evac reads the definitions and takes
// its start position; each is either in the copied definition (and not
// replayed) or replayed, never both and never lost.
func TestDDLAtStartup(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source("CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT) ENGINE=InnoDB",
		"INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_300")
	stop := make(chan struct{})
	ddlDone := make(chan struct{})
	var ddls atomic.Int32
	go func() {
		defer close(ddlDone)
		end := time.Now().Add(1500 * time.Millisecond) // the startup window only
		for i := 0; time.Now().Before(end); i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			q := fmt.Sprintf("ALTER TABLE `%s`.t ADD COLUMN c%d INT DEFAULT %d", e.db, i, i)
			if i%3 == 2 {
				q = fmt.Sprintf("ALTER TABLE `%s`.t DROP COLUMN c%d", e.db, i-1)
			}
			if _, err := e.src.Exec(q); err == nil {
				ddls.Add(1)
			}
			_, _ = e.src.Exec(fmt.Sprintf("UPDATE `%s`.t SET a = a + 1 WHERE id = %d", e.db, 1+i%300))
		}
	}()
	time.Sleep(100 * time.Millisecond)
	err := e.run(context.Background(), e.config())
	close(stop)
	<-ddlDone
	if err != nil {
		t.Fatal(err)
	}
	// The race must have happened: ALTERs really ran while evac started.
	if n := ddls.Load(); n < 3 {
		t.Fatalf("only %d ALTERs succeeded during startup; the test did not exercise the race", n)
	}
	if err := e.run(context.Background(), e.config()); err != nil {
		t.Fatal(err)
	}
	e.same("t")
	var s, g string
	q := fmt.Sprintf("SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='%s' AND TABLE_NAME='t'", e.db)
	_ = e.src.QueryRow(q).Scan(&s)
	_ = e.tgt.QueryRow(q).Scan(&g)
	if s != g {
		t.Fatalf("columns differ: source %s, target %s", s, g)
	}
}

// TestKeyChangeDuringSnapshotRefused: a DDL changing the key of a table
// being copied stops the run with the way out.
func TestKeyChangeDuringSnapshotRefused(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source("CREATE TABLE {db}.t (id INT NOT NULL, a INT NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB",
		"INSERT INTO {db}.t SELECT seq, seq FROM {db}.seq_1_to_5000")
	done := make(chan error, 1)
	go func() {
		c := e.config()
		c.ChunkRows, c.SnapshotWorkers = 5, 1
		done <- e.run(context.Background(), c)
	}()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int
		_ = e.tgt.QueryRow("SELECT COUNT(*) FROM evac_meta.snapshot_chunk WHERE stream_id=?", e.db).Scan(&n)
		if n >= 5 {
			break
		}
	}
	e.source("ALTER TABLE {db}.t DROP PRIMARY KEY, ADD PRIMARY KEY (a, id)")
	err := <-done
	want := fmt.Sprintf("snapshot %s.t: its primary/unique key changed during the copy", e.db)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want %q", err, want)
	}
}
