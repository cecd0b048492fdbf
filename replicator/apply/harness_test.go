package apply_test

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator/apply"
	"github.com/evac-dev/evac/replicator/binlog"
	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/position"
)

// pipe drives stream -> applier directly (no snapshot) for one database.
type pipe struct {
	t        *testing.T
	db       string
	src, tgt *sql.DB
	srcDSN   string
	tgtDSN   string
	start    position.Position
	streamID string
	batch    int // source transactions per target transaction (default 50)
}

func newPipe(t *testing.T, schema ...string) *pipe {
	t.Helper()
	return newPipeOn(t, nil, schema...)
}

// newPipeOn uses a private source server when priv is not nil.
func newPipeOn(t *testing.T, priv *testenv.MariaDB, schema ...string) *pipe {
	t.Helper()
	p := &pipe{t: t, db: testenv.FreshDatabase(t), src: testenv.SourceDB(t), tgt: testenv.TargetDB(t),
		srcDSN: testenv.SourceDSN(t), tgtDSN: testenv.TargetDSN(t)}
	if priv != nil {
		p.srcDSN = priv.DSN
		p.src = testenv.OpenDB(t, "private source", priv.DSN)
		if _, err := p.src.Exec("CREATE DATABASE `" + p.db + "`"); err != nil {
			t.Fatal(err)
		}
	}
	p.streamID = p.db
	for _, s := range schema {
		p.both(s)
	}
	p.start = p.sourcePos()
	return p
}

// both runs a statement on source and target (in the test database), with
// binary logging off on the source so the stream does not see it.
func (p *pipe) both(q string) {
	p.t.Helper()
	for _, db := range []*sql.DB{p.src, p.tgt} {
		conn, err := db.Conn(context.Background())
		if err != nil {
			p.t.Fatal(err)
		}
		for _, s := range []string{"SET SESSION sql_log_bin=0", "USE `" + p.db + "`", q, "SET SESSION sql_log_bin=1"} {
			if _, err := conn.ExecContext(context.Background(), s); err != nil {
				p.t.Fatalf("%s: %v", s, err)
			}
		}
		_ = conn.Close()
	}
}

// source runs statements on one source connection in the test database.
func (p *pipe) source(stmts ...string) {
	p.t.Helper()
	conn, err := p.src.Conn(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "USE `"+p.db+"`"); err != nil {
		p.t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(context.Background(), s); err != nil {
			p.t.Fatalf("source: %s: %v", s, err)
		}
	}
}

// sourceGTID runs statements like source and returns the GTID of the last
// one's transaction (MariaDB @@last_gtid).
func (p *pipe) sourceGTID(stmts ...string) string {
	p.t.Helper()
	conn, err := p.src.Conn(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range append([]string{"USE `" + p.db + "`"}, stmts...) {
		if _, err := conn.ExecContext(context.Background(), s); err != nil {
			p.t.Fatalf("source: %s: %v", s, err)
		}
	}
	var g string
	if err := conn.QueryRowContext(context.Background(), "SELECT @@last_gtid").Scan(&g); err != nil {
		p.t.Fatal(err)
	}
	return g
}

func (p *pipe) sourcePos() position.Position {
	p.t.Helper()
	pos, err := binlog.CurrentPosition(context.Background(), p.src, "mariadb")
	if err != nil {
		p.t.Fatal(err)
	}
	return pos
}

func (p *pipe) applier() *apply.Applier {
	p.t.Helper()
	a, err := apply.New(context.Background(), apply.Config{TargetDSN: p.tgtDSN, StreamID: p.streamID,
		SourceSQLMode: "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = a.Close() })
	return a
}

// run streams from the checkpoint (or p.start) and applies one Txn per
// batch until the source position captured now is reached. It returns the
// first apply error.
func (p *pipe) run() error {
	p.t.Helper()
	until := p.sourcePos()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := p.applier()
	start := p.start
	if cp, ok, err := a.LoadCheckpoint(ctx); err != nil {
		p.t.Fatal(err)
	} else if ok && cp.Pos != "" {
		start = position.MustParse(cp.Pos)
	}
	p.t.Logf("start %s until %s", start, until)
	if start.Contains(until) {
		return nil
	}
	s, err := binlog.Open(ctx, binlog.Config{SourceDSN: p.srcDSN, ServerID: 1000 + rand.Uint32N(1<<30),
		Start: start, Include: func(id change.TableID) bool { return id.Schema == p.db },
		History: binlog.NewHistory(p.streamID, a.DB())})
	if err != nil {
		p.t.Fatal(err)
	}
	defer s.Close()
	var batch []change.Txn
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := a.Apply(ctx, apply.Batch{Txns: batch})
		batch = nil
		return err
	}
	for {
		txn, err := s.Next(ctx)
		if err != nil {
			return err
		}
		if len(txn.Rows) > 0 || txn.DDL != nil {
			p.t.Logf("txn %s rows=%d ddl=%v", txn.Pos, len(txn.Rows), txn.DDL != nil)
		}
		if txn.DDL != nil {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, txn)
		last := position.MustParse(txn.Pos).Contains(until)
		size := p.batch
		if size == 0 {
			size = 50 // the shared source carries other tests' transactions: don't commit one target txn each
		}
		if txn.DDL != nil || len(batch) >= size || last {
			if err := flush(); err != nil {
				return err
			}
		}
		if last {
			return nil
		}
	}
}

func (p *pipe) mustRun() {
	p.t.Helper()
	if err := p.run(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pipe) same(tables ...string) {
	p.t.Helper()
	for _, tb := range tables {
		s, g := testenv.DumpTable(p.t, p.src, p.db, tb), testenv.DumpTable(p.t, p.tgt, p.db, tb)
		if strings.Join(s, "\n") != strings.Join(g, "\n") {
			p.t.Errorf("table %s differs:\nsource (%d rows):\n%s\ntarget (%d rows):\n%s", tb, len(s), strings.Join(s, "\n"), len(g), strings.Join(g, "\n"))
		}
	}
}

func divergence(err error) *apply.DivergenceError {
	var d *apply.DivergenceError
	if errors.As(err, &d) {
		return d
	}
	return nil
}
