package apply_test

import (
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
)

// TestForeignKeyCascades: cascaded changes are not in MariaDB's binlog; the
// target reproduces them from its own FK definitions.
func TestForeignKeyCascades(t *testing.T) {
	p := newPipe(t,
		"CREATE TABLE p (id INT PRIMARY KEY, code INT NOT NULL, UNIQUE KEY (code)) ENGINE=InnoDB",
		"CREATE TABLE c (id INT PRIMARY KEY, pid INT, pcode INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE, "+
			"FOREIGN KEY (pcode) REFERENCES p (code) ON UPDATE CASCADE ON DELETE SET NULL) ENGINE=InnoDB",
		"CREATE TABLE s (id INT PRIMARY KEY, parent INT, FOREIGN KEY (parent) REFERENCES s (id) ON DELETE CASCADE) ENGINE=InnoDB",
	)
	p.source(
		"INSERT INTO p VALUES (1, 10), (2, 20), (3, 30)",
		"INSERT INTO c VALUES (100, 1, 10), (101, 2, 20), (102, 3, 30), (103, NULL, 30)",
		"INSERT INTO s VALUES (1, NULL), (2, 1), (3, 2), (4, NULL)",
		"DELETE FROM p WHERE id = 1",          // cascades c.100
		"UPDATE p SET code = 33 WHERE id = 3", // cascades c.102/103 pcode
		"DELETE FROM c WHERE id = 101",
		"DELETE FROM p WHERE id = 2",
	)
	p.mustRun()
	p.same("p", "c", "s")
	p.source("DELETE FROM s WHERE id = 1") // self-reference: cascades 2 and 3
	p.mustRun()
	// child then parent, explicitly, in one transaction: a merged
	// DELETE ... IN (6, 5) would cascade 6 away through 5 first
	p.source("INSERT INTO s VALUES (5, NULL), (6, 5), (7, NULL)", "BEGIN", "DELETE FROM s WHERE id = 6", "DELETE FROM s WHERE id = 5", "COMMIT")
	p.mustRun()
	p.same("s")
	// a session with foreign_key_checks=0 on the source: no cascade there,
	// so none on the target either (the rows event carries the flag)
	p.source("INSERT INTO p VALUES (9, 90)", "INSERT INTO c VALUES (109, 9, 90)",
		"SET SESSION foreign_key_checks = 0", "DELETE FROM p WHERE id = 9", "INSERT INTO c VALUES (110, 77, NULL)",
		"SET SESSION foreign_key_checks = 1", "DELETE FROM c WHERE id = 103")
	p.mustRun()
	p.same("p", "c")
	if n := len(testenv.DumpTable(t, p.tgt, p.db, "s")); n != 2 {
		t.Fatalf("s has %d rows on the target, want 2 (4 and 7)", n)
	}
}
