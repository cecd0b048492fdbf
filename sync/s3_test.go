package sync_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	objsync "github.com/evac-dev/evac/sync"
	"github.com/evac-dev/evac/sync/storetest"

	"github.com/evac-dev/evac/internal/testenv"
)

// s3Client builds evac's own client (tuned transport, retryer) for env.
func stClientConfig(t *testing.T, env testenv.S3Env, endpoint string) objsync.S3ClientConfig {
	t.Helper()
	if endpoint == "" {
		endpoint = env.Endpoint
	}
	return objsync.S3ClientConfig{Endpoint: endpoint, Region: env.Region, AccessKey: env.AccessKey, SecretKey: env.SecretKey}
}

// newS3Store returns a store on a fresh bucket of the shared versitygw;
// prefix is the store's root inside the bucket.
func stNewS3(t *testing.T, prefix string, o objsync.S3Options) (*objsync.S3Store, string) {
	t.Helper()
	env := testenv.S3(t)
	bucket := testenv.NewBucket(t)
	return stNewS3On(t, stClientConfig(t, env, ""), "s3://"+bucket+"/"+prefix, o), bucket
}

func stNewS3On(t *testing.T, cc objsync.S3ClientConfig, url string, o objsync.S3Options) *objsync.S3Store {
	t.Helper()
	cli, err := objsync.NewS3Client(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	if o.PartSize == 0 {
		o.PartSize = 5 << 20
		o.MultipartThreshold = 8 << 20
	}
	s, err := objsync.NewS3Store(url, cli, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3StoreConformance(t *testing.T) {
	testenv.Require(t)
	for _, c := range []struct {
		name, prefix string
		alg          objsync.ChecksumAlgorithm
	}{{"CRC64NVME", "", ""}, {"CRC32C/prefix", "some/prefix/", objsync.ChecksumCRC32C}, {"MD5", "md5", objsync.ChecksumMD5}} {
		t.Run(c.name, func(t *testing.T) {
			storetest.RunWith(t, func(t *testing.T) objsync.Store {
				s, _ := stNewS3(t, c.prefix, objsync.S3Options{Checksum: c.alg})
				return s
			}, storetest.Options{UserMeta: true, LargeSize: 11 << 20, Checksum: c.alg})
		})
	}
}

// stCancelAfter cancels ctx once n bytes were read: a run killed mid-upload.
type stCancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *stCancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		return 0, context.Canceled
	}
	k, err := c.r.Read(p[:min(len(p), c.n)])
	c.n -= k
	return k, err
}

func stRandom(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func stUploads(t *testing.T, s *objsync.S3Store) []string {
	t.Helper()
	out, err := s.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s.Bucket())})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range out.Uploads {
		ids = append(ids, aws.ToString(u.Key)+"@"+aws.ToString(u.UploadId))
	}
	return ids
}

func stReadAll(t *testing.T, s objsync.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key, objsync.OpenOptions{Length: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// interrupted starts a Put of data with resumeID and cancels it after n bytes.
func stInterrupted(t *testing.T, s *objsync.S3Store, key string, data []byte, resumeID string, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &stCancelAfter{r: bytes.NewReader(data), n: n, cancel: cancel}
	_, err := s.Put(ctx, key, r, objsync.PutOptions{Size: int64(len(data)), ResumeID: resumeID})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Put err = %v, want context.Canceled", err)
	}
}

func TestS3MultipartResume(t *testing.T) {
	testenv.Require(t)
	s, _ := stNewS3(t, "p/", objsync.S3Options{PartConcurrency: 1})
	data := stRandom(16<<20, 1) // 4 parts: 5+5+5+1 MiB
	stInterrupted(t, s, "big", data, "id-1", 11<<20)
	if u := stUploads(t, s); len(u) != 1 {
		t.Fatalf("after the interruption %d uploads are open, want 1 kept for resume: %v", len(u), u)
	}
	res, err := s.Put(context.Background(), "big", bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data)), ResumeID: "id-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed Put sent %d of %d bytes", res.Sent, len(data))
	if res.Sent > int64(len(data))-5<<20 || res.Sent < int64(len(data))-10<<20 {
		t.Errorf("resumed Put sent %d of %d bytes, want the 1 or 2 finished parts reused", res.Sent, len(data))
	}
	if got := stReadAll(t, s, "big"); !bytes.Equal(got, data) {
		t.Fatal("resumed object differs from the source")
	}
	st, err := s.Stat(context.Background(), "big")
	if err != nil || st.Checksum != res.Checksum || !strings.HasPrefix(st.Checksum, "CRC64NVME:") {
		t.Fatalf("Stat checksum %q (err %v), want the FULL_OBJECT %q", st.Checksum, err, res.Checksum)
	}
	if u := stUploads(t, s); len(u) != 0 {
		t.Fatalf("uploads left: %v", u)
	}
	if k := stKeys(t, s); !slices.Equal(k, []string{"big"}) {
		t.Fatalf("List = %q, want [big] (the upload marker must be gone)", k)
	}
}

func stKeys(t *testing.T, s objsync.Store) []string {
	t.Helper()
	var out []string
	for o, err := range s.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o.Key)
	}
	return out
}

func TestS3MultipartResumeSourceChanged(t *testing.T) {
	testenv.Require(t)
	s, _ := stNewS3(t, "", objsync.S3Options{PartConcurrency: 1})
	old := stRandom(11<<20, 2)
	stInterrupted(t, s, "big", old, "id-1", 8<<20)
	// Same ResumeID but different bytes (a source that lied): no part may be reused.
	changed := stRandom(11<<20, 3)
	res, err := s.Put(context.Background(), "big", bytes.NewReader(changed), objsync.PutOptions{Size: int64(len(changed)), ResumeID: "id-1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != int64(len(changed)) {
		t.Errorf("sent %d, want all %d bytes (no listed part matches)", res.Sent, len(changed))
	}
	if !bytes.Equal(stReadAll(t, s, "big"), changed) {
		t.Fatal("object differs from the changed source")
	}
	// A new ResumeID aborts the stale upload and starts over.
	stInterrupted(t, s, "big2", old, "id-1", 8<<20)
	res, err = s.Put(context.Background(), "big2", bytes.NewReader(changed), objsync.PutOptions{Size: int64(len(changed)), ResumeID: "id-2"})
	if err != nil || res.Sent != int64(len(changed)) {
		t.Fatalf("Put with new ResumeID: sent %d, err %v", res.Sent, err)
	}
	if u := stUploads(t, s); len(u) != 0 {
		t.Fatalf("uploads left: %v", u)
	}
}

func TestS3AbortOrphans(t *testing.T) {
	testenv.Require(t)
	s, _ := stNewS3(t, "", objsync.S3Options{PartConcurrency: 1})
	stInterrupted(t, s, "a", stRandom(12<<20, 4), "x", 6<<20)
	stInterrupted(t, s, "b", stRandom(12<<20, 5), "y", 6<<20)
	if n, err := s.AbortOrphans(context.Background(), time.Hour); err != nil || n != 0 {
		t.Fatalf("AbortOrphans(1h) = %d, %v; want 0 (uploads are fresh)", n, err)
	}
	n, err := s.AbortOrphans(context.Background(), 0)
	if err != nil || n != 2 {
		t.Fatalf("AbortOrphans = %d, %v; want 2", n, err)
	}
	if u := stUploads(t, s); len(u) != 0 {
		t.Fatalf("uploads left: %v", u)
	}
	if k := stKeys(t, s); len(k) != 0 {
		t.Fatalf("keys left: %q", k)
	}
}

func TestS3ContentTypeAndHeaders(t *testing.T) {
	testenv.Require(t)
	s, _ := stNewS3(t, "", objsync.S3Options{})
	ctx := context.Background()
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)
	cases := []struct {
		key  string
		body []byte
		o    objsync.PutOptions
		want string
	}{
		{"page.html", []byte("<p>hi"), objsync.PutOptions{}, "text/html; charset=utf-8"},
		{"noext", png, objsync.PutOptions{}, "image/png"},
		{"given.bin", []byte("x"), objsync.PutOptions{ContentType: "application/x-evac"}, "application/x-evac"},
	}
	for _, c := range cases {
		c.o.Size = int64(len(c.body))
		if _, err := s.Put(ctx, c.key, bytes.NewReader(c.body), c.o); err != nil {
			t.Fatal(err)
		}
		if st, err := s.Stat(ctx, c.key); err != nil || st.ContentType != c.want {
			t.Errorf("%s: content type %q (err %v), want %q", c.key, st.ContentType, err, c.want)
		}
	}
	o := objsync.PutOptions{Size: 1, CacheControl: "max-age=60", ContentEncoding: "gzip", ContentDisposition: "attachment", ContentLanguage: "pt-BR", Meta: map[string]string{"owner": "court"}}
	if _, err := s.Put(ctx, "h", strings.NewReader("x"), o); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}
	if st.CacheControl != o.CacheControl || st.ContentEncoding != o.ContentEncoding || st.ContentDisposition != o.ContentDisposition || st.ContentLanguage != o.ContentLanguage || st.Meta["owner"] != "court" {
		t.Errorf("headers not kept: %+v", st)
	}
}

func TestS3ClearErrors(t *testing.T) {
	testenv.Require(t)
	env := testenv.S3(t)
	ctx := context.Background()
	missing := stNewS3On(t, stClientConfig(t, env, ""), "s3://evac-no-such-bucket-3/x", objsync.S3Options{})
	_, err := missing.Put(ctx, "k", strings.NewReader("x"), objsync.PutOptions{Size: 1})
	if err == nil || !strings.Contains(err.Error(), `bucket "evac-no-such-bucket-3" does not exist: create it or fix the URL`) {
		t.Errorf("missing bucket err = %v", err)
	}
	bucket := testenv.NewBucket(t)
	bad := stClientConfig(t, env, "")
	bad.SecretKey = "wrong-secret-d00d"
	s := stNewS3On(t, bad, "s3://"+bucket, objsync.S3Options{})
	_, err = s.Stat(ctx, "k")
	for _, l := range s.List(ctx, "") {
		err = l
	}
	if err == nil || !strings.Contains(err.Error(), "credentials rejected: check the access key/secret or profile") || strings.Contains(err.Error(), "wrong-secret-d00d") {
		t.Errorf("bad credentials err = %v", err)
	}
}

func TestS3ServerSideCopy(t *testing.T) {
	testenv.Require(t)
	env := testenv.S3(t)
	cc := stClientConfig(t, env, "")
	srcBucket, dstBucket := testenv.NewBucket(t), testenv.NewBucket(t)
	o := objsync.S3Options{Endpoint: env.Endpoint, CredentialID: env.AccessKey, CopyCutoff: 6 << 20}
	src := stNewS3On(t, cc, "s3://"+srcBucket+"/in", o)
	dst := stNewS3On(t, cc, "s3://"+dstBucket+"/out/", o)
	if !dst.CanCopyFrom(src) {
		t.Fatal("CanCopyFrom is false for two buckets on one endpoint")
	}
	ctx := context.Background()
	for _, c := range []struct {
		key  string
		size int
	}{{"small +file?.txt", 1000}, {"big/one.bin", 11 << 20}} {
		data := stRandom(c.size, 9)
		po := objsync.PutOptions{Size: int64(c.size), CacheControl: "no-cache", Meta: map[string]string{"mtime": "1700000000.5"}}
		if _, err := src.Put(ctx, c.key, bytes.NewReader(data), po); err != nil {
			t.Fatal(err)
		}
		var so objsync.Object
		for obj, err := range src.List(ctx, c.key) {
			if err != nil {
				t.Fatal(err)
			}
			so = obj
		}
		res, err := dst.Copy(ctx, src, so, c.key, objsync.PutOptions{}, false)
		if err != nil {
			t.Fatalf("Copy %s: %v", c.key, err)
		}
		if res.Sent != 0 {
			t.Errorf("%s: server-side copy sent %d bytes through evac", c.key, res.Sent)
		}
		if !bytes.Equal(stReadAll(t, dst, c.key), data) {
			t.Fatalf("%s: copy differs", c.key)
		}
		st, err := dst.Stat(ctx, c.key)
		if err != nil || st.Meta["mtime"] != "1700000000.5" || st.CacheControl != "no-cache" {
			t.Errorf("%s: metadata/headers not copied: %+v (err %v)", c.key, st, err)
		}
		h := objsync.ChecksumCRC64NVME.New()
		h.Write(data)
		if want := objsync.FormatChecksum(objsync.ChecksumCRC64NVME, h.Sum(nil)); res.Checksum != "" && res.Checksum != want {
			t.Errorf("%s: copy checksum %q, want %q", c.key, res.Checksum, want)
		}
	}
	other := stNewS3On(t, cc, "s3://"+dstBucket+"/x", objsync.S3Options{Endpoint: "http://elsewhere"})
	if other.CanCopyFrom(src) {
		t.Fatal("CanCopyFrom is true across endpoints")
	}
	so, _ := src.Stat(ctx, "small +file?.txt")
	if _, err := other.Copy(ctx, src, so, "streamed", objsync.PutOptions{}, true); err != nil {
		t.Fatalf("streamed fallback: %v", err)
	}
	if got := stReadAll(t, other, "streamed"); len(got) != 1000 {
		t.Fatalf("streamed copy has %d bytes", len(got))
	}
}

func TestS3PutUnknownSize(t *testing.T) {
	testenv.Require(t)
	s, _ := stNewS3(t, "", objsync.S3Options{})
	ctx := context.Background()
	for _, n := range []int{0, 100, 5 << 20, 7 << 20} { // 5 MiB ends on a part boundary
		data := stRandom(n, byte(n))
		res, err := s.Put(ctx, "u", io.MultiReader(bytes.NewReader(data)), objsync.PutOptions{Size: -1})
		if err != nil {
			t.Fatalf("Put %d bytes of unknown size: %v", n, err)
		}
		if want := objsync.FormatChecksum("", stSum(data)); res.Checksum != want || !bytes.Equal(stReadAll(t, s, "u"), data) {
			t.Fatalf("%d bytes: checksum %s want %s, or bytes differ", n, res.Checksum, want)
		}
		// HEAD returns the same full-object checksum, single PUT or multipart.
		if st, err := s.Stat(ctx, "u"); err != nil || st.Checksum != res.Checksum {
			t.Fatalf("%d bytes: Stat checksum %q (err %v), want %q", n, st.Checksum, err, res.Checksum)
		}
	}
}
