package replicator_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator"
)

// env is one test's database on both servers.
type env struct {
	t        *testing.T
	db       string
	src, tgt *sql.DB
	srcDSN   string
	tgtDSN   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: testenv.FreshDatabase(t), src: testenv.SourceDB(t), tgt: testenv.TargetDB(t),
		srcDSN: testenv.SourceDSN(t), tgtDSN: testenv.TargetDSN(t)}
	// FreshDatabase creates it on the target too: evac creates it itself.
	if _, err := e.tgt.Exec("DROP DATABASE `" + e.db + "`"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, q := range []string{"snapshot_chunk", "snapshot_table", "checkpoint", "schema_history"} {
			_, _ = e.tgt.Exec("DELETE FROM evac_meta."+q+" WHERE stream_id=?", e.db)
		}
		_, _ = e.src.Exec("DELETE FROM evac_meta.watermark WHERE slot LIKE ?", e.db+"/%")
	})
	return e
}

func (e *env) source(stmts ...string) {
	e.t.Helper()
	for _, s := range stmts {
		s = strings.ReplaceAll(s, "{db}", "`"+e.db+"`")
		if _, err := e.src.Exec(s); err != nil {
			e.t.Fatalf("source: %s: %v", s, err)
		}
	}
}

func (e *env) config() replicator.Config {
	c := replicator.DefaultConfig()
	c.SourceDSN, c.TargetDSN = e.srcDSN, e.tgtDSN
	c.Databases = []string{e.db}
	c.StreamID = e.db
	c.ChunkRows = 20
	c.ChunkTime = 0
	c.UntilCaughtUp = true
	c.BatchTime = 50 * time.Millisecond
	return c
}

func (e *env) run(ctx context.Context, c replicator.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 180*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return replicator.Run(ctx, c, log)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// same asserts identical tables (ordered full-row dump and CHECKSUM TABLE).
func (e *env) same(tables ...string) {
	e.t.Helper()
	for _, tb := range tables {
		s, g := testenv.DumpTable(e.t, e.src, e.db, tb), testenv.DumpTable(e.t, e.tgt, e.db, tb)
		if strings.Join(s, "\n") != strings.Join(g, "\n") {
			e.t.Errorf("table %s differs: source %d rows, target %d rows%s", tb, len(s), len(g), firstDiff(s, g))
		}
		var n1, n2 string
		var c1, c2 sql.NullInt64
		q := fmt.Sprintf("CHECKSUM TABLE `%s`.`%s`", e.db, tb)
		if err := e.src.QueryRow(q).Scan(&n1, &c1); err != nil {
			e.t.Fatal(err)
		}
		if err := e.tgt.QueryRow(q).Scan(&n2, &c2); err != nil {
			e.t.Fatal(err)
		}
		if c1 != c2 {
			e.t.Errorf("table %s: CHECKSUM TABLE source %v, target %v", tb, c1, c2)
		}
	}
}

func firstDiff(a, b []string) string {
	sa, sb := map[string]bool{}, map[string]bool{}
	for _, x := range a {
		sa[x] = true
	}
	for _, x := range b {
		sb[x] = true
	}
	var out []string
	for _, x := range a {
		if !sb[x] && len(out) < 5 {
			out = append(out, "\n  missing on target: "+x)
		}
	}
	for _, x := range b {
		if !sa[x] && len(out) < 10 {
			out = append(out, "\n  extra on target:   "+x)
		}
	}
	return strings.Join(out, "")
}
