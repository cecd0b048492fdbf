package apply_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator/apply"
)

// TestDDLMidStream adds, drops and reorders columns between writes; the
// stream is run only after all of it, so every old event must be decoded
// with the schema of its own position.
func TestDDLMidStream(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(10), u INT UNSIGNED)")
	p.source(
		"INSERT INTO t VALUES (1, -1, 'one', 4294967295), (2, -2, 'two', 1)",
		"ALTER TABLE t ADD COLUMN c BIGINT UNSIGNED AFTER id",
		"INSERT INTO t (id, c, a, b, u) VALUES (3, 18446744073709551615, -3, 'three', 3)",
		"UPDATE t SET a = a - 10, c = 7 WHERE id = 1",
		"ALTER TABLE t DROP COLUMN a",
		"INSERT INTO t (id, c, b, u) VALUES (4, 4, 'four', 4294967294)",
		"UPDATE t SET b = 'TWO' WHERE id = 2",
		"ALTER TABLE t MODIFY b VARCHAR(50) FIRST, MODIFY u INT UNSIGNED AFTER b",
		"INSERT INTO t (id, c, b, u) VALUES (5, 5, 'five-long-value', 5)",
		"DELETE FROM t WHERE id = 3",
		"UPDATE t SET id = 30, u = 0 WHERE id = 4",
		"CREATE TABLE t2 (k VARCHAR(5) PRIMARY KEY, v INT)",
		"INSERT INTO t2 VALUES ('a', 1), ('b', 2)",
		"CREATE TABLE t3 AS SELECT * FROM t2",
		"ALTER TABLE t3 ADD PRIMARY KEY (k)",
		"RENAME TABLE t2 TO t2r",
		"UPDATE t2r SET v = 20 WHERE k = 'b'",
		"TRUNCATE TABLE t3",
		"INSERT INTO t3 VALUES ('z', 26)",
	)
	p.batch = 10
	p.mustRun()
	p.same("t", "t2r", "t3")
	var cols string
	if err := p.tgt.QueryRow(`SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA=? AND TABLE_NAME='t'`, p.db).Scan(&cols); err != nil || cols != "b,u,id,c" {
		t.Fatalf("target columns of t = %q, %v; want b,u,id,c", cols, err)
	}
}

// TestCrashAfterDDLBeforeCheckpoint: the DDL ran on the target but the
// process died before the checkpoint advanced; the resumed run must
// finish (the DDL is pending and already applied) with nothing doubled.
func TestCrashAfterDDLBeforeCheckpoint(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, a INT)")
	p.source("INSERT INTO t VALUES (1, 1)", "ALTER TABLE t ADD COLUMN b INT", "INSERT INTO t VALUES (2, 2, 2)")
	crashed := errors.New("simulated crash")
	apply.CrashHook = func(point string) error {
		if point == "ddl-before-checkpoint" {
			return crashed
		}
		return nil
	}
	err := p.run()
	apply.CrashHook = nil
	if !errors.Is(err, crashed) {
		t.Fatalf("first run: %v, want the simulated crash", err)
	}
	cp, ok, err := apply.LoadCheckpoint(t.Context(), p.tgt, p.streamID)
	if err != nil || !ok || !strings.HasPrefix(strings.ToUpper(cp.PendingDDL), "ALTER TABLE T ADD COLUMN B") {
		t.Fatalf("checkpoint after crash: %+v %v %v; want the ALTER pending", cp, ok, err)
	}
	p.mustRun()
	p.same("t")
	cp, _, _ = apply.LoadCheckpoint(t.Context(), p.tgt, p.streamID)
	if cp.PendingDDL != "" {
		t.Fatalf("pending DDL not cleared: %+v", cp)
	}
}

// TestCrashAfterRowsBeforeCommit: the batch's rows were written but the
// target transaction never committed; the resumed run re-applies it once.
func TestCrashAfterRowsBeforeCommit(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	p.source("INSERT INTO t VALUES (1, 1)", "INSERT INTO t VALUES (2, 2)", "UPDATE t SET v = 3 WHERE id = 1",
		"INSERT INTO t VALUES (3, 3)", "DELETE FROM t WHERE id = 2")
	p.batch = 1
	crashed := errors.New("simulated crash")
	n := 0
	apply.CrashHook = func(point string) error {
		if point == "rows-before-commit" {
			if n++; n == 3 {
				return crashed
			}
		}
		return nil
	}
	err := p.run()
	apply.CrashHook = nil
	if !errors.Is(err, crashed) {
		t.Fatalf("first run: %v, want the simulated crash", err)
	}
	p.mustRun() // a duplicate would stop with a divergence error
	p.same("t")
}

// staleHistoryWithoutRowMetadata: without binlog_row_metadata=FULL an
// event older than two DDLs the stream has not read yet cannot be decoded
// exactly from the (newer) information_schema; the stream must stop with a
// clear error instead of writing values into the wrong columns.
func staleHistoryWithoutRowMetadata(t *testing.T, priv *testenv.MariaDB) {
	p := newPipeOn(t, priv, "CREATE TABLE t (id INT PRIMARY KEY, a INT, b DATE)")
	p.source("INSERT INTO t VALUES (1, 1, '2020-01-01')",
		"ALTER TABLE t ADD COLUMN c INT", "INSERT INTO t VALUES (2, 2, '2020-01-02', 2)",
		"ALTER TABLE t DROP COLUMN a", "INSERT INTO t VALUES (3, '2020-01-03', 3)")
	err := p.run()
	if err == nil || !strings.Contains(err.Error(), "the history is stale (DDL not seen); set binlog_row_metadata=FULL on the source and re-snapshot the table") {
		t.Fatalf("got %v, want the stale-history error", err)
	}
}

// TestCrashAfterNonIdempotentDDL: "ADD INDEX (a)" succeeds again when re-run
// (a second index a_2); the resumed run must see from the recorded target
// definition that it already ran and not run it twice.
func TestCrashAfterNonIdempotentDDL(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, a INT)")
	p.source("INSERT INTO t VALUES (1, 1)", "ALTER TABLE t ADD INDEX (a)", "INSERT INTO t VALUES (2, 2)")
	crashed := errors.New("simulated crash")
	apply.CrashHook = func(point string) error {
		if point == "ddl-before-checkpoint" {
			return crashed
		}
		return nil
	}
	err := p.run()
	apply.CrashHook = nil
	if !errors.Is(err, crashed) {
		t.Fatalf("first run: %v, want the simulated crash", err)
	}
	p.mustRun()
	p.same("t")
	var n int
	if err := p.tgt.QueryRow(`SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't'`, p.db).Scan(&n); err != nil || n != 2 {
		t.Fatalf("target has %d indexes on t (%v), want 2 (PRIMARY and a): the DDL ran twice", n, err)
	}
}
