package replicator_test

import (
	"context"
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
)

// TestReplicateBasic: snapshot of an idle source, then stream changes.
func TestReplicateBasic(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source(
		"CREATE TABLE {db}.p (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET latin1, f DOUBLE) ENGINE=InnoDB",
		"CREATE TABLE {db}.c (id INT PRIMARY KEY, pid INT, v VARBINARY(10), FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE) ENGINE=InnoDB",
		"INSERT INTO {db}.p SELECT seq, CONCAT('n\u00e9', seq), seq/3 FROM {db}.seq_1_to_500",
		"INSERT INTO {db}.c SELECT seq, seq % 500 + 1, UNHEX('00ff00') FROM {db}.seq_1_to_700",
	)
	if err := e.run(context.Background(), e.config()); err != nil {
		t.Fatal(err)
	}
	e.same("p", "c")
}
