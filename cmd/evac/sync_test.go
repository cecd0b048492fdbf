package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSyncLocalToLocalJSON(t *testing.T) {
	src, dst, j := t.TempDir(), t.TempDir(), t.TempDir()
	old := time.Now().Add(-time.Hour)
	for _, k := range []string{"a.txt", "dir/b.txt", "dir/sub/c.txt"} {
		p := filepath.Join(src, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+k), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(p, old, old)
	}
	run1 := func(args ...string) map[string]any {
		t.Helper()
		code, out, errOut := runEvac(t, append([]string{"sync", src + "/", dst, "--journal-dir", j, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var st map[string]any
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("--json output %q: %v", out, err)
		}
		return st
	}
	st := run1()
	want := []string{"copied", "copied_bytes", "deleted", "duration_s", "failed", "listed_source", "listed_target", "requests", "retries", "skipped"}
	if len(st) != len(want) {
		t.Fatalf("--json fields = %v, want exactly %v", st, want)
	}
	for _, k := range want {
		if _, ok := st[k]; !ok {
			t.Fatalf("--json lacks %q: %v", k, st)
		}
	}
	if st["copied"].(float64) != 3 {
		t.Fatalf("copied = %v", st["copied"])
	}
	got, err := os.ReadFile(filepath.Join(dst, "dir/sub/c.txt"))
	if err != nil || string(got) != "content of dir/sub/c.txt" {
		t.Fatalf("target file: %q %v", got, err)
	}
	if st = run1(); st["copied"].(float64) != 0 || st["skipped"].(float64) != 3 {
		t.Fatalf("resync: %v", st)
	}
}

func TestSyncUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sync", dir, dir + "/x", "--checksum", "--size-only"}, "exclude each other"},
		{[]string{"sync", dir + "/sub", dir}, "overlap"},
		{[]string{"sync", dir, "s3://b", "--server-side-copy", "maybe"}, "--server-side-copy: must be one of auto, always, never"},
		{[]string{"sync", dir}, "evac sync takes SRC and DST, or none with -c FILE"},
		{[]string{"sync"}, "evac sync needs SRC and DST, or -c FILE with at least one sync job"},
	}
	for _, tc := range tests {
		code, _, errOut := runEvac(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("evac %v: exit %d, stderr %q; want 2 with %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestSyncJobsFromConfigFile(t *testing.T) {
	src, dst, j := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "x.txt"), []byte("from the config job"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(filepath.Join(src, "x.txt"), time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	cfg := filepath.Join(t.TempDir(), "evac.yaml")
	yaml := "jobs:\n  - name: local\n    sync:\n      source: " + src + "\n      target: " + dst + "\n      journal_dir: " + j + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runEvac(t, "-c", cfg, "sync", "--json")
	if code != 0 || !strings.Contains(out, `"copied":1`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "x.txt")); string(got) != "from the config job" {
		t.Fatalf("target: %q", got)
	}
	if code, _, errOut := runEvac(t, "-c", cfg, "sync", "--job", "nope"); code != 2 || !strings.Contains(errOut, `--job "nope": no sync job`) {
		t.Fatalf("unknown job: exit %d %q", code, errOut)
	}
}
