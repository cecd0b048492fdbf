package replicator_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
)

// TestRefuseForeignKeyCycle: a two-table cycle (plus a table that only
// depends on it) is refused before anything is written, naming the keys
// that close the cycle and the one that can be dropped without losing a
// cascade.
func TestRefuseForeignKeyCycle(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source(
		"CREATE TABLE {db}.a (id INT PRIMARY KEY, bid INT, KEY (bid)) ENGINE=InnoDB",
		"CREATE TABLE {db}.b (id INT PRIMARY KEY, aid INT, KEY (aid), CONSTRAINT fk_ba FOREIGN KEY (aid) REFERENCES a (id)) ENGINE=InnoDB",
		"ALTER TABLE {db}.a ADD CONSTRAINT fk_ab FOREIGN KEY (bid) REFERENCES b (id) ON DELETE CASCADE",
		"CREATE TABLE {db}.c (id INT PRIMARY KEY, aid INT, CONSTRAINT fk_ca FOREIGN KEY (aid) REFERENCES a (id)) ENGINE=InnoDB",
		"INSERT INTO {db}.a VALUES (1, NULL)",
		"INSERT INTO {db}.b VALUES (1, 1)",
		"UPDATE {db}.a SET bid=1 WHERE id=1",
	)
	d := e.db
	e.refused(func() error { return e.run(context.Background(), e.config()) },
		fmt.Sprintf("tables %s.a, %s.b reference each other in a foreign-key cycle through fk_ab (%s.a -> %s.b, ON DELETE CASCADE ON UPDATE RESTRICT), fk_ba (%s.b -> %s.a, ON DELETE RESTRICT ON UPDATE RESTRICT);", d, d, d, d, d, d),
		fmt.Sprintf("ALTER TABLE `%s`.`b` DROP FOREIGN KEY `fk_ba`; re-add it on both sides after cutover), or exclude", d),
		"exclude the tables with --exclude-tables and copy them separately",
	)
}
