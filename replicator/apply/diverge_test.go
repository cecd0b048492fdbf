package apply_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/evac-dev/evac/replicator/change"
)

func TestDivergence(t *testing.T) {
	tests := []struct {
		name    string
		target  string // run on the target only, before streaming
		source  string
		op      change.Op
		key     string
		message string
	}{
		{"duplicate insert", "INSERT INTO t VALUES (5, 0)", "INSERT INTO t VALUES (5, 5)", change.Insert,
			"Duplicate entry '5' for key 'PRIMARY'",
			"target diverged from source: insert on %s.t key (Duplicate entry '5' for key 'PRIMARY') at source position %s: Error 1062 (23000): Duplicate entry '5' for key 'PRIMARY'; the target was changed outside evac or the start position is wrong: re-snapshot the table (evac replicate --snapshot auto)"},
		{"update missing", "DELETE FROM t WHERE id = 1", "UPDATE t SET v = 9 WHERE id = 1", change.Update, "id=1",
			"target diverged from source: update on %s.t key (id=1) at source position %s: 0 of 1 rows matched; the target was changed outside evac or the start position is wrong: re-snapshot the table (evac replicate --snapshot auto)"},
		{"delete missing", "DELETE FROM t WHERE id = 2", "DELETE FROM t WHERE id IN (1, 2)", change.Delete, "id=2",
			"target diverged from source: delete on %s.t key (id=2) at source position %s: 0 of 1 rows matched; the target was changed outside evac or the start position is wrong: re-snapshot the table (evac replicate --snapshot auto)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1), (2, 2)")
			conn, _ := p.tgt.Conn(t.Context())
			if _, err := conn.ExecContext(t.Context(), "USE `"+p.db+"`"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(t.Context(), tt.target); err != nil {
				t.Fatal(err)
			}
			_ = conn.Close()
			pos := p.sourceGTID(tt.source) // single-domain server: the position after it is its GTID
			err := p.run()
			d := divergence(err)
			if d == nil {
				t.Fatalf("got %v, want a divergence error", err)
			}
			if d.Op != tt.op || d.Key != tt.key || d.Pos != pos {
				t.Errorf("divergence %+v, want op %s key %q pos %s", d, tt.op, tt.key, pos)
			}
			want := fmt.Sprintf(tt.message, p.db, pos)
			if err.Error() != want {
				t.Errorf("error text:\n got %s\nwant %s", err, want)
			}
		})
	}
}

func TestStatementDMLRefused(t *testing.T) {
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	p.source("SET SESSION binlog_format = 'STATEMENT'", "INSERT INTO t VALUES (1, 1)", "SET SESSION binlog_format = 'ROW'")
	err := p.run()
	re := regexp.MustCompile(`^source wrote DML as a statement at mysql-bin\.\d+:\d+ \("INSERT INTO t VALUES \(1, 1\)"\): evac needs binlog_format=ROW: SET GLOBAL binlog_format=ROW, restart the writers, and re-snapshot the affected tables$`)
	if err == nil || !re.MatchString(err.Error()) {
		t.Fatalf("got %v, want the STATEMENT-format error", err)
	}
}
