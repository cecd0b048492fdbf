package chunk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
)

func openSession(t *testing.T) *sql.DB {
	t.Helper()
	dsn, err := SessionDSN(testenv.SourceDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestChunkerServerOrder chunks a composite key (case-insensitive string,
// unsigned bigint) and checks the chunks partition the table exactly, in the
// server's order, and that Locator agrees with the server's WHERE.
func TestChunkerServerOrder(t *testing.T) {
	testenv.Require(t)
	ctx := context.Background()
	dbName := testenv.FreshDatabase(t)
	db := openSession(t)
	mustExec(t, db, fmt.Sprintf("CREATE TABLE `%s`.t (s VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL, u BIGINT UNSIGNED NOT NULL, v INT, PRIMARY KEY (s, u)) ENGINE=InnoDB", dbName))
	words := []string{"a", "B", "c", "\xe4", "z", "Zz", "\xf6", "aa", "A b"}
	n := 0
	for _, w := range words {
		for _, u := range []uint64{0, 1, 1 << 63, 18446744073709551615} {
			mustExec(t, db, fmt.Sprintf("INSERT INTO `%s`.t VALUES (?, ?, ?)", dbName), []byte(w), u, n)
			n++
		}
	}
	key, err := LoadKey(ctx, db, dbName, "t")
	if err != nil {
		t.Fatal(err)
	}
	if key.Columns[0].Kind != KindString || key.Columns[1].Kind != KindUint {
		t.Fatalf("kinds = %+v", key.Columns)
	}
	c := New(db, key, Options{TargetRows: 3})
	var chunks []Chunk
	total := 0
	for {
		ch, err := c.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, ch)
		where, args := ch.Where()
		var cnt int
		if err := db.QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM `%s`.t WHERE %s", dbName, where), args...).Scan(&cnt); err != nil {
			t.Fatal(err)
		}
		if cnt != 3 && !ch.Last() {
			t.Fatalf("chunk %s has %d rows, want 3", ch, cnt)
		}
		total += cnt
	}
	if total != n || len(chunks) != (n+2)/3 {
		t.Fatalf("chunks cover %d rows in %d chunks, want %d rows", total, len(chunks), n)
	}
	// Locate every row by the server comparison; it must land in the chunk
	// whose WHERE selects it.
	var bounds [][]any
	for _, ch := range chunks[1:] {
		bounds = append(bounds, ch.Lo)
	}
	rows, err := db.Query(fmt.Sprintf("SELECT s, u FROM `%s`.t ORDER BY s, u", dbName))
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]any
	for rows.Next() {
		var s []byte
		var u uint64
		if err := rows.Scan(&s, &u); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, []any{s, u})
	}
	idx, err := Locator{DB: db, Key: key}.Locate(ctx, bounds, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if want := i / 3; idx[i] != want {
			t.Fatalf("key %q located in chunk %d, want %d", keys[i], idx[i], want)
		}
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
