package replicator_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator/apply"
)

var workloadSchema = []string{
	"CREATE TABLE {db}.parent (id INT PRIMARY KEY, name VARCHAR(30) CHARACTER SET latin1) ENGINE=InnoDB",
	"CREATE TABLE {db}.child (id INT PRIMARY KEY, pid INT NOT NULL, note VARBINARY(20), KEY (pid), FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB",
	"CREATE TABLE {db}.u (id INT PRIMARY KEY, code INT NOT NULL, UNIQUE KEY (code)) ENGINE=InnoDB",
	"CREATE TABLE {db}.big (id BIGINT UNSIGNED PRIMARY KEY, payload VARCHAR(100), ts DATETIME(6)) ENGINE=InnoDB",
	"INSERT INTO {db}.parent SELECT seq, CONCAT('p', seq) FROM {db}.seq_1_to_600",
	"INSERT INTO {db}.child SELECT seq, seq % 600 + 1, UNHEX('00FF') FROM {db}.seq_1_to_1500",
	"INSERT INTO {db}.u SELECT seq, seq FROM {db}.seq_1_to_800",
	"INSERT INTO {db}.big SELECT seq, REPEAT('x', 50), '2024-01-01 00:00:00.123456' FROM {db}.seq_1_to_2000",
}

// workload runs one writer doing every kind of change the issue lists.
type workload struct {
	e       *env
	stop    chan struct{}
	wg      sync.WaitGroup
	commits atomic.Int64
	loads   atomic.Int64
}

func startWorkload(e *env) *workload {
	w := &workload{e: e, stop: make(chan struct{})}
	w.wg.Add(1)
	go w.run()
	return w
}

func (w *workload) halt() { close(w.stop); w.wg.Wait() }

func (w *workload) run() {
	defer w.wg.Done()
	r := rand.New(rand.NewPCG(42, 1))
	db := w.e.db
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
		var stmts []string
		switch i % 8 {
		case 0:
			stmts = []string{fmt.Sprintf("INSERT INTO `%s`.parent VALUES (%d, 'new')", db, 1000+i)}
		case 1: // pk change + cascade to children
			a := 1 + r.IntN(600)
			stmts = []string{fmt.Sprintf("UPDATE `%s`.parent SET id = %d WHERE id = %d", db, 100000+i, a)}
		case 2: // delete parent: cascades (not in the binlog)
			stmts = []string{fmt.Sprintf("DELETE FROM `%s`.parent WHERE id = %d", db, 1+r.IntN(600))}
		case 3: // unique-value swap in one transaction
			a, b := 1+r.IntN(800), 1+r.IntN(800)
			stmts = []string{
				fmt.Sprintf("SELECT code INTO @ca FROM `%s`.u WHERE id=%d", db, a),
				fmt.Sprintf("SELECT code INTO @cb FROM `%s`.u WHERE id=%d", db, b),
				fmt.Sprintf("UPDATE `%s`.u SET code = -1000000 - %d WHERE id = %d", db, i, a),
				fmt.Sprintf("UPDATE `%s`.u SET code = @ca WHERE id = %d", db, b),
				fmt.Sprintf("UPDATE `%s`.u SET code = @cb WHERE id = %d", db, a),
			}
		case 4:
			stmts = []string{fmt.Sprintf("INSERT INTO `%s`.child VALUES (%d, (SELECT MIN(id) FROM `%s`.parent), 'c')", db, 10000+i, db),
				fmt.Sprintf("DELETE FROM `%s`.big WHERE id = %d", db, 1+r.IntN(2000))}
		case 5:
			w.xa(i, i%16 == 5)
			continue
		case 6:
			if i == 30 || i == 1006 { // large LOAD DATA, during the snapshot and the stream
				w.load(i)
				continue
			}
			stmts = []string{fmt.Sprintf("UPDATE `%s`.big SET payload = CONCAT(payload, 'y'), ts = NOW(6) WHERE id = %d", db, 1+r.IntN(2000))}
		default:
			stmts = []string{fmt.Sprintf("UPDATE `%s`.child SET note = UNHEX('00') WHERE id = %d", db, 1+r.IntN(1500))}
		}
		w.txn(stmts)
	}
}

func (w *workload) txn(stmts []string) {
	conn, err := w.e.src.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN"); err != nil {
		return
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(context.Background(), s); err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
			return
		}
	}
	if _, err := conn.ExecContext(context.Background(), "COMMIT"); err == nil {
		w.commits.Add(1)
	}
}

// xa runs an XA transaction that commits or rolls back after PREPARE.
func (w *workload) xa(i int, rollback bool) {
	ctx := context.Background()
	conn, err := w.e.src.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	x := fmt.Sprintf("'x%s%d'", w.e.db[len(w.e.db)-6:], i)
	end := "XA COMMIT " + x
	if rollback {
		end = "XA ROLLBACK " + x
	}
	for _, s := range []string{"XA START " + x, fmt.Sprintf("INSERT INTO `%s`.u VALUES (%d, %d)", w.e.db, 5000+i, 5000+i), "XA END " + x, "XA PREPARE " + x, end} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return
		}
	}
}

// load runs a large LOAD DATA (20,000 rows in one transaction).
func (w *workload) load(i int) {
	name := fmt.Sprintf("load%d_%s", i, w.e.db)
	driver.RegisterReaderHandler(name, func() io.Reader {
		var b strings.Builder
		for k := 0; k < 20000; k++ {
			fmt.Fprintf(&b, "%d\tload%d\t2020-02-29 12:00:00.000001\n", 10_000_000+i*100000+k, k)
		}
		return strings.NewReader(b.String())
	})
	defer driver.DeregisterReaderHandler(name)
	_, err := w.e.src.Exec(fmt.Sprintf("LOAD DATA LOCAL INFILE 'Reader::%s' INTO TABLE `%s`.big (id, payload, ts)", name, w.e.db))
	if err == nil {
		w.loads.Add(1)
	}
}

var workloadTables = []string{"parent", "child", "u", "big"}

// TestWorkloadUntilCaughtUp: a writer runs during snapshot and stream; one
// run is crashed mid-chunk (chunk rows written, commit not done); after
// --until-caught-up both sides are identical.
func TestWorkloadUntilCaughtUp(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source(workloadSchema...)
	w := startWorkload(e)
	var batches atomic.Int64
	apply.CrashHook = func(point string) error {
		if point == "rows-before-commit" && batches.Add(1) == 6 {
			return errors.New("crash point: mid-chunk, rows written, not committed")
		}
		return nil
	}
	c := e.config()
	c.ChunkRows = 100
	err := e.run(context.Background(), c)
	apply.CrashHook = nil
	if err == nil || !strings.Contains(err.Error(), "crash point") {
		w.halt()
		t.Fatalf("first run: want the crash point, got %v", err)
	}
	if err := e.run(context.Background(), c); err != nil { // resumes at the next chunk
		w.halt()
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); (w.loads.Load() == 0 || w.commits.Load() < 300) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // let the writer reach its LOAD DATA and enough changes
	}
	w.halt()
	if err := e.run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Logf("writer commits %d, LOAD DATA %d", w.commits.Load(), w.loads.Load())
	if w.loads.Load() == 0 {
		t.Error("no LOAD DATA ran")
	}
	e.same(workloadTables...)
	noDuplicates(t, e.tgt, e.db, "evac_meta.snapshot_chunk")
}

func noDuplicates(t *testing.T, db *sql.DB, stream, table string) {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM (SELECT db, tbl, lo FROM "+table+" WHERE stream_id=? GROUP BY db, tbl, lo HAVING COUNT(*) > 1) d", stream).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d chunks were copied twice", n)
	}
}
