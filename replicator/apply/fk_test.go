package apply_test

import "testing"

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
	p.same("s")
	if n := len(dump(t, p.tgt, p.db, "s")); n != 1 {
		t.Fatalf("s has %d rows on the target, want 1", n)
	}
}
