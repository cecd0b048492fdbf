package replicator_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
)

// writers runs n concurrent writers on tables until stop is closed: multi-row
// transactions, inserts past the current MAX, deletes, primary-key changes.
func writers(t *testing.T, db *sql.DB, dbName string, tables []string, n int, stop <-chan struct{}) (wait func() int64) {
	var wg sync.WaitGroup
	var commits atomic.Int64
	var next atomic.Int64
	next.Store(1_000_000)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(2+r.IntN(6)) * time.Millisecond):
				}
				tb := fmt.Sprintf("`%s`.`%s`", dbName, tables[r.IntN(len(tables))])
				tx, err := db.Begin()
				if err != nil {
					continue
				}
				ok := true
				for i := 0; i < 1+r.IntN(4) && ok; i++ {
					var q string
					var args []any
					switch r.IntN(6) {
					case 0: // insert past MAX
						q, args = "INSERT INTO "+tb+" (id, k, v) VALUES (?, ?, ?)", []any{next.Add(1), r.IntN(1000), fmt.Sprint("new", r.Int())}
					case 1: // insert in a hole
						q, args = "INSERT INTO "+tb+" (id, k, v) VALUES (?, ?, ?)", []any{r.IntN(5000), r.IntN(1000), "hole"}
					case 2:
						q, args = "DELETE FROM "+tb+" WHERE id = ?", []any{r.IntN(5000)}
					case 3: // primary-key change, both ways
						q, args = "UPDATE "+tb+" SET id = ? WHERE id = ?", []any{r.IntN(6000), r.IntN(5000)}
					case 4:
						q, args = "UPDATE "+tb+" SET v = CONCAT(v, 'x'), k = k + 1 WHERE id BETWEEN ? AND ?", nil
						a := r.IntN(5000)
						args = []any{a, a + 3}
					default:
						q, args = "UPDATE "+tb+" SET id = id + 1000000 WHERE id = ?", []any{r.IntN(5000)}
					}
					if _, err := tx.Exec(q, args...); err != nil {
						ok = false
					}
				}
				if ok && tx.Commit() == nil {
					commits.Add(1)
				} else {
					_ = tx.Rollback()
				}
			}
		}(uint64(w) + 1)
	}
	return func() int64 { wg.Wait(); return commits.Load() }
}

// TestSnapshotExactUnderWriters: 12 writers during a snapshot of 3 tables
// in >= 500 chunks; the end state is byte-identical.
func TestSnapshotExactUnderWriters(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	tables := []string{"a", "b", "c"}
	for _, tb := range tables {
		e.source(
			"CREATE TABLE {db}."+tb+" (id BIGINT PRIMARY KEY, k INT NOT NULL, v VARCHAR(200), KEY (k)) ENGINE=InnoDB",
			"INSERT INTO {db}."+tb+" SELECT seq, seq % 1000, CONCAT('v', seq) FROM {db}.seq_1_to_4000",
		)
	}
	stop := make(chan struct{})
	wait := writers(t, e.src, e.db, tables, 12, stop)
	c := e.config()
	c.ChunkRows = 20 // 3 x 4000 / 20 = 600 chunks at least
	c.SnapshotWorkers = 4
	err := e.run(context.Background(), c)
	close(stop)
	commits := wait()
	if err != nil {
		t.Fatal(err)
	}
	var chunks int
	if err := e.tgt.QueryRow("SELECT COUNT(*) FROM evac_meta.snapshot_chunk WHERE stream_id=?", e.db).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	t.Logf("writer commits: %d, chunks: %d", commits, chunks)
	if chunks < 500 {
		t.Fatalf("only %d chunks; the test needs >= 500", chunks)
	}
	// catch up what the writers did after the first run ended (resume)
	time.Sleep(100 * time.Millisecond)
	if err := e.run(context.Background(), e.config()); err != nil {
		t.Fatal(err)
	}
	e.same(tables...)
}
