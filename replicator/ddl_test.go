package replicator_test

import (
	"context"
	"fmt"
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
		c.ChunkRows = 10
		c.SnapshotWorkers = 2
		done <- e.run(context.Background(), c)
	}()
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
