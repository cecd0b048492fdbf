package sync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func memPair(t *testing.T, n int) (*memStore, *memStore, Config) {
	t.Helper()
	src, dst := newMem("src"), newMem("dst")
	for i := 0; i < n; i++ {
		src.set(fmt.Sprintf("d%d/f%03d.txt", i%3, i), fmt.Sprintf("content %d", i))
	}
	cfg := Config{Source: src, Target: dst, StateDir: t.TempDir(), Workers: 8}
	return src, dst, cfg
}

func mustRun(t *testing.T, cfg Config) Stats {
	t.Helper()
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return st
}

func TestEngineInitialThenUnchangedResync(t *testing.T) {
	src, dst, cfg := memPair(t, 50)
	st := mustRun(t, cfg)
	if st.Copied != 50 || st.ListedSource != 50 || st.Failed != 0 {
		t.Fatalf("first run: %+v", st)
	}
	if src.dump() != dst.dump() {
		t.Fatalf("target differs:\n%s\nvs\n%s", dst.dump(), src.dump())
	}
	if _, ok := dst.get(mirrorKey(cfg.JobID())); !ok {
		t.Fatalf("journal not mirrored to the target")
	}
	src.resetCounts()
	dst.resetCounts()
	st = mustRun(t, cfg)
	if st.Copied != 0 || st.Skipped != 50 {
		t.Fatalf("resync: %+v", st)
	}
	// Only listings: no Stat (HEAD), Open (GET), Put or Delete.
	if got := src.counts() + " | " + dst.counts(); got != "List=1 Stat=0 Open=0 Put=0 Delete=0 | List=1 Stat=0 Open=0 Put=0 Delete=0" {
		t.Fatalf("unchanged resync requests: %s", got)
	}
}

func TestEngineDeltaAndConflict(t *testing.T) {
	src, dst, cfg := memPair(t, 20)
	mustRun(t, cfg)
	src.set("d0/f000.txt", "edited")
	src.set("new.txt", "new")
	dst.set("d1/f001.txt", "someone else wrote this")
	var rep bytes.Buffer
	cfg.Report = &rep
	st, err := Run(context.Background(), cfg)
	var re *RunError
	if !errors.As(err, &re) || re.Failed != 1 || !strings.Contains(err.Error(), "d1/f001.txt: target changed externally") {
		t.Fatalf("err = %v, want one conflict", err)
	}
	if st.Copied != 2 {
		t.Fatalf("copied %d, want 2 (edited + new)", st.Copied)
	}
	if got, _ := dst.get("d1/f001.txt"); got != "someone else wrote this" {
		t.Fatalf("conflicting object overwritten without --force: %q", got)
	}
	if !strings.Contains(rep.String(), `"action":"conflict"`) {
		t.Fatalf("report lacks conflict line:\n%s", rep.String())
	}
	cfg.Report = nil
	cfg.Force = true
	st = mustRun(t, cfg)
	if st.Copied != 1 || src.dump() != dst.dump() {
		t.Fatalf("--force: %+v", st)
	}
}

func TestEngineDeleteGuards(t *testing.T) {
	src, dst, cfg := memPair(t, 10)
	mustRun(t, cfg)
	dst.set("extra1", "x")
	dst.set("extra2", "x")
	cfg.Delete = true
	cfg.MaxDelete = 1
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "2 objects would be deleted, more than --max-delete 1") {
		t.Fatalf("max-delete: %v", err)
	}
	if _, ok := dst.get("extra1"); !ok {
		t.Fatal("deleted despite --max-delete")
	}
	// A failed source listing disables deletes.
	src.failList = 3
	if _, err := Run(context.Background(), cfg); !isListingErr(err) {
		t.Fatalf("want listing error, got %v", err)
	}
	if _, ok := dst.get("extra1"); !ok {
		t.Fatal("deleted although the source listing failed")
	}
	src.failList = -1
	cfg.MaxDelete = -1
	st := mustRun(t, cfg)
	if st.Deleted != 2 || src.dump() != dst.dump() {
		t.Fatalf("delete: %+v\n%s", st, dst.dump())
	}
	// An empty source never deletes.
	empty := newMem("empty")
	cfg.Source = empty
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "refusing --delete: the source mem://empty listed no objects") {
		t.Fatalf("empty source: %v", err)
	}
	if dst.dump() != src.dump() {
		t.Fatal("objects deleted with an empty source")
	}
}

func TestEngineDryRunWritesNothing(t *testing.T) {
	_, dst, cfg := memPair(t, 5)
	cfg.DryRun = true
	var rep bytes.Buffer
	cfg.Report = &rep
	st := mustRun(t, cfg)
	if st.Copied != 5 || dst.count("Put") != 0 || dst.dump() != "" {
		t.Fatalf("dry run wrote: %+v puts=%d", st, dst.count("Put"))
	}
	if n := strings.Count(rep.String(), `"dry_run":true`); n != 5 {
		t.Fatalf("dry-run report lines = %d, want 5", n)
	}
}

func TestEngineAdoptWithoutJournal(t *testing.T) {
	src, dst, cfg := memPair(t, 6)
	mustRun(t, cfg)
	// Lose the journal (new machine, no mirror): objects are adopted with one
	// Stat each when their ETag matches, and nothing is uploaded again.
	cfg.StateDir = t.TempDir()
	cfg.MirrorEvery = -1
	dst.resetCounts()
	st := mustRun(t, cfg)
	if st.Copied != 0 || dst.count("Put") != 0 || dst.count("Stat") != 6 {
		t.Fatalf("adopt: %+v, %s", st, dst.counts())
	}
	dst.resetCounts()
	mustRun(t, cfg)
	if dst.count("Stat") != 0 {
		t.Fatalf("adopted objects not journaled: %s", dst.counts())
	}
	_ = src
}

func TestEngineJournalMirrorRestore(t *testing.T) {
	_, dst, cfg := memPair(t, 6)
	mustRun(t, cfg)
	cfg.StateDir = t.TempDir() // another machine: restores from .evac/
	dst.resetCounts()
	st := mustRun(t, cfg)
	if st.Copied != 0 || dst.count("Stat") != 0 || dst.count("Open") != 1 {
		t.Fatalf("restore: %+v %s", st, dst.counts())
	}
}

func TestEngineFailedObjectContinues(t *testing.T) {
	_, dst, cfg := memPair(t, 10)
	dst.failPut["d1/f001.txt"] = errors.New("AccessDenied: no")
	var rep bytes.Buffer
	cfg.Report = &rep
	st, err := Run(context.Background(), cfg)
	var re *RunError
	if !errors.As(err, &re) || st.Failed != 1 || st.Copied != 9 {
		t.Fatalf("st=%+v err=%v", st, err)
	}
	if !strings.Contains(err.Error(), "d1/f001.txt: put: AccessDenied") {
		t.Fatalf("err = %v", err)
	}
	lines := 0
	sc := bufio.NewScanner(&rep)
	for sc.Scan() {
		var r ReportRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Action == "copy" && !strings.HasPrefix(r.Checksum, "CRC64NVME:") {
			t.Fatalf("copy line without checksum: %s", sc.Text())
		}
		lines++
	}
	if lines != 10 {
		t.Fatalf("report lines = %d, want 10", lines)
	}
}

func TestEngineFilterShardPriority(t *testing.T) {
	src, dst, cfg := memPair(t, 30)
	cfg.Exclude = []string{"*5.txt"}
	cfg.Priority = []string{"d2/"}
	st := mustRun(t, cfg)
	if st.Copied != 27 {
		t.Fatalf("copied %d, want 27 (3 excluded)", st.Copied)
	}
	if _, ok := dst.get("d0/f015.txt"); ok {
		t.Fatal("excluded key copied")
	}
	cfg.Exclude = nil
	var total int64
	for i := 0; i < 3; i++ {
		c := cfg
		c.Shard = Shard{Index: i, Count: 3}
		total += mustRun(t, c).Copied
	}
	if total != 3 || src.dump() != dst.dump() {
		t.Fatalf("shards copied %d, want 3", total)
	}
}

func TestEngineFSSourceRacyAndChanged(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), []byte("old"), 0o644)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, "f0"), old, old)
	os.Chtimes(filepath.Join(dir, "f1"), old, old)
	fsrc, err := NewFSStore(dir, FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst := newMem("dst")
	cfg := Config{Source: fsrc, Target: dst, StateDir: t.TempDir(), Workers: 2, RacyTick: time.Minute}
	mustRun(t, cfg)
	// f2 was written "now": racily clean, copied again on the next pass.
	dst.resetCounts()
	st := mustRun(t, cfg)
	if st.Copied != 1 || dst.count("Put") != 2 { // f2 + the journal mirror
		t.Fatalf("racy resync: %+v", st)
	}
	// Edit f0 with its mtime restored: ctime changes, so it is copied.
	os.WriteFile(filepath.Join(dir, "f0"), []byte("new"), 0o644)
	os.Chtimes(filepath.Join(dir, "f0"), old, old)
	cfg.RacyTick = time.Nanosecond
	st = mustRun(t, cfg)
	if got, _ := dst.get("f0"); got != "new" || st.Copied != 2 {
		t.Fatalf("edit with mtime restored: %q %+v", got, st)
	}
	dst.resetCounts()
	if st = mustRun(t, cfg); st.Copied != 0 {
		t.Fatalf("resync after edit: %+v", st)
	}
}

func TestEngineValidate(t *testing.T) {
	s := newMem("x")
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Target: s, StateDir: "x"}, "source and target stores are required"},
		{Config{Source: s, Target: s}, "StateDir is required"},
		{Config{Source: s, Target: s, StateDir: "x", ServerSideCopy: "maybe"}, `--server-side-copy "maybe"`},
		{Config{Source: s, Target: s, StateDir: "x", Include: []string{""}}, `--include "": empty pattern`},
	}
	for _, tc := range tests {
		err := tc.cfg.withDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
	}
}

func TestParseShardAndFilter(t *testing.T) {
	if s, err := ParseShard("auto/4", "3"); err != nil || s != (Shard{3, 4}) {
		t.Fatalf("auto: %v %v", s, err)
	}
	for _, bad := range []string{"4/4", "x/2", "1", "auto/2"} {
		if _, err := ParseShard(bad, ""); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	f, _ := NewFilter([]string{"*.jpg", "docs/"}, []string{"**/tmp/**"})
	for key, want := range map[string]bool{
		"a/b/c.jpg": true, "c.jpg": true, "docs/x/y.txt": true, "a.png": false,
		"a/tmp/b.jpg": false, "docs.txt": false,
	} {
		if got := f.Match(key); got != want {
			t.Errorf("Match(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestEngineWatchRepeatsPasses(t *testing.T) {
	src, dst, cfg := memPair(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	passes := 0
	err := Watch(ctx, cfg, 10*time.Millisecond, func(st Stats, err error) {
		passes++
		if passes == 1 {
			src.set("later.txt", "arrived between passes")
		}
		if passes == 3 {
			cancel()
		}
	})
	if err != nil || passes != 3 {
		t.Fatalf("Watch = %v after %d passes", err, passes)
	}
	if src.dump() != dst.dump() {
		t.Fatalf("watch did not copy the later object:\n%s", dst.dump())
	}
}

type orphanMem struct {
	*memStore
	calls []time.Duration
}

func (o *orphanMem) AbortOrphans(_ context.Context, olderThan time.Duration) (int, error) {
	o.calls = append(o.calls, olderThan)
	return 0, nil
}

func TestEngineAbortsOrphansOnlyAfterWrites(t *testing.T) {
	_, dst, cfg := memPair(t, 4)
	om := &orphanMem{memStore: dst}
	cfg.Target = om
	mustRun(t, cfg)
	mustRun(t, cfg) // unchanged: no cleanup request
	if len(om.calls) != 1 || om.calls[0] != 7*24*time.Hour {
		t.Fatalf("AbortOrphans calls = %v, want one with 7 days", om.calls)
	}
}

func TestEngineChecksumModeReadsAndCompares(t *testing.T) {
	src, dst, cfg := memPair(t, 5)
	mustRun(t, cfg)
	dst.set("d1/f001.txt", "content X") // same size, other bytes
	cfg.Mode = ModeChecksum
	dst.resetCounts()
	st := mustRun(t, cfg)
	if st.Copied != 1 || st.Skipped != 4 || dst.count("Stat") != 5 {
		t.Fatalf("--checksum: %+v, %s", st, dst.counts())
	}
	if src.dump() != dst.dump() {
		t.Fatalf("target differs after --checksum:\n%s", dst.dump())
	}
}

func TestEngineUnstorableKeyProtectsItsNormalisedForm(t *testing.T) {
	src, dst := newMem("src"), newMem("dst")
	src.set("ok.txt", "fine")
	src.set("x//y", "double slash")
	dst.set("x/y", "what a posix server made of x//y")
	dst.set("stale", "gone from the source")
	var rep bytes.Buffer
	cfg := Config{Source: src, Target: dst, StateDir: t.TempDir(), Delete: true, TargetKind: TargetS3Posix, Report: &rep}
	st, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), `x//y: key "x//y" cannot be stored faithfully`) {
		t.Fatalf("err = %v", err)
	}
	if st.Failed != 1 || st.Deleted != 1 || st.Copied != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, ok := dst.get("x/y"); !ok {
		t.Fatal("--delete removed the key an unstorable source key normalises to")
	}
	if !strings.Contains(rep.String(), `"action":"unstorable"`) {
		t.Fatalf("report:\n%s", rep.String())
	}
}
