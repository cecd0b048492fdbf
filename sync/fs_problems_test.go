package sync

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A followed symlink whose volume went away must not read as "everything
// under it was deleted": the pass copies what it can and refuses --delete.
func TestDeleteRefusedWhenFollowedVolumeVanishes(t *testing.T) {
	root := t.TempDir()
	src, vol, dst := filepath.Join(root, "src"), filepath.Join(root, "vol"), filepath.Join(root, "dst")
	for _, d := range []string{src, vol, dst} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"vol/a.txt": "a", "vol/b.txt": "b", "src/top.txt": "top"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(vol, filepath.Join(src, "mnt")); err != nil {
		t.Fatal(err)
	}
	pass := func() (*FSStore, Stats, error) {
		s, err := NewFSStore(src, FSOptions{FollowSymlinks: true})
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewFSStore(dst, FSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Source, cfg.Target, cfg.StateDir, cfg.Delete = s, d, filepath.Join(root, "state"), true
		st, err := Run(context.Background(), cfg)
		return s, st, err
	}
	if _, st, err := pass(); err != nil || st.Copied != 3 {
		t.Fatalf("first pass: copied %d, err %v; want 3 copied", st.Copied, err)
	}
	if err := os.Rename(vol, vol+".unmounted"); err != nil {
		t.Fatal(err)
	}
	s, st, err := pass()
	if s.ListProblems() != 1 {
		t.Fatalf("ListProblems = %d, want 1 (the broken symlink)", s.ListProblems())
	}
	if err == nil || !strings.Contains(err.Error(), "refusing --delete: 1 source entries could not be read during the listing") {
		t.Fatalf("second pass: err %v, want the refusal", err)
	}
	if st.Deleted != 0 {
		t.Fatalf("deleted %d objects of an unreadable volume", st.Deleted)
	}
	for _, k := range []string{"mnt/a.txt", "mnt/b.txt", "top.txt"} {
		if _, err := os.Stat(filepath.Join(dst, k)); err != nil {
			t.Fatalf("target lost %s: %v", k, err)
		}
	}
}
