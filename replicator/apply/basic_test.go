package apply_test

import (
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator/apply"
	"github.com/evac-dev/evac/replicator/meta"
)

func TestStreamApplyBasic(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20), n INT UNSIGNED)")
	p.source(
		"INSERT INTO t VALUES (1,'a',1),(2,'b',4294967295),(3,'c',NULL)",
		"UPDATE t SET v='bb' WHERE id=2",
		"UPDATE t SET id=30 WHERE id=3",
		"DELETE FROM t WHERE id=1",
		"BEGIN", "INSERT INTO t VALUES (4,'d',4)", "INSERT INTO t VALUES (5,'e',5)", "DELETE FROM t WHERE id=4", "COMMIT",
		"UPDATE t SET v=v WHERE id=2", // identical values still match (CLIENT_FOUND_ROWS)
	)
	p.batch = 1 // one target transaction per source transaction
	p.mustRun()
	p.same("t")
}

// TestUniqueKeySwaps: a primary key plus another unique key, values swapped
// inside one transaction and rows re-inserted under a freed unique value.
// Plain statements in source order reproduce it; REPLACE or ODKU could
// delete or rewrite the wrong row here.
func TestUniqueKeySwaps(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, u INT, v VARCHAR(10), UNIQUE KEY (u))")
	p.source(
		"INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c')",
		"BEGIN", "UPDATE t SET u = NULL WHERE id = 1", "UPDATE t SET u = 10 WHERE id = 2", "UPDATE t SET u = 20 WHERE id = 1", "COMMIT",
		"BEGIN", "DELETE FROM t WHERE id = 3", "INSERT INTO t VALUES (4, 30, 'd')", "UPDATE t SET id = 3 WHERE id = 4", "COMMIT",
		"UPDATE t SET u = u + 100", // one statement, several rows
	)
	p.batch = 5
	p.mustRun()
	p.same("t")
}

// heartbeatRecorded: heartbeat rows flow through the stream and end in
// evac_meta.checkpoint.heartbeat_ts, never written as data.
// (run on a private source: the shared one has other tests' heartbeat
// writers)
func heartbeatRecorded(t *testing.T, priv *testenv.MariaDB) {
	p := newPipeOn(t, priv, "CREATE TABLE t (id INT PRIMARY KEY)")
	if err := meta.EnsureSource(t.Context(), p.src); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
	if _, err := p.src.Exec("INSERT INTO evac_meta.heartbeat (id, ts) VALUES (1, ?) ON DUPLICATE KEY UPDATE ts = VALUES(ts)",
		ts.Format("2006-01-02 15:04:05.000000")); err != nil {
		t.Fatal(err)
	}
	p.source("INSERT INTO t VALUES (1)")
	p.mustRun()
	cp, ok, err := apply.LoadCheckpoint(t.Context(), p.tgt, p.streamID)
	if err != nil || !ok || !cp.HeartbeatTS.Equal(ts) {
		t.Fatalf("checkpoint %+v %v %v: heartbeat_ts should be %v", cp, ok, err, ts)
	}
	p.same("t")
}

// TestBinaryAndCharKeys: rows addressed by BINARY keys with trailing zero
// bytes and CHAR keys with trailing spaces (the binlog may store them
// trimmed) are still found by UPDATE/DELETE.
func TestBinaryAndCharKeys(t *testing.T) {
	t.Run("full-metadata", func(t *testing.T) { binaryAndCharKeys(t, nil) })
}

func binaryAndCharKeys(t *testing.T, priv *testenv.MariaDB) {
	p := newPipeOn(t, priv, "CREATE TABLE b (k BINARY(4) PRIMARY KEY, v INT)",
		"CREATE TABLE c (k CHAR(5) CHARACTER SET latin1 PRIMARY KEY, v INT)",
		"CREATE TABLE d (k DECIMAL(10,3), f DOUBLE, dt DATETIME(3), PRIMARY KEY (k, dt), v INT)")
	p.source(
		"INSERT INTO b VALUES (x'61000000', 1), (x'00000000', 2), (x'6101', 3)",
		"UPDATE b SET v = 10 WHERE k = x'61000000'", "DELETE FROM b WHERE k = x'00000000'",
		"UPDATE b SET k = x'62000000' WHERE k = x'61000000'",
		"INSERT INTO c VALUES ('a  ', 1), ('b', 2)", "UPDATE c SET v = 9 WHERE k = 'a'", "DELETE FROM c WHERE k = 'b'",
		"INSERT INTO d VALUES (1.500, 0.1, '2020-01-01 00:00:00.100', 1)", "UPDATE d SET v = 2", "DELETE FROM d",
	)
	p.mustRun()
	p.same("b", "c", "d")
}
