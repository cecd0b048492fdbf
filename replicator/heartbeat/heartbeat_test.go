package heartbeat

import (
	"context"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator/meta"
)

func TestLag(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	tests := []struct {
		applied time.Time
		want    time.Duration
		ok      bool
	}{
		{time.Time{}, 0, false},
		{now.Add(-1500 * time.Millisecond), 1500 * time.Millisecond, true},
		{now.Add(time.Second), 0, true}, // clock skew never gives negative lag
	}
	for _, tt := range tests {
		if got, ok := Lag(now, tt.applied); got != tt.want || ok != tt.ok {
			t.Errorf("Lag(%v) = %v,%v want %v,%v", tt.applied, got, ok, tt.want, tt.ok)
		}
	}
	if got := LagFromCommit(now, now.Add(-3*time.Second), false); got != 3*time.Second {
		t.Errorf("LagFromCommit = %v", got)
	}
	if got := LagFromCommit(now, now.Add(-3*time.Second), true); got != 0 {
		t.Errorf("LagFromCommit caught up = %v", got)
	}
}

func TestWriterIntegration(t *testing.T) {
	// A private source: the writer must not race other helpers' tests on
	// the shared evac_meta.heartbeat row.
	m := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true})
	db := testenv.OpenDB(t, "private source", m.DSN)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Writer{DB: db, Period: 50 * time.Millisecond}).Run(ctx) }()
	var first, last string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (first == "" || first == last) {
		_ = db.QueryRow("SELECT DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') FROM evac_meta.heartbeat WHERE id=1").Scan(&last)
		if first == "" {
			first = last
		}
		time.Sleep(60 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if first == "" || first == last {
		t.Fatalf("heartbeat did not advance: %q -> %q", first, last)
	}
	hb, _ := time.ParseInLocation("2006-01-02 15:04:05.999999", last, time.UTC)
	now, err := SourceNow(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if lag, ok := Lag(now, hb); !ok || lag > 2*time.Second {
		t.Fatalf("heartbeat %s vs source now %s: lag %v (the heartbeat must be UTC)", hb, now, lag)
	}
	// measured from a checkpoint row (here on the same server)
	if err := meta.EnsureTarget(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO evac_meta.checkpoint (stream_id, position, heartbeat_ts, updated_at)
		VALUES ('s1', '0-1-1', UTC_TIMESTAMP(6) - INTERVAL 3 SECOND, UTC_TIMESTAMP(6))`); err != nil {
		t.Fatal(err)
	}
	lag, ok, err := MeasuredLag(context.Background(), db, db, "s1")
	if err != nil || !ok || lag < 3*time.Second || lag > 5*time.Second {
		t.Fatalf("MeasuredLag = %v %v %v, want about 3s", lag, ok, err)
	}
	if _, ok, err := MeasuredLag(context.Background(), db, db, "none"); ok || err != nil {
		t.Fatalf("missing stream: ok=%v err=%v", ok, err)
	}
}
