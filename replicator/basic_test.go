package replicator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/replicator"

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
	c := e.config()
	var status bytes.Buffer
	c.JSON, c.Status, c.StatusEvery = true, &status, 100*time.Millisecond
	if err := e.run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	e.same("p", "c")
	lines := strings.Split(strings.TrimSpace(status.String()), "\n")
	var last replicator.Status
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("status line %q: %v", lines[len(lines)-1], err)
	}
	if last.AppliedPosition == "" || last.RowsApplied < 1200 || len(last.Snapshot) != 2 || !last.Snapshot[0].Finished {
		t.Fatalf("final status = %+v", last)
	}
	for _, k := range []string{`"applied_position"`, `"lag_ms"`, `"rows_applied"`, `"events_per_s"`, `"phase"`} {
		if !strings.Contains(lines[0], k) {
			t.Errorf("status line lacks %s: %s", k, lines[0])
		}
	}
}
