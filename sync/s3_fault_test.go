package sync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/evac-dev/evac/internal/faultproxy"
	"github.com/evac-dev/evac/internal/testenv"
	objsync "github.com/evac-dev/evac/sync"
)

// proxied returns a store whose client talks to versitygw through a fault proxy.
func stProxied(t *testing.T, o objsync.S3Options) (*objsync.S3Store, *faultproxy.Proxy) {
	t.Helper()
	env := testenv.S3(t)
	p, err := faultproxy.New(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	bucket := testenv.NewBucket(t)
	cc := stClientConfig(t, env, p.URL)
	cc.MaxBackoff = 50e6 // 50ms: keep the test fast
	return stNewS3On(t, cc, "s3://"+bucket+"/f/", o), p
}

func TestS3PutSurvivesFaults(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{PartConcurrency: 4})
	p.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.CutBody, CutAfter: 100 << 10, MinBody: 1 << 20, Times: 1})
	p.Add(faultproxy.Rule{Op: "UploadPart", Action: faultproxy.CutBody, CutAfter: 512 << 10, Times: 2})
	p.Add(faultproxy.Rule{Op: "CompleteMultipartUpload", Action: faultproxy.DropResponse, Times: 1})
	p.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.DropResponse, Times: 1})
	p.Add(faultproxy.Rule{Action: faultproxy.Reset, Times: 3, Fraction: 0.1})
	p.Add(faultproxy.Rule{Action: faultproxy.SlowDown, Fraction: 0.2})
	ctx := context.Background()
	objs := map[string][]byte{"small": stRandom(3<<20, 11), "big": stRandom(16<<20, 12), "tiny": []byte("t")}
	for k, data := range objs {
		res, err := s.Put(ctx, k, bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data))})
		if err != nil {
			t.Fatalf("Put %s through faults: %v (faults %v)", k, err, p.Faults())
		}
		if want := objsync.FormatChecksum("", stSum(data)); res.Checksum != want {
			t.Errorf("%s: checksum %s, want %s", k, res.Checksum, want)
		}
	}
	p.ClearRules()
	for k, data := range objs {
		if !bytes.Equal(stReadAll(t, s, k), data) {
			t.Fatalf("%s differs after faults", k)
		}
	}
	if u := stUploads(t, s); len(u) != 0 {
		t.Fatalf("multipart uploads left behind: %v", u)
	}
	f := p.Faults()
	if f[faultproxy.CutBody] != 3 || f[faultproxy.DropResponse] != 2 || f[faultproxy.SlowDown] == 0 {
		t.Fatalf("faults fired %v, want 3 cut bodies, 2 dropped responses, some SlowDown; requests %v", f, p.Counts())
	}
	t.Logf("faults %v, requests %v", f, p.Counts())
}

func stSum(b []byte) []byte {
	h := objsync.ChecksumCRC64NVME.New()
	h.Write(b)
	return h.Sum(nil)
}

// Every body-carrying request has a checksum and an unsigned payload; SSE
// and storage class headers are sent (versitygw ignores them, so they are
// checked on the wire).
func TestS3RequestHeaders(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{SSE: "aws:kms", SSEKMSKeyID: "key-1", StorageClass: "STANDARD_IA"})
	ctx := context.Background()
	for _, n := range []int{10, 20 << 20} {
		if _, err := s.Put(ctx, "h", bytes.NewReader(make([]byte, n)), objsync.PutOptions{Size: int64(n)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range p.Requests() {
		h := r.Header
		switch r.Op {
		case "PutObject", "UploadPart":
			if h.Get("X-Amz-Checksum-Crc64nvme") == "" || h.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
				t.Errorf("%s %s: checksum %q, content-sha256 %q", r.Op, r.Path, h.Get("X-Amz-Checksum-Crc64nvme"), h.Get("X-Amz-Content-Sha256"))
			}
		}
		switch r.Op {
		case "CreateMultipartUpload", "PutObject":
			if r.Path[len(r.Path)-1] == 'h' && (h.Get("X-Amz-Server-Side-Encryption") != "aws:kms" ||
				h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "key-1" || h.Get("X-Amz-Storage-Class") != "STANDARD_IA") {
				t.Errorf("%s: SSE/storage class headers missing: %v", r.Op, h)
			}
		case "CompleteMultipartUpload":
			if h.Get("X-Amz-Checksum-Crc64nvme") == "" || h.Get("X-Amz-Checksum-Type") != "FULL_OBJECT" {
				t.Errorf("Complete without FULL_OBJECT checksum: %v", h)
			}
		}
	}
	c := p.Counts()
	if c["PutObject"] != 2 || c["UploadPart"] != 4 || c["HeadObject"] != 0 {
		t.Errorf("requests %v: want 2 PutObject (object + upload marker), 4 parts, no HEAD after PUT", c)
	}
}

// A Complete whose response was lost is retried; the server then answers
// NoSuchUpload, and the store decides by the object's checksum.
func TestS3CompleteNoSuchUploadResolvedByHead(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{})
	p.Add(faultproxy.Rule{Op: "CompleteMultipartUpload", Action: faultproxy.DropResponse, Times: 1})
	p.Add(faultproxy.Rule{Op: "CompleteMultipartUpload", Action: faultproxy.Respond, Status: 404, Code: "NoSuchUpload", Times: 1})
	data := stRandom(9<<20, 13)
	res, err := s.Put(context.Background(), "k", bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data)), ResumeID: "r"})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if c := p.Counts(); c["HeadObject"] != 1 || c["CompleteMultipartUpload"] != 2 {
		t.Fatalf("requests %v, want 2 Completes and 1 HEAD", c)
	}
	if want := objsync.FormatChecksum("", stSum(data)); res.Checksum != want || !bytes.Equal(stReadAll(t, s, "k"), data) {
		t.Fatalf("checksum %s, want %s (or bytes differ)", res.Checksum, want)
	}
	// A NoSuchUpload where the object is not ours is an error, not success.
	p.Add(faultproxy.Rule{Op: "CompleteMultipartUpload", Action: faultproxy.Respond, Status: 404, Code: "NoSuchUpload", Times: 1})
	other := stRandom(9<<20, 14)
	_, err = s.Put(context.Background(), "k", bytes.NewReader(other), objsync.PutOptions{Size: int64(len(other))})
	if err == nil || !strings.Contains(err.Error(), "upload vanished and the object's checksum is") {
		t.Fatalf("Put with a vanished upload: %v", err)
	}
	if !bytes.Equal(stReadAll(t, s, "k"), data) {
		t.Fatal("the old object was replaced")
	}
}

// The fact the design rests on, checked through the proxy: versitygw makes a
// cut-off PUT without a checksum a visible truncated object; evac's
// checksummed PUT of the same cut is rejected and retried.
func TestS3CutPutWithoutChecksumIsTruncated(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{})
	p.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.CutBody, CutAfter: 64 << 10, Times: 2})
	data := stRandom(1<<20, 21)
	_, err := s.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket()), Key: aws.String("f/raw"), Body: bytes.NewReader(data),
	}, func(o *s3.Options) { o.RetryMaxAttempts = 1 }, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err == nil {
		t.Fatal("cut PUT reported success")
	}
	if st, err := s.Stat(context.Background(), "raw"); err == nil && st.Size != int64(len(data)) {
		t.Logf("versitygw kept a truncated object of %d bytes (known behaviour without a checksum)", st.Size)
	}
	res, err := s.Put(context.Background(), "safe", bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stReadAll(t, s, "safe"), data) || res.Checksum != objsync.FormatChecksum("", stSum(data)) {
		t.Fatal("checksummed PUT after a cut differs")
	}
	if p.Faults()[faultproxy.CutBody] != 2 {
		t.Fatalf("faults %v", p.Faults())
	}
}

// 160 retries exceed the SDK's default retry quota (500 tokens, 5 per retry);
// evac's retryer has none, so a storm of SlowDown slows it but never fails it.
func TestS3RetryStormWithoutQuota(t *testing.T) {
	testenv.Require(t)
	env := testenv.S3(t)
	p, err := faultproxy.New(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	var retries atomic.Int64
	cc := stClientConfig(t, env, p.URL)
	cc.MaxBackoff = 5e6
	cc.OnRetry = func(error) { retries.Add(1) }
	s := stNewS3On(t, cc, "s3://"+testenv.NewBucket(t), objsync.S3Options{})
	p.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.SlowDown, Fraction: 0.8})
	for i := range 40 { // sequential: each Put sees at most 4 SlowDowns in a row
		if _, err := s.Put(context.Background(), fmt.Sprint("k", i), strings.NewReader("x"), objsync.PutOptions{Size: 1}); err != nil {
			t.Fatalf("Put under a SlowDown storm: %v", err)
		}
	}
	if n := retries.Load(); n < 150 || int(n) != p.Faults()[faultproxy.SlowDown] {
		t.Fatalf("OnRetry saw %d retries, proxy sent %d SlowDown; want the same, >= 150", n, p.Faults()[faultproxy.SlowDown])
	}
	if k := stKeys(t, s); len(k) != 40 {
		t.Fatalf("%d objects, want 40", len(k))
	}
}

func TestS3CopyFallsBackOnAccessDenied(t *testing.T) {
	testenv.Require(t)
	env := testenv.S3(t)
	p, err := faultproxy.New(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	cc := stClientConfig(t, env, p.URL)
	o := objsync.S3Options{Endpoint: p.URL, CredentialID: env.AccessKey, CopyCutoff: 6 << 20}
	src := stNewS3On(t, cc, "s3://"+testenv.NewBucket(t), o)
	dst := stNewS3On(t, cc, "s3://"+testenv.NewBucket(t), o)
	ctx := context.Background()
	data := stRandom(11<<20, 31)
	if _, err := src.Put(ctx, "k", bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	so, err := src.Stat(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	p.ResetCounts()
	res, err := dst.Copy(ctx, src, so, "server", objsync.PutOptions{}, false)
	if err != nil || res.Sent != 0 {
		t.Fatalf("server-side copy: sent %d, %v", res.Sent, err)
	}
	if c := p.Counts(); c["UploadPartCopy"] != 3 || c["UploadPart"] != 0 || c["GetObject"] != 0 {
		t.Fatalf("requests %v: want 3 UploadPartCopy (11 MiB in 5 MiB parts), no data through evac", c)
	}
	p.Add(faultproxy.Rule{Op: "UploadPartCopy", Action: faultproxy.Respond, Status: 403, Code: "AccessDenied"})
	if _, err := dst.Copy(ctx, src, so, "denied", objsync.PutOptions{}, false); err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("copy without fallback: %v", err)
	}
	res, err = dst.Copy(ctx, src, so, "streamed", objsync.PutOptions{Size: so.Size}, true)
	if err != nil || res.Sent != int64(len(data)) {
		t.Fatalf("fallback: sent %d, %v", res.Sent, err)
	}
	if !bytes.Equal(stReadAll(t, dst, "streamed"), data) || !bytes.Equal(stReadAll(t, dst, "server"), data) {
		t.Fatal("copies differ")
	}
	if u := stUploads(t, dst); len(u) != 0 {
		t.Fatalf("uploads left: %v", u)
	}
}

// A download broken mid-way resumes with a ranged GET pinned to the ETag.
func TestS3OpenResumesBrokenDownload(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{})
	ctx := context.Background()
	data := stRandom(3<<20, 41)
	if _, err := s.Put(ctx, "k", bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	p.Add(faultproxy.Rule{Op: "GetObject", Action: faultproxy.CutResponse, CutAfter: 1 << 20, Times: 2})
	if got := stReadAll(t, s, "k"); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes through two broken downloads, want the %d written", len(got), len(data))
	}
	p.Add(faultproxy.Rule{Op: "GetObject", Action: faultproxy.CutResponse, CutAfter: 1 << 20, Times: 1})
	rc, err := s.Open(ctx, "k", objsync.OpenOptions{Offset: 100, Length: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data[100:100+2<<20]) {
		t.Fatalf("ranged read: %d bytes, %v", len(got), err)
	}
	if c := p.Counts(); c["GetObject"] != 5 {
		t.Fatalf("GetObject requests = %d, want 5 (2 reads, 3 resumes)", c["GetObject"])
	}
	// The object changes between the cut and the resume: reported, not spliced.
	p.Add(faultproxy.Rule{Op: "GetObject", Action: faultproxy.CutResponse, CutAfter: 1 << 20, Times: 1})
	rc, err = s.Open(ctx, "k", objsync.OpenOptions{Length: -1})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	io.ReadFull(rc, buf)
	if _, err := s.Put(ctx, "k", bytes.NewReader(stRandom(3<<20, 42)), objsync.PutOptions{Size: 3 << 20}); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, objsync.ErrChanged) {
		t.Fatalf("read across a change: %v, want ErrChanged", err)
	}
}

// A part refused for good fails the Put with the cause and aborts the upload.
func TestS3PartDeniedAbortsUpload(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{PartConcurrency: 2})
	p.Add(faultproxy.Rule{Op: "UploadPart", Action: faultproxy.Respond, Status: 403, Code: "AccessDenied"})
	data := stRandom(16<<20, 51)
	_, err := s.Put(context.Background(), "k", bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data)), ResumeID: "r"})
	if err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("Put with parts denied: %v", err)
	}
	if u := stUploads(t, s); len(u) != 0 {
		t.Fatalf("uploads left: %v", u)
	}
	if k := stKeys(t, s); len(k) != 0 {
		t.Fatalf("keys left (marker?): %q", k)
	}
}

// A server without CRC64NVME (or CRC32C) support: an automatically chosen
// algorithm steps down to the next one; an explicit one does not.
func TestS3ChecksumFallback(t *testing.T) {
	testenv.Require(t)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		alg   objsync.ChecksumAlgorithm
		size  int
		want  string
		fails bool
	}{
		{"auto/single", "", 100, "CRC32C:", false},
		{"auto/multipart", "", 9 << 20, "CRC32C:", false},
		{"explicit", objsync.ChecksumCRC64NVME, 100, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, p := stProxied(t, objsync.S3Options{Checksum: c.alg})
			p.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.Respond, Status: 400, Code: "InvalidArgument", Header: "X-Amz-Checksum-Crc64nvme"})
			p.Add(faultproxy.Rule{Op: "CreateMultipartUpload", Action: faultproxy.Respond, Status: 501, Code: "NotImplemented", Header: "X-Amz-Checksum-Algorithm=crc64nvme"})
			data := stRandom(c.size, 61)
			res, err := s.Put(ctx, "k", bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data))})
			if c.fails {
				if err == nil {
					t.Fatal("explicit CRC64NVME on a server without it succeeded")
				}
				return
			}
			if err != nil || !strings.HasPrefix(res.Checksum, c.want) || !bytes.Equal(stReadAll(t, s, "k"), data) {
				t.Fatalf("Put: %q, %v; want a %s checksum and the bytes", res.Checksum, err, c.want)
			}
		})
	}
}
