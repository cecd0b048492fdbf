package apply_test

import "testing"

func TestStreamApplyBasic(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20), n INT UNSIGNED)")
	p.source(
		"INSERT INTO t VALUES (1,'a',1),(2,'b',4294967295),(3,'c',NULL)",
		"UPDATE t SET v='bb' WHERE id=2",
		"UPDATE t SET id=30 WHERE id=3",
		"DELETE FROM t WHERE id=1",
		"BEGIN", "INSERT INTO t VALUES (4,'d',4)", "INSERT INTO t VALUES (5,'e',5)", "DELETE FROM t WHERE id=4", "COMMIT",
	)
	p.mustRun()
	p.same("t")
}
