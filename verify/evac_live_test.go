package verify

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator"
)

// TestTablesLiveEvacReplicator: evac's own replicator copies a private
// source to a private target while a writer runs; verify waits on evac's
// checkpoint. Five consecutive runs PASS, then a planted difference on the
// target is reported by key.
func TestTablesLiveEvacReplicator(t *testing.T) {
	testenv.Require(t)
	ms := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true})
	mt := testenv.StartMariaDB(t, testenv.MariaDBOptions{})
	p := &pair{srcRoot: testenv.OpenDB(t, "private source", ms.DSN), dstRoot: testenv.OpenDB(t, "private target", mt.DSN)}
	p.src, p.dst = mustOpen(t, ms.DSN), mustOpen(t, mt.DSN)
	script := schemaSQL[:strings.Index(schemaSQL, "CREATE TABLE vt.k")] + schemaSQL[strings.Index(schemaSQL, "CREATE TABLE vt.c"):]
	script = strings.Replace(script, "INSERT INTO vt.k SELECT seq % 50, CONCAT('v', seq % 50) FROM vt.seq_1_to_200;", "", 1)
	load(t, p.srcRoot, script)

	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	var writes atomic.Int64
	cfg := replicator.DefaultConfig()
	cfg.SourceDSN, cfg.TargetDSN, cfg.Databases = ms.DSN, mt.DSN, []string{"vt"}
	cfg.BatchTime = 20 * time.Millisecond
	g.Go(func() error {
		err := replicator.Run(ctx, cfg, slog.New(slog.DiscardHandler))
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return nil
		}
		return err
	})
	g.Go(func() error { return writer(ctx, p, &writes) })
	defer func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("replicator or writer: %v", err)
		}
	}()

	opt := testOptions()
	opt.WaitTimeout = 30 * time.Second
	var lag *LagSampler
	defer func() {
		if lag != nil {
			lag.Stop()
		}
	}()
	deadline := time.Now().Add(90 * time.Second)
	for pass := 0; pass < 5; {
		res, notes, err := Tables(context.Background(), p.src, p.dst, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		ok := allMatch(res)
		switch {
		case ok:
			pass++
			if lag == nil {
				lag = StartLagSampler(context.Background(), p.src, p.dst, 100*time.Millisecond)
			}
			if !strings.Contains(strings.Join(notes, ";"), "evac checkpoint") {
				t.Fatalf("verify did not use evac's checkpoint: %v", notes)
			}
		case pass > 0:
			t.Fatalf("run %d after PASS: false positive %+v", pass+1, res)
		case time.Now().After(deadline):
			t.Fatalf("the snapshot never completed: %+v", res)
		default:
			time.Sleep(500 * time.Millisecond) // snapshot still running
		}
	}
	if writes.Load() < 100 {
		t.Fatalf("writer made only %d writes", writes.Load())
	}
	if lag == nil {
		t.Fatal("no lag source found on a target evac replicates to")
	}
	l := lag.Stop()
	lag = nil
	if l.Method != "evac-heartbeat" || l.Samples < 3 || l.MaxMS > 10000 {
		t.Fatalf("lag while replicating: %+v, want evac-heartbeat samples bounded under 10 s", l)
	}
	b := MeasureBehind(context.Background(), p.src, p.dst, l.NowMS)
	if b == nil || b.Transactions == nil || b.PositionKind != "mariadb-gtid" {
		t.Fatalf("behind: %+v", b)
	}
	t.Logf("lag p50 %.0fms p99 %.0fms max %.0fms; behind %d transactions", l.P50MS, l.P99MS, l.MaxMS, *b.Transactions)
	testenv.Exec(t, p.dstRoot, "UPDATE vt.t1 SET val = -1 WHERE id = 5999")
	res, _, err := Tables(context.Background(), p.src, p.dst, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := byName(res, "vt.t1"); len(r.Diffs) != 1 || r.Diffs[0].Key["id"] != "5999" || r.Diffs[0].Columns[0] != "val" {
		t.Fatalf("planted difference: %+v", r.Diffs)
	}
}

func allMatch(res []TableResult) bool {
	for _, r := range res {
		if r.Status != StatusMatch {
			return false
		}
	}
	return len(res) > 0
}
