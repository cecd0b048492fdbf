package snapshot_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator/binlog"
	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/chunk"
	"github.com/evac-dev/evac/replicator/snapshot"
)

// TestChunksMatchBinlogPrefix checks the pairing itself: the state implied
// by the binlog (initial dump + every event up to the chunk's claimed
// position) must equal each emitted chunk, for >= 2,000 chunks copied
// while writers change the tables.
func TestChunksMatchBinlogPrefix(t *testing.T) {
	testenv.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	db := testenv.FreshDatabase(t)
	src, tgt := testenv.SourceDB(t), testenv.TargetDB(t)
	tables := []string{"t1", "t2"}
	for _, tb := range tables {
		testenv.Exec(t, src, fmt.Sprintf("CREATE TABLE `%s`.%s (id BIGINT PRIMARY KEY, k INT NOT NULL, v VARBINARY(40)) ENGINE=InnoDB", db, tb))
		testenv.Exec(t, src, fmt.Sprintf("INSERT INTO `%s`.%s SELECT seq, seq, CONCAT('v', seq) FROM `%s`.seq_1_to_4500", db, tb, db))
	}
	dsn, _ := chunk.SessionDSN(testenv.SourceDSN(t))
	sdb, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if err := snapshot.EnsureTargetTables(ctx, tgt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = tgt.Exec("DELETE FROM evac_meta.snapshot_chunk WHERE stream_id=?", db) })
	start, err := binlog.CurrentPosition(ctx, src, "mariadb")
	if err != nil {
		t.Fatal(err)
	}
	model := map[string]map[int64]string{}
	for _, tb := range tables {
		model[tb] = initial(t, src, db, tb)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(seed uint64) { defer wg.Done(); write(src, db, tables, seed, stop) }(uint64(w + 1))
	}
	defer func() { close(stop); wg.Wait() }()

	st, err := binlog.Open(ctx, binlog.Config{SourceDSN: testenv.SourceDSN(t), ServerID: 2_000_000 + uint32(rand.IntN(1e9)), Start: start,
		Include: func(id change.TableID) bool { return id.Schema == db }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var specs []snapshot.TableSpec
	for _, tb := range tables {
		specs = append(specs, snapshot.TableSpec{ID: change.TableID{Schema: db, Name: tb}})
	}
	co, err := snapshot.New(ctx, snapshot.Config{StreamID: db, Source: sdb, Target: tgt, Tables: specs, Workers: 8, Chunk: chunk.Options{TargetRows: 4}})
	if err != nil {
		t.Fatal(err)
	}
	rerr := make(chan error, 1)
	go func() { rerr <- co.RunReaders(ctx) }()

	chunks, mismatches := 0, 0
	for {
		select {
		case <-co.Done():
			if err := <-rerr; err != nil {
				t.Fatal(err)
			}
			t.Logf("chunks checked: %d, mismatches: %d", chunks, mismatches)
			if mismatches != 0 || chunks < 2000 {
				t.Fatalf("%d mismatches over %d chunks (want 0 over >= 2000)", mismatches, chunks)
			}
			return
		default:
		}
		txn, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range txn.Rows {
			if r.Table.Schema == db {
				applyModel(model[r.Table.Name], r)
			}
		}
		res, err := co.Process(ctx, txn)
		if err != nil {
			t.Fatal(err)
		}
		for i, ch := range res.Ranges {
			chunks++
			if d := compare(model[ch.Key.Table], ch, res.Chunks[i].Rows); d != "" {
				mismatches++
				t.Errorf("chunk %s at %s: %s", ch, txn.Pos, d)
			}
		}
	}
}

func rowText(vals []any) (int64, string) {
	parts := make([]string, len(vals))
	for i, v := range vals {
		if b, ok := v.([]byte); ok {
			parts[i] = string(b)
		} else {
			parts[i] = fmt.Sprint(v)
		}
	}
	id, _ := vals[0].(int64)
	return id, strings.Join(parts, "|")
}

func initial(t *testing.T, db *sql.DB, schema, table string) map[int64]string {
	rows, err := db.Query(fmt.Sprintf("SELECT id, k, v FROM `%s`.%s", schema, table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[int64]string{}
	for rows.Next() {
		var id, k int64
		var v []byte
		if err := rows.Scan(&id, &k, &v); err != nil {
			t.Fatal(err)
		}
		m[id] = fmt.Sprintf("%d|%d|%s", id, k, v)
	}
	return m
}

func applyModel(m map[int64]string, r change.Row) {
	if r.Before != nil {
		id, _ := rowText(r.Before)
		delete(m, id)
	}
	if r.After != nil {
		id, s := rowText(r.After)
		m[id] = s
	}
}

// compare returns "" when the chunk's rows equal the model's rows in range.
func compare(m map[int64]string, ch chunk.Chunk, rows [][]any) string {
	got := map[int64]string{}
	for _, r := range rows {
		id, s := rowText(r)
		got[id] = s
	}
	for id, s := range m {
		in, _ := chunk.Contains(ch, []any{id})
		if in && got[id] != s {
			return fmt.Sprintf("key %d: binlog says %q, chunk has %q", id, s, got[id])
		}
	}
	for id := range got {
		if _, ok := m[id]; !ok {
			return fmt.Sprintf("key %d: in the chunk, not in the binlog state", id)
		}
	}
	return ""
}

func write(db *sql.DB, schema string, tables []string, seed uint64, stop <-chan struct{}) {
	r := rand.New(rand.NewPCG(seed, 3))
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(1+r.IntN(4)) * time.Millisecond):
		}
		tb := fmt.Sprintf("`%s`.%s", schema, tables[r.IntN(len(tables))])
		tx, err := db.Begin()
		if err != nil {
			continue
		}
		ok := true
		for i := 0; i < 1+r.IntN(3) && ok; i++ {
			a := int64(r.IntN(5000))
			var err error
			switch r.IntN(5) {
			case 0:
				_, err = tx.Exec("INSERT INTO "+tb+" VALUES (?, ?, 'ins')", a+int64(r.IntN(3))*5000, a)
			case 1:
				_, err = tx.Exec("DELETE FROM "+tb+" WHERE id = ?", a)
			case 2:
				_, err = tx.Exec("UPDATE "+tb+" SET id = ? WHERE id = ?", r.IntN(15000), a)
			default:
				_, err = tx.Exec("UPDATE "+tb+" SET k = k + 1, v = CONCAT(v, 'u') WHERE id BETWEEN ? AND ?", a, a+5)
			}
			ok = err == nil
		}
		if ok {
			_ = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
}
