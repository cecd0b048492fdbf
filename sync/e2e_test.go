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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/evac-dev/evac/internal/faultproxy"
	"github.com/evac-dev/evac/internal/testenv"
)

// awkwardTree writes n small files with awkward names plus two large
// files; it returns the keys the target cannot store and the generated
// plain keys (for the delta step).
func awkwardTree(t *testing.T, dir string, n, largeMiB int) (unstorable, plain []string) {
	t.Helper()
	long := strings.Repeat("k", 245)
	named := map[string][]byte{
		"space name.txt": []byte("spaces"), "plus+sign.txt": []byte("+"), "percent%20.txt": []byte("%"),
		"question?.txt": []byte("?"), "hash#.txt": []byte("#"), "amp&and.txt": []byte("&"),
		"caf\u00e9-nfc.txt": []byte("nfc"), "cafe\u0301-nfd.txt": []byte("nfd"),
		"a-b": []byte("a-b beside a/"), "a/inner.txt": []byte("inside a/"),
		"empty": nil, "dir/empty.txt": nil,
		strings.Join([]string{long, long, long, long, "thousand-bytes.t"}, "/"): []byte("1000-byte key"),
		"l1/l2/l3/l4/l5/l6/l7/l8/deep.txt":                                      []byte("eight levels"),
		"page.html":                                                             []byte("<!DOCTYPE html><html><body>hi</body></html>"),
		"data.json":                                                             []byte(`{"a":1}`),
		"noext":                                                                 randomBytes(300, 7),
		"ctl\x01char.txt":                                                       []byte("control character"),
		"bad\xffutf8.txt":                                                       []byte("invalid UTF-8"),
	}
	if k := strings.Join([]string{long, long, long, long, "thousand-bytes.t"}, "/"); len(k) != 1000 {
		t.Fatalf("long key is %d bytes", len(k))
	}
	unstorable = []string{"bad\xffutf8.txt", "ctl\x01char.txt"}
	for k, v := range named {
		writeFile(t, filepath.Join(dir, k), v)
	}
	for i := len(named); i < n; i++ {
		k := fmt.Sprintf("gen/d%02d/s%d/f%04d.txt", i%37, i%5, i)
		writeFile(t, filepath.Join(dir, k), randomBytes(i%4096, uint64(i)))
		plain = append(plain, k)
	}
	if err := os.Symlink("space name.txt", filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"large/one.bin", "large/two.bin"} {
		writeFile(t, filepath.Join(dir, name), randomBytes(largeMiB<<20, uint64(1000+i)))
	}
	old := time.Now().Add(-time.Hour)
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			_ = os.Chtimes(p, old, old) // not racily clean
		}
		return nil
	})
	return unstorable, plain
}

// uploads counts data writes seen by the proxy, not evac's own files under .evac/.
func uploads(p *faultproxy.Proxy) (puts, deletes, other int) {
	for _, r := range p.Requests() {
		if strings.Contains(r.Path, "/.evac/") {
			continue
		}
		switch r.Op {
		case "PutObject", "UploadPart", "CopyObject", "UploadPartCopy":
			puts++
		case "DeleteObject":
			deletes++
		case "ListObjectsV2":
		default:
			other++
		}
	}
	return
}

// TestE2E runs the real binary against versitygw; the binary is built once
// for all subtests.
func TestE2E(t *testing.T) {
	testenv.Require(t)
	bin := buildEvac(t)
	t.Run("FilesystemToS3Acceptance", func(t *testing.T) { e2eAcceptance(t, bin) })
	t.Run("FaultProxy", func(t *testing.T) { e2eFaultProxy(t, bin) })
	t.Run("KillAndResume", func(t *testing.T) { e2eKillAndResume(t, bin) })
	t.Run("SameEndpointServerSide", func(t *testing.T) { e2eSameEndpoint(t, bin) })
	t.Run("TwoEndpointsStreamed", func(t *testing.T) { e2eTwoEndpoints(t, bin) })
	t.Run("BadInput", func(t *testing.T) { e2eBadInput(t, bin) })
}

func e2eAcceptance(t *testing.T, bin string) {
	env := testenv.S3(t)
	bucket := newBucket(t, env)
	proxy, err := faultproxy.New(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	src, jdir, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	// The two 100 MiB files (EVAC_E2E_LARGE_MIB overrides, e.g. for
	// a quick local run); they go multipart.
	largeMiB := e2eSize(t, "EVAC_E2E_LARGE_MIB", 100)
	unstorable, plain := awkwardTree(t, src, 2000, largeMiB)
	environ := evacEnv(t, env)
	dst := "s3://" + bucket + "/data/"
	args := func(extra ...string) []string {
		return append([]string{"sync", src + "/", dst, "--target-endpoint", proxy.URL, "--journal-dir", jdir, "--json",
			"--part-size", "16MiB", "--multipart-threshold", "32MiB"}, extra...)
	}

	// 1. First copy: everything storable arrives; the unstorable keys are
	// reported by name and make the run exit 1.
	report := filepath.Join(tmp, "r1.ndjson")
	r := runBin(t, bin, environ, args("--report", report)...)
	if r.code != 1 || r.stats.Failed != 2 || r.stats.Copied != 2000 {
		t.Fatalf("first run: exit %d, stats %+v\n%s", r.code, r.stats, r.stderr)
	}
	for _, k := range unstorable {
		if !strings.Contains(r.stderr, fmt.Sprintf("%q", k)) {
			t.Errorf("unstorable key %q not named in the output:\n%s", k, r.stderr)
		}
	}
	skip := map[string]bool{unstorable[0]: true, unstorable[1]: true}
	sums := map[string]string{}
	for _, rec := range reportLines(t, report) {
		sums[rec.Key] = rec.Checksum
	}
	if n := assertTreeOnS3(t, env, bucket, "data/", src, skip, treeCheck{sums: sums, headEvery: 10}); n != 2000 {
		t.Fatalf("checked %d objects, want 2000", n)
	}
	assertContentTypes(t, env, bucket, map[string]string{
		"data/page.html": "text/html; charset=utf-8", "data/data.json": "application/json", "data/noext": "application/octet-stream",
	})
	if _, err := os.Lstat(filepath.Join(env.Root, bucket, "data", "link.txt")); !os.IsNotExist(err) {
		t.Fatalf("symlink was copied (want skipped with a warning): %v", err)
	}
	copies := 0
	for _, rec := range reportLines(t, report) {
		if rec.Action == "copy" {
			copies++
			if !strings.HasPrefix(rec.Checksum, "CRC64NVME:") {
				t.Fatalf("report line without checksum: %+v", rec)
			}
		}
	}
	if copies != 2000 {
		t.Fatalf("report has %d copy lines, want 2000", copies)
	}

	// 2. Unchanged resync: only list requests reach the target.
	proxy.ResetCounts()
	r = runBin(t, bin, environ, args()...)
	if r.stats.Copied != 0 || r.stats.Skipped != 2000 {
		t.Fatalf("unchanged resync: %+v\n%s", r.stats, r.stderr)
	}
	for op := range proxy.Counts() {
		if op != "ListObjectsV2" {
			t.Fatalf("unchanged resync sent %s; want only ListObjectsV2: %v", op, proxy.Counts())
		}
	}

	// 3. Delta: touch 10, edit 1 with its mtime restored, add 5, delete 3.
	now := time.Now().Add(-30 * time.Minute)
	for _, k := range plain[:10] {
		_ = os.Chtimes(filepath.Join(src, k), now, now)
	}
	edited := filepath.Join(src, plain[10])
	fi, _ := os.Stat(edited)
	data, _ := os.ReadFile(edited)
	for i := range data {
		data[i] ^= 0xff
	}
	writeFile(t, edited, data)
	_ = os.Chtimes(edited, fi.ModTime(), fi.ModTime())
	for i := range 5 {
		p := filepath.Join(src, fmt.Sprintf("added/n%d.txt", i))
		writeFile(t, p, []byte(fmt.Sprintf("added %d", i)))
		_ = os.Chtimes(p, now, now)
	}
	deleted := plain[20:23]
	for _, k := range deleted {
		_ = os.Remove(filepath.Join(src, k))
	}
	proxy.ResetCounts()
	r = runBin(t, bin, environ, args("--delete")...)
	puts, dels, other := uploads(proxy)
	if puts != 16 || dels != 3 || other != 0 {
		t.Fatalf("delta: %d uploads, %d deletes, %d other requests; want 16, 3, 0 (%v)\n%s", puts, dels, other, proxy.Counts(), r.stderr)
	}
	if r.stats.Copied != 16 || r.stats.Deleted != 3 {
		t.Fatalf("delta stats: %+v", r.stats)
	}
	assertTreeOnS3(t, env, bucket, "data/", src, skip, treeCheck{})
	for _, k := range deleted {
		if _, err := os.Stat(filepath.Join(env.Root, bucket, "data", k)); !os.IsNotExist(err) {
			t.Fatalf("deleted key %s still on target", k)
		}
	}
}

func assertContentTypes(t *testing.T, env testenv.S3Env, bucket string, want map[string]string) {
	t.Helper()
	cli := testenv.NewS3Client(env)
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h, err := cli.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("head %s: %v", k, err)
		}
		if got := aws.ToString(h.ContentType); got != want[k] {
			t.Errorf("%s: content type %q, want %q", k, got, want[k])
		}
	}
}
