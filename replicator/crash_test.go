package replicator_test

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
)

// buildEvac builds the real binary once per test.
func buildEvac(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "evac")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/evac")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestKill9Resume kills the real binary with SIGKILL at 5 random moments
// while a writer runs (during the snapshot and the stream), then lets a
// last run catch up: identical, no chunk copied twice, nothing missing.
func TestKill9Resume(t *testing.T) {
	testenv.Require(t)
	bin := buildEvac(t)
	e := newEnv(t)
	tables := []string{"a", "b"}
	for _, tb := range tables {
		e.source(
			"CREATE TABLE {db}."+tb+" (id BIGINT PRIMARY KEY, k INT NOT NULL, v VARCHAR(200), KEY (k)) ENGINE=InnoDB",
			"INSERT INTO {db}."+tb+" SELECT seq, seq % 1000, CONCAT('v', seq) FROM {db}.seq_1_to_6000",
		)
	}
	stop := make(chan struct{})
	wait := writers(t, e.src, e.db, tables, 3, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			wait()
		}
	}()
	args := []string{"replicate", "--source", e.srcDSN, "--target", e.tgtDSN, "--databases", e.db,
		"--stream-id", e.db, "--chunk-rows", "40", "--chunk-time", "10ms", "--snapshot-workers", "3", "--log-level", "warn"}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	for i := 0; i < 5; i++ {
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(800+r.IntN(2200)) * time.Millisecond)
		_ = cmd.Process.Kill() // SIGKILL
		_ = cmd.Wait()
	}
	close(stop)
	var chunks int
	_ = e.tgt.QueryRow("SELECT COUNT(*) FROM evac_meta.snapshot_chunk WHERE stream_id=?", e.db).Scan(&chunks)
	t.Logf("writer commits: %d; chunks copied before the last run: %d", wait(), chunks)
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--until-caught-up")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	e.same(tables...)
	noDuplicates(t, e.tgt, e.db, "evac_meta.snapshot_chunk")
	var done int
	if err := e.tgt.QueryRow("SELECT COUNT(*) FROM evac_meta.snapshot_table WHERE stream_id=?", e.db).Scan(&done); err != nil || done != len(tables) {
		t.Fatalf("tables recorded copied: %d (%v)", done, err)
	}
}
