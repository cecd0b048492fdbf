package verify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/evac-dev/evac/internal/faultproxy"
	"github.com/evac-dev/evac/internal/testenv"
	objsync "github.com/evac-dev/evac/sync"
)

func s3Store(t *testing.T, endpoint string, env testenv.S3Env, bucket string) *objsync.S3Store {
	t.Helper()
	env.Endpoint = endpoint
	st, err := objsync.NewS3Store("s3://"+bucket, testenv.NewS3Client(env), objsync.S3Options{
		PartSize: 5 << 20, MultipartThreshold: 5 << 20, Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func body(i, size int) []byte {
	b := bytes.Repeat([]byte(fmt.Sprintf("object %05d|", i)), size/13+1)
	return b[:size]
}

// fill writes n small objects and two multipart ones to both stores.
func fill(t *testing.T, stores ...objsync.Store) []string {
	t.Helper()
	var keys []string
	for i := 0; i < 1998; i++ {
		keys = append(keys, fmt.Sprintf("docs/%03d/file-%05d.txt", i%50, i))
	}
	keys = append(keys, "big/multipart-a.bin", "big/multipart-b.bin")
	var g errgroup.Group
	g.SetLimit(32)
	for i, k := range keys {
		size := 1000 + i%3000
		if k[:4] == "big/" {
			size = 12<<20 + i
		}
		for _, st := range stores {
			g.Go(func() error {
				_, err := st.Put(context.Background(), k, bytes.NewReader(body(i, size)), objsync.PutOptions{Size: int64(size)})
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestObjectsStoredChecksumsAndDeep(t *testing.T) {
	testenv.Require(t)
	env := testenv.S3(t)
	srcB, dstB := testenv.NewBucket(t), testenv.NewBucket(t)
	start := time.Now()
	fill(t, s3Store(t, env.Endpoint, env, srcB), s3Store(t, env.Endpoint, env, dstB))
	t.Logf("upload: %s", time.Since(start))

	proxy, err := faultproxy.New(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	src, dst := s3Store(t, proxy.URL, env, srcB), s3Store(t, proxy.URL, env, dstB)
	ctx := context.Background()

	start = time.Now()
	res, err := Objects(ctx, src, dst, ObjectOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verify: %s", time.Since(start))
	if res.Status != StatusMatch || res.SourceObjects != 2000 || res.ByChecksum+res.ByETag != 2000 || res.ByChecksum < 2 || res.SizeOnly != 0 {
		t.Fatalf("identical buckets: %+v", res)
	}
	if n := proxy.Counts()["GetObject"]; n != 0 {
		t.Fatalf("default mode made %d GetObject requests, want 0 (counts %v)", n, proxy.Counts())
	}

	// Plant: same-size different bytes, a missing and an extra object,
	// a byte flipped behind the server's back, and an object without a
	// stored checksum that differs.
	w := s3Store(t, env.Endpoint, env, dstB)
	mustPut(t, w, "docs/001/file-00001.txt", bytes.ToUpper(body(1, 1001)))
	if err := w.Delete(ctx, "docs/002/file-00002.txt"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, w, "docs/zz-extra.txt", []byte("extra"))
	flipByte(t, filepath.Join(env.Root, dstB, "docs/003/file-00003.txt"))
	proxy.ResetCounts()
	res, err = Objects(ctx, src, dst, ObjectOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"checksum_different docs/001/file-00001.txt", "extra_on_target docs/zz-extra.txt", "missing_on_target docs/002/file-00002.txt"}
	if got := objDiffs(res); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("default mode diffs %v, want %v", got, want)
	}
	validateReport(t, nil, []ObjectsResult{res})
	if fmt.Sprint(res.Prefixes) != "[{big/ 2 0} {docs/ 1998 3}]" {
		t.Errorf("prefixes: %v", res.Prefixes)
	}
	if res.SizeOnly != 0 || proxy.Counts()["GetObject"] != 0 {
		t.Fatalf("size-only %d, GetObject %d: want 0 and 0", res.SizeOnly, proxy.Counts()["GetObject"])
	}

	start = time.Now()
	res, err = Objects(ctx, src, dst, ObjectOptions{Deep: true, Prefix: "docs/00"}, nil) // 400 objects: keeps the test short
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("deep verify: %s", time.Since(start))
	want = []string{"content_different docs/001/file-00001.txt", "content_different docs/003/file-00003.txt",
		"missing_on_target docs/002/file-00002.txt"}
	if got := objDiffs(res); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("deep diffs %v, want %v", got, want)
	}
	if res.ByContent != 397 {
		t.Errorf("deep: %d objects checked by content, want 397", res.ByContent)
	}
	noStoredChecksum(t, env, dstB)
}

// noStoredChecksum compares a directory (no stored checksums) with S3: the
// default mode can only compare sizes and says so; --deep finds the bytes.
func noStoredChecksum(t *testing.T, env testenv.S3Env, bucket string) {
	dir := t.TempDir()
	for k, v := range map[string]string{"same.txt": "identical", "differs.txt": "plain-AAAA"} {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := objsync.NewFSStore(dir, objsync.FSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := s3Store(t, env.Endpoint, env, bucket)
	mustPut(t, w, "nock/same.txt", []byte("identical"))
	mustPut(t, w, "nock/differs.txt", []byte("plain-BBBB"))
	dst, err := objsync.NewS3Store("s3://"+bucket+"/nock", testenv.NewS3Client(env), objsync.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Objects(context.Background(), fs, dst, ObjectOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The directory has no stored checksums, but it is local: evac hashes it
	// with the target's stored algorithm, so the same-size difference is found
	// without --deep and without a GET on the target.
	if got := objDiffs(res); res.Status != StatusDiffer || fmt.Sprint(got) != "[checksum_different differs.txt]" || res.ByChecksum != 1 || res.SizeOnly != 0 {
		t.Fatalf("local source, no stored checksum: %v %+v, want differs.txt found by checksum", got, res)
	}
	res, err = Objects(context.Background(), fs, dst, ObjectOptions{Deep: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := objDiffs(res); fmt.Sprint(got) != "[content_different differs.txt]" || res.ByContent != 1 {
		t.Fatalf("deep without stored checksum: %v (by content %d)", got, res.ByContent)
	}
}

func mustPut(t *testing.T, st objsync.Store, key string, data []byte) {
	t.Helper()
	if _, err := st.Put(context.Background(), key, bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[10] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func objDiffs(r ObjectsResult) []string {
	var out []string
	for _, d := range r.Diffs {
		out = append(out, d.Kind+" "+d.Key)
	}
	sort.Strings(out)
	return out
}
