package binlog

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator/position"
)

func TestPurgedPositionRefused(t *testing.T) {
	dsn := testenv.SourceDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, start := range []string{"mysql-bin.999999:4", "0-1-999999999"} {
		s, err := Open(ctx, Config{SourceDSN: dsn, ServerID: 5000 + rand.Uint32N(1<<30), Start: position.MustParse(start)})
		if err == nil {
			_, err = s.Next(ctx)
			s.Close()
		}
		if !errors.Is(err, ErrPurged) || !strings.HasPrefix(err.Error(), "source cannot serve its binlog from "+start+" (") ||
			!strings.Contains(err.Error(), "re-snapshot (evac replicate --snapshot auto)") {
			t.Errorf("start %s: got %v, want the purged-position error", start, err)
		}
	}
}

// TestStartPositionWaitsForPreparedXA: no start position may fall between
// an XA PREPARE and its COMMIT.
func TestStartPositionWaitsForPreparedXA(t *testing.T) {
	m := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true})
	db := testenv.OpenDB(t, "private source", m.DSN)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"CREATE DATABASE d", "CREATE TABLE d.t (id INT PRIMARY KEY)", "XA START 'p1'",
		"INSERT INTO d.t VALUES (1)", "XA END 'p1'", "XA PREPARE 'p1'"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, err = StartPosition(ctx, db, "mariadb", 300*time.Millisecond)
	if err == nil || !strings.HasPrefix(err.Error(), `source has XA transactions prepared for over 300ms ("p1"): evac cannot start its stream`) {
		t.Fatalf("got %v, want the prepared-XA error", err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = conn.ExecContext(ctx, "XA COMMIT 'p1'")
	}()
	pos, err := StartPosition(ctx, db, "mariadb", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var now string
	if err := db.QueryRow("SELECT @@gtid_binlog_pos").Scan(&now); err != nil || pos.String() != now {
		t.Fatalf("start %s, source now %s (%v): want the position after the XA COMMIT", pos, now, err)
	}
}
