package verify

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// TestTablesLiveReplicaNoFalsePositives runs verification while a writer
// changes the source and native replication applies it: five consecutive
// runs must PASS; then a difference planted on the target is reported.
func TestTablesLiveReplicaNoFalsePositives(t *testing.T) {
	p := startPair(t)
	load(t, p.srcRoot, schemaSQL)
	p.sync(t)
	ctx, cancel := context.WithCancel(context.Background())
	var writes atomic.Int64
	var g errgroup.Group
	g.Go(func() error { return writer(ctx, p, &writes) })
	defer func() {
		cancel()
		if err := g.Wait(); err != nil && ctx.Err() == nil {
			t.Errorf("writer: %v", err)
		}
	}()
	// At least five consecutive runs, and as many more as it takes for the
	// writer to make 100 writes during them (a fast run sees only a few).
	start := writes.Load()
	for run := 1; run <= 5 || (writes.Load()-start < 100 && run <= 50); run++ {
		before := writes.Load()
		res, _, err := Tables(context.Background(), p.src, p.dst, testOptions(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Status != StatusMatch {
				t.Fatalf("run %d: false positive: %s %s %+v", run, r.Table, r.Status, r.Diffs)
			}
		}
		t.Logf("run %d PASS with %d source writes during the run", run, writes.Load()-before)
	}
	if writes.Load()-start < 100 {
		t.Fatalf("writer made only %d writes during the runs: the test proves nothing", writes.Load()-start)
	}
	// id 5999 is never touched by the writer.
	load(t, p.dstRoot, "UPDATE vt.t1 SET val = -1 WHERE id = 5999;")
	res, _, err := Tables(context.Background(), p.src, p.dst, testOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		switch {
		case r.Table == "vt.t1" && (len(r.Diffs) != 1 || r.Diffs[0].Key["id"] != "5999"):
			t.Fatalf("planted difference: got %+v", r.Diffs)
		case r.Table != "vt.t1" && r.Status != StatusMatch:
			t.Fatalf("%s: false positive %+v", r.Table, r.Diffs)
		}
	}
}

// writer updates, inserts and deletes rows of vt.t1 (ids < 5990 or new
// ones above 200000) and vt.c until ctx ends.
func writer(ctx context.Context, p *pair, n *atomic.Int64) error {
	next := int64(200000)
	for ctx.Err() == nil {
		id := rand.IntN(5980) + 1
		var err error
		switch rand.IntN(4) {
		case 0:
			_, err = p.srcRoot.ExecContext(ctx, "UPDATE vt.t1 SET val = val + 1, d = NOW(6) WHERE id = ?", id)
		case 1:
			next++
			_, err = p.srcRoot.ExecContext(ctx, "INSERT INTO vt.t1 (id, name, val) VALUES (?, 'w', 1)", next)
		case 2:
			_, err = p.srcRoot.ExecContext(ctx, "DELETE FROM vt.t1 WHERE id = ?", id)
		default:
			_, err = p.srcRoot.ExecContext(ctx, "UPDATE vt.c SET v = CONCAT(v, 'w') WHERE b = ?", rand.IntN(2000)+1)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		n.Add(1)
		time.Sleep(time.Millisecond)
	}
	return nil
}
