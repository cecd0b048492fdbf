package sync

import (
	"context"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shardKeys has awkward neighbours: "a-b" < "a/" < "a0", root objects
// between prefixes, nested folders, names with spaces and symbols.
var shardKeys = []string{
	"!root", "a-b", "a/x", "a/y/z", "a0", "a1/deep/er/file", "b", "b+c/d", "b c/e f",
	"c/1", "c/2", "c-", "d.txt", "dir0/f", "dir1/f", "dir2/f", "dir3/f", "dir4/f",
	"e/%3f", "x/y", "zz", "~/t",
}

// memTop adds ListTop to memStore and records the prefixes it listed.
type memTop struct {
	*memStore
	listed []string
}

func (m *memTop) List(ctx context.Context, prefix string) iter.Seq2[Object, error] {
	m.listed = append(m.listed, prefix)
	return m.memStore.List(ctx, prefix)
}

func (m *memTop) ListTop(ctx context.Context) iter.Seq2[TopEntry, error] {
	return func(yield func(TopEntry, error) bool) {
		last := ""
		for o, err := range m.memStore.List(ctx, "") {
			if err != nil {
				yield(TopEntry{}, err)
				return
			}
			e := TopEntry{Name: o.Key, Obj: o}
			if top, _, ok := strings.Cut(o.Key, "/"); ok {
				e = TopEntry{Name: top + "/"}
			}
			if e.Name == last {
				continue
			}
			last = e.Name
			if !yield(e, nil) {
				return
			}
		}
	}
}

func collectKeys(t *testing.T, s iter.Seq2[Object, error]) []string {
	t.Helper()
	var keys []string
	for o, err := range s {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// checkShards compares ListShard with today's list-everything-and-filter
// for every shard of N, and checks byte order and that the union is the
// whole tree.
func checkShards(t *testing.T, st Store, n int, after func(Shard, []string)) {
	t.Helper()
	ctx := context.Background()
	all := collectKeys(t, st.List(ctx, ""))
	var union []string
	for i := range n {
		sh := Shard{Index: i, Count: n}
		var want []string
		for _, k := range all {
			if sh.Owns(k) {
				want = append(want, k)
			}
		}
		got := collectKeys(t, ListShard(ctx, st, sh.Owns))
		if !slices.Equal(got, want) {
			t.Errorf("shard %s: got %q, want %q", sh, got, want)
		}
		if !slices.IsSorted(got) {
			t.Errorf("shard %s: not in byte order: %q", sh, got)
		}
		union = append(union, got...)
		if after != nil {
			after(sh, got)
		}
	}
	slices.Sort(union)
	if !slices.Equal(union, all) {
		t.Errorf("union of %d shards %q, want %q", n, union, all)
	}
}

func TestListShardMem(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		m := &memTop{memStore: newMem("src")}
		for _, k := range shardKeys {
			m.set(k, k)
		}
		m.set("a", "root object beside a/") // memStore can hold both "a" and "a/x"
		checkShards(t, m, n, func(sh Shard, _ []string) {
			for _, p := range m.listed {
				if p != "" && !sh.Owns(p) {
					t.Errorf("shard %s listed %q, another shard's prefix", sh, p)
				}
			}
			m.listed = nil
		})
	}
}

func TestListShardFallback(t *testing.T) {
	m := newMem("plain") // no TopLister: full listing, filtered
	for _, k := range shardKeys {
		m.set(k, k)
	}
	checkShards(t, m, 3, nil)
}

func TestListShardFS(t *testing.T) {
	root := t.TempDir()
	for _, k := range shardKeys {
		p := filepath.Join(root, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(k), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewFSStore(root, FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 5} {
		checkShards(t, s, n, nil)
	}
	// Another shard's directory is never opened: a broken symlink in each
	// directory this shard does not own would count as a listing problem.
	sh := Shard{Index: 0, Count: 3}
	for _, d := range []string{"dir0", "dir1", "dir2", "dir3", "dir4"} {
		if !sh.Owns(d + "/") {
			if err := os.Symlink("/nonexistent/evac", filepath.Join(root, d, "broken")); err != nil {
				t.Fatal(err)
			}
		}
	}
	follow, err := NewFSStore(root, FSOptions{FollowSymlinks: true})
	if err != nil {
		t.Fatal(err)
	}
	collectKeys(t, ListShard(context.Background(), follow, sh.Owns))
	if p := follow.ListProblems(); p != 0 {
		t.Errorf("shard %s read another shard's directory: %d problems", sh, p)
	}
	collectKeys(t, follow.List(context.Background(), ""))
	if follow.ListProblems() == 0 {
		t.Fatal("test is vacuous: the full listing saw no broken symlink")
	}
}

// TestEngineShardListsOwnShare runs three shards over stores that can list
// their top level: each lists only its own prefixes on both sides (also
// for a priority prefix), and together they copy and delete everything.
func TestEngineShardListsOwnShare(t *testing.T) {
	src, dst := &memTop{memStore: newMem("src")}, &memTop{memStore: newMem("dst")}
	for _, k := range shardKeys {
		src.set(k, k)
	}
	for _, k := range []string{"gone/1", "a/old", "zz0"} {
		dst.set(k, "stale")
	}
	base := Config{Source: src, Target: dst, StateDir: t.TempDir(), Workers: 4, Delete: true, Priority: []string{"c/", "dir1/"}}
	var copied, deleted, prefixLists int64
	for i := range 3 {
		c := base
		c.Shard = Shard{Index: i, Count: 3}
		st := mustRun(t, c)
		copied, deleted = copied+st.Copied, deleted+st.Deleted
		for _, m := range []*memTop{src, dst} {
			for _, p := range m.listed {
				if p != "" {
					prefixLists++
				}
				if p != "" && !c.Shard.Owns(p) {
					t.Errorf("shard %s listed %q on %s, another shard's prefix", c.Shard, p, m)
				}
			}
			m.listed = nil
		}
	}
	if prefixLists == 0 {
		t.Fatal("the engine never listed by prefix: sharded runs still list everything")
	}
	if copied != int64(len(shardKeys)) || deleted != 3 || src.dump() != dst.dump() {
		t.Fatalf("copied %d deleted %d, want %d and 3; target:\n%s", copied, deleted, len(shardKeys), dst.dump())
	}
}
