package sync_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
	objsync "github.com/evac-dev/evac/sync"
)

// TestS3ListShard lists each shard of 3 through a counting proxy with two
// keys per ListObjectsV2 page: a shard lists the top level once and then
// only its own prefixes, so its request count is exactly the top-level
// pages plus three pages per prefix it owns, fewer than a full listing; the shards' union is the
// full key set, each in byte order.
func TestS3ListShard(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{ListPageSize: 2})
	ctx := context.Background()
	keys := []string{"a-b", "a0", "m", "zz"} // root-level objects around "a/"
	prefixes := []string{"a/", "b c/", "p0/", "p1/", "p2/", "p3/", "q+r/"}
	for _, pre := range prefixes {
		keys = append(keys, pre+"x", pre+"y/1", pre+"y/2", pre+"z", pre+"~")
	}
	for _, k := range keys {
		if _, err := s.Put(ctx, k, strings.NewReader(k), objsync.PutOptions{Size: int64(len(k))}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(keys)
	p.ResetCounts()
	if got := stKeys(t, s); !slices.Equal(got, keys) {
		t.Fatalf("full listing %q, want %q", got, keys)
	}
	full := p.Counts()["ListObjectsV2"]
	topPages := (4 + len(prefixes) + 1) / 2 // 11 entries, 2 a page
	var union []string
	for i := range 3 {
		sh := objsync.Shard{Index: i, Count: 3}
		p.ResetCounts()
		var got []string
		for o, err := range objsync.ListShard(ctx, s, sh.Owns) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o.Key)
		}
		var want []string
		for _, k := range keys {
			if sh.Owns(k) {
				want = append(want, k)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("shard %s: %q, want %q", sh, got, want)
		}
		owned := 0
		for _, pre := range prefixes {
			if sh.Owns(pre) {
				owned++
			}
		}
		n := p.Counts()["ListObjectsV2"]
		t.Logf("shard %s: %d keys, %d of %d prefixes, %d ListObjectsV2 (full listing: %d)", sh, len(got), owned, len(prefixes), n, full)
		if wantN := topPages + 3*owned; n != wantN {
			t.Errorf("shard %s: %d ListObjectsV2 requests, want %d (top level %d pages + 3 per owned prefix): it listed other shards' prefixes", sh, n, wantN, topPages)
		}
		if n >= full {
			t.Errorf("shard %s: %d requests, not fewer than the full listing's %d", sh, n, full)
		}
		union = append(union, got...)
	}
	slices.Sort(union)
	if !slices.Equal(union, keys) {
		t.Errorf("union of shards %q, want %q", union, keys)
	}
}

// TestE2EShards runs the binary three times with --shard i/3 from a
// directory to S3, then again unchanged: the shards together list and copy
// every file once, and the resync copies nothing.
func TestE2EShards(t *testing.T) {
	testenv.Require(t)
	env := testenv.S3(t)
	bucket := newBucket(t, env)
	bin := buildEvac(t)
	src, jdir := t.TempDir(), t.TempDir()
	files := []string{"a-b", "a0", "m", "zz"}
	for _, pre := range []string{"a/", "b c/", "p0/", "p1/", "p2/", "p3/", "q+r/"} {
		files = append(files, pre+"x", pre+"y/1", pre+"z")
	}
	for _, k := range files {
		p := filepath.Join(src, k)
		writeFile(t, p, []byte("data of "+k))
		old := time.Now().Add(-time.Hour)
		_ = os.Chtimes(p, old, old) // not racily clean
	}
	environ := evacEnv(t, env)
	run := func(i int) evacRun {
		r := runBin(t, bin, environ, "sync", src, "s3://"+bucket+"/data/", "--target-endpoint", env.Endpoint,
			"--journal-dir", jdir, "--json", "--shard", fmt.Sprintf("%d/3", i))
		if r.code != 0 {
			t.Fatalf("shard %d/3: exit %d\n%s", i, r.code, r.stderr)
		}
		return r
	}
	var listed, copied, listedTarget, recopied int64
	for i := range 3 {
		st := run(i).stats
		if st.ListedSource == int64(len(files)) {
			t.Errorf("shard %d/3 listed all %d files", i, len(files))
		}
		listed, copied = listed+st.ListedSource, copied+st.Copied
	}
	if listed != int64(len(files)) || copied != int64(len(files)) {
		t.Fatalf("shards listed %d and copied %d, want %d each", listed, copied, len(files))
	}
	if n := assertTreeOnS3(t, env, bucket, "data", src, nil, treeCheck{}); n != len(files) {
		t.Fatalf("checked %d files, want %d", n, len(files))
	}
	for i := range 3 {
		st := run(i).stats
		listedTarget, recopied = listedTarget+st.ListedTarget, recopied+st.Copied
	}
	if listedTarget != int64(len(files)) || recopied != 0 {
		t.Fatalf("resync: target listed %d (want %d), copied %d (want 0)", listedTarget, len(files), recopied)
	}
}
