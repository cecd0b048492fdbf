package apply_test

import (
	"github.com/evac-dev/evac/internal/testenv"
	"strings"
	"testing"
)

// TestXA: an XA PREPARE group is held until its XA COMMIT (delivered at the
// commit's position) or dropped at XA ROLLBACK.
func TestXA(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	// xids are server-wide: make them unique to this test's database
	x := func(s string) string { return strings.ReplaceAll(s, "'x", "'"+p.db[len(p.db)-8:]) }
	c1, err := p.src.Conn(t.Context()) // held: a prepared XA keeps its connection busy
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	for _, q := range []string{"USE `" + p.db + "`", x("XA START 'x1'"), "INSERT INTO t VALUES (1, 1)", x("XA END 'x1'"), x("XA PREPARE 'x1'")} {
		if _, err := c1.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	p.source("INSERT INTO t VALUES (2, 2)")
	if _, err := c1.ExecContext(t.Context(), x("XA COMMIT 'x1'")); err != nil {
		t.Fatal(err)
	}
	p.source(
		x("XA START 'x2', 'b', 7"), "INSERT INTO t VALUES (3, 3)", "UPDATE t SET v = 20 WHERE id = 2", x("XA END 'x2', 'b', 7"),
		x("XA PREPARE 'x2', 'b', 7"),
		x("XA ROLLBACK 'x2', 'b', 7"),
		x("XA START 'x3'"), "UPDATE t SET v = 10 WHERE id = 1", x("XA END 'x3'"), x("XA COMMIT 'x3' ONE PHASE"),
	)
	p.mustRun()
	p.same("t")
	if got := strings.Join(testenv.DumpTable(t, p.tgt, p.db, "t"), " "); got != "1|A 2|2" {
		t.Fatalf("target rows %q, want ids 1 (v=10) and 2 (v=2)", got)
	}
}

// TestXARestartBetweenPrepareAndCommit: the stream and applier stop after
// the XA PREPARE group was checkpointed; the resumed run must still apply
// the prepared rows at the XA COMMIT.
func TestXARestartBetweenPrepareAndCommit(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARBINARY(10))")
	xid := "'r" + p.db[len(p.db)-8:] + "'"
	c1, err := p.src.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	t.Cleanup(func() { _, _ = p.src.Exec("XA ROLLBACK " + xid) })
	for _, q := range []string{"USE `" + p.db + "`", "XA START " + xid, "INSERT INTO t VALUES (1, ''), (2, x'00ff')",
		"XA END " + xid, "XA PREPARE " + xid} {
		if _, err := c1.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	p.source("INSERT INTO t VALUES (3, 'c')")
	p.mustRun() // stops after the prepare group and the insert
	if n := len(testenv.DumpTable(t, p.tgt, p.db, "t")); n != 1 {
		t.Fatalf("after the first run the target has %d rows, want 1 (the prepared rows wait)", n)
	}
	if _, err := c1.ExecContext(t.Context(), "XA COMMIT "+xid); err != nil {
		t.Fatal(err)
	}
	p.mustRun()
	p.same("t")
	var left int
	if err := p.tgt.QueryRow("SELECT COUNT(*) FROM evac_meta.xa_pending WHERE stream_id = ?", p.streamID).Scan(&left); err != nil || left != 0 {
		t.Fatalf("xa_pending rows left: %d, %v", left, err)
	}
}
