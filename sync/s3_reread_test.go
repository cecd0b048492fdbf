package sync_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/evac-dev/evac/internal/faultproxy"
	"github.com/evac-dev/evac/internal/testenv"
	objsync "github.com/evac-dev/evac/sync"
)

// stFileBody is a RereadableBody over bytes, like a local file: Count
// records what the store metered; after flipAfter counted bytes (if > 0)
// ReadAt returns altered bytes (the file changed between the checksum pass
// and the send); after cancelAfter counted bytes Count cancels (a kill).
type stFileBody struct {
	*bytes.Reader
	counted     atomic.Int64
	flipAfter   int64
	cancelAfter int64
	cancel      context.CancelFunc
}

func stBody(data []byte) *stFileBody { return &stFileBody{Reader: bytes.NewReader(data)} }

func (b *stFileBody) Count(n int) error {
	c := b.counted.Add(int64(n))
	if b.cancelAfter > 0 && c >= b.cancelAfter {
		b.cancel()
		return context.Canceled
	}
	return nil
}

func (b *stFileBody) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.Reader.ReadAt(p, off)
	if b.flipAfter > 0 && b.counted.Load() >= b.flipAfter && n > 0 {
		p[0] ^= 0xff
	}
	return n, err
}

var _ objsync.RereadableBody = (*stFileBody)(nil)

// A file body is sent without buffering, through cut bodies, dropped
// responses and SlowDown, with a checksum and an unsigned payload on every
// request and FULL_OBJECT on completion; each byte is metered once.
func TestS3RereadablePutSurvivesFaults(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{PartConcurrency: 3})
	p.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.CutBody, CutAfter: 100 << 10, MinBody: 1 << 20, Times: 1})
	p.Add(faultproxy.Rule{Op: "UploadPart", Action: faultproxy.CutBody, CutAfter: 512 << 10, Times: 2})
	p.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.DropResponse, MinBody: 1 << 20, Times: 1})
	p.Add(faultproxy.Rule{Action: faultproxy.SlowDown, Fraction: 0.2})
	ctx := context.Background()
	objs := map[string][]byte{"single": stRandom(3<<20, 21), "multi": stRandom(16<<20, 22)}
	for k, data := range objs {
		b := stBody(data)
		res, err := s.Put(ctx, k, b, objsync.PutOptions{Size: int64(len(data)), ResumeID: "r1"})
		if err != nil {
			t.Fatalf("Put %s through faults: %v (faults %v)", k, err, p.Faults())
		}
		if want := objsync.FormatChecksum("", stSum(data)); res.Checksum != want {
			t.Errorf("%s: checksum %s, want %s", k, res.Checksum, want)
		}
		if got := b.counted.Load(); got != int64(len(data)) {
			t.Errorf("%s: metered %d bytes, want each of the %d once", k, got, len(data))
		}
	}
	for _, r := range p.Requests() {
		h := r.Header
		switch r.Op {
		case "PutObject", "UploadPart":
			if h.Get("X-Amz-Checksum-Crc64nvme") == "" || h.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
				t.Errorf("%s %s: checksum %q, content-sha256 %q", r.Op, r.Path, h.Get("X-Amz-Checksum-Crc64nvme"), h.Get("X-Amz-Content-Sha256"))
			}
		case "CompleteMultipartUpload":
			if h.Get("X-Amz-Checksum-Crc64nvme") == "" || h.Get("X-Amz-Checksum-Type") != "FULL_OBJECT" {
				t.Errorf("Complete without FULL_OBJECT checksum: %v", h)
			}
		case "HeadObject":
			t.Errorf("HEAD after PUT: %s", r.Path)
		}
	}
	p.ClearRules()
	for k, data := range objs {
		if !bytes.Equal(stReadAll(t, s, k), data) {
			t.Fatalf("%s differs after faults", k)
		}
		st, err := s.Stat(ctx, k)
		if err != nil || st.Checksum != objsync.FormatChecksum("", stSum(data)) {
			t.Fatalf("%s: Stat checksum %q (err %v), want the object's CRC64NVME", k, st.Checksum, err)
		}
	}
	if u := stUploads(t, s); len(u) != 0 {
		t.Fatalf("multipart uploads left behind: %v", u)
	}
	if f := p.Faults(); f[faultproxy.CutBody] != 3 || f[faultproxy.DropResponse] != 1 {
		t.Fatalf("faults fired %v, want 3 cut bodies and 1 dropped response; requests %v", f, p.Counts())
	}
}

// A file that changes between its checksum pass and the send is rejected by
// the server (BadDigest): nothing is written, the error wraps ErrChanged, and
// the request is not retried with the same stale checksum.
func TestS3RereadableChangedBetweenPasses(t *testing.T) {
	testenv.Require(t)
	s, p := stProxied(t, objsync.S3Options{PartConcurrency: 1})
	ctx := context.Background()
	for _, n := range []int{3 << 20, 16 << 20} {
		p.ResetCounts()
		data := stRandom(n, 23)
		b := stBody(data)
		b.flipAfter = int64(n)
		_, err := s.Put(ctx, "changing", b, objsync.PutOptions{Size: int64(n), ResumeID: "r1"})
		if !errors.Is(err, objsync.ErrChanged) || !strings.Contains(err.Error(), "BadDigest") {
			t.Fatalf("%d bytes: Put err = %v, want ErrChanged from a BadDigest", n, err)
		}
		if _, err := s.Stat(ctx, "changing"); !errors.Is(err, objsync.ErrNotFound) {
			t.Fatalf("%d bytes: a torn object exists (Stat err %v)", n, err)
		}
		c := p.Counts()
		if n < 8<<20 && c["PutObject"] != 1 {
			t.Errorf("single Put sent %d PutObject, want 1 (BadDigest of a re-read body is final)", c["PutObject"])
		}
		if n >= 8<<20 && c["UploadPart"] != 4 {
			t.Errorf("multipart sent %d UploadPart, want 4 (the last one rejected once)", c["UploadPart"])
		}
		if u := stUploads(t, s); len(u) != 0 {
			t.Fatalf("multipart uploads left behind: %v", u)
		}
	}
}

// An interrupted upload of a file body resumes: parts whose recomputed
// checksum matches the listed one are not sent again.
func TestS3RereadableResume(t *testing.T) {
	testenv.Require(t)
	s, _ := stNewS3(t, "p/", objsync.S3Options{PartConcurrency: 1})
	data := stRandom(16<<20, 24) // 5+5+5+1 MiB
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := stBody(data)
	b.cancelAfter, b.cancel = 11<<20, cancel
	if _, err := s.Put(ctx, "big", b, objsync.PutOptions{Size: int64(len(data)), ResumeID: "id-1"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Put err = %v, want context.Canceled", err)
	}
	if u := stUploads(t, s); len(u) != 1 {
		t.Fatalf("after the interruption %d uploads are open, want 1 kept for resume: %v", len(u), u)
	}
	res, err := s.Put(context.Background(), "big", stBody(data), objsync.PutOptions{Size: int64(len(data)), ResumeID: "id-1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent > int64(len(data))-5<<20 {
		t.Errorf("resumed Put sent %d of %d bytes, want the finished parts reused", res.Sent, len(data))
	}
	if !bytes.Equal(stReadAll(t, s, "big"), data) {
		t.Fatal("resumed object differs from the source")
	}
	if u := stUploads(t, s); len(u) != 0 {
		t.Fatalf("uploads left: %v", u)
	}
}
