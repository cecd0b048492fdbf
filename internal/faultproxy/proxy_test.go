package faultproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

func TestOperation(t *testing.T) {
	cases := []struct {
		method, target, copySrc, want string
	}{
		{"GET", "/", "", "ListBuckets"},
		{"GET", "/b?list-type=2&prefix=x", "", "ListObjectsV2"},
		{"GET", "/b/?uploads", "", "ListMultipartUploads"},
		{"HEAD", "/b", "", "HeadBucket"},
		{"PUT", "/b", "", "CreateBucket"},
		{"POST", "/b?delete", "", "DeleteObjects"},
		{"GET", "/b/k/x", "", "GetObject"},
		{"GET", "/b/k?uploadId=1", "", "ListParts"},
		{"GET", "/b/k?attributes", "", "GetObjectAttributes"},
		{"HEAD", "/b/k", "", "HeadObject"},
		{"PUT", "/b/k", "", "PutObject"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", "", "UploadPart"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", "src/k", "UploadPartCopy"},
		{"PUT", "/b/k", "src/k", "CopyObject"},
		{"POST", "/b/k?uploads", "", "CreateMultipartUpload"},
		{"POST", "/b/k?uploadId=u", "", "CompleteMultipartUpload"},
		{"DELETE", "/b/k?uploadId=u", "", "AbortMultipartUpload"},
		{"DELETE", "/b/k", "", "DeleteObject"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, nil)
		if c.copySrc != "" {
			r.Header.Set("X-Amz-Copy-Source", c.copySrc)
		}
		if got := Operation(r); got != c.want {
			t.Errorf("%s %s = %s, want %s", c.method, c.target, got, c.want)
		}
	}
}

// upstream records the bodies it received.
type upstream struct {
	mu     gosync.Mutex
	bodies []int
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	u.mu.Lock()
	u.bodies = append(u.bodies, int(n))
	u.mu.Unlock()
	w.Header().Set("ETag", `"x"`)
	io.WriteString(w, "ok:"+r.Host)
}

func (u *upstream) received() []int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]int(nil), u.bodies...)
}

func start(t *testing.T) (*Proxy, *upstream) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	p, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, up
}

func put(p *Proxy, path string, n int) (*http.Response, error) {
	req, _ := http.NewRequest("PUT", p.URL+path, bytes.NewReader(make([]byte, n)))
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return c.Do(req)
}

func TestForwardKeepsHostAndCounts(t *testing.T) {
	p, up := start(t)
	resp, err := put(p, "/b/k", 10)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "ok:" + strings.TrimPrefix(p.URL, "http://"); string(body) != want || resp.Header.Get("ETag") != `"x"` {
		t.Fatalf("relayed %q (etag %q), want %q: the Host header must be the proxy's (SigV4 signs it)", body, resp.Header.Get("ETag"), want)
	}
	if c := p.Counts(); c["PutObject"] != 1 || len(c) != 1 {
		t.Fatalf("counts = %v", c)
	}
	if got := up.received(); len(got) != 1 || got[0] != 10 {
		t.Fatalf("upstream got %v", got)
	}
}

func TestFaults(t *testing.T) {
	p, up := start(t)
	p.Add(Rule{Op: "UploadPart", Action: CutBody, CutAfter: 1000, Times: 1})
	p.Add(Rule{Op: "PutObject", Action: SlowDown, Times: 1})
	p.Add(Rule{Op: "PutObject", Action: Reset, Times: 1})
	p.Add(Rule{Op: "PutObject", Action: DropResponse, Times: 1})

	if _, err := put(p, "/b/k?partNumber=1&uploadId=u", 100000); err == nil {
		t.Fatal("cut UploadPart: client saw no error")
	}
	resp, err := put(p, "/b/k", 10)
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("SlowDown: %v %v", resp, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "<Code>SlowDown</Code>") {
		t.Fatalf("SlowDown body %q", b)
	}
	if _, err := put(p, "/b/k", 10); err == nil {
		t.Fatal("reset: client saw no error")
	}
	if _, err := put(p, "/b/k", 20); err == nil {
		t.Fatal("drop-response: client saw no error")
	}
	resp, err = put(p, "/b/k", 30)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the rules ran out: %v %v", resp, err)
	}
	resp.Body.Close()
	// The cut part reached the server truncated; the dropped PUT arrived whole.
	// (The server may notice the cut body after later requests: sort.)
	var got []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = up.received(); len(got) == 3 {
			break
		}
	}
	slices.Sort(got)
	if len(got) != 3 || got[0] != 20 || got[1] != 30 || got[2] != 1000 {
		t.Fatalf("upstream received bodies %v, want 20, 30 and the 1000 bytes of the cut one", got)
	}
	f := p.Faults()
	if f[CutBody] != 1 || f[SlowDown] != 1 || f[Reset] != 1 || f[DropResponse] != 1 {
		t.Fatalf("faults = %v", f)
	}
	if c := p.Counts(); c["PutObject"] != 4 || c["UploadPart"] != 1 {
		t.Fatalf("counts = %v", c)
	}
	if r := p.Requests(); len(r) != 5 || r[0].Fault != CutBody || r[4].Fault != "" {
		t.Fatalf("request log = %+v", r)
	}
}

func TestFraction(t *testing.T) {
	p, _ := start(t)
	p.Add(Rule{Action: SlowDown, Fraction: 0.2})
	slow := 0
	for range 200 {
		resp, err := put(p, "/b/k", 1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			slow++
		}
	}
	if slow != 40 {
		t.Fatalf("%d of 200 requests got SlowDown, want 40", slow)
	}
}

func TestCutResponse(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 100000))
	}))
	t.Cleanup(big.Close)
	p, err := New(big.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.Add(Rule{Op: "GetObject", Action: CutResponse, CutAfter: 5000, Times: 1})
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(p.URL + "/b/k")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil || n != 5000 {
		t.Fatalf("cut response: read %d bytes, err %v; want 5000 and an error", n, err)
	}
	resp, err = c.Get(p.URL + "/b/k")
	if err != nil {
		t.Fatal(err)
	}
	n, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 100000 {
		t.Fatalf("second GET: %d bytes, %v", n, err)
	}
}

func TestRuleHeaderMatches(t *testing.T) {
	h := http.Header{}
	h.Set("X-Amz-Checksum-Algorithm", "CRC64NVME")
	cases := map[string]bool{"": true, "X-Amz-Checksum-Algorithm": true, "X-Amz-Checksum-Algorithm=crc64nvme": true,
		"X-Amz-Checksum-Algorithm=CRC32C": false, "X-Amz-Checksum-Crc64nvme": false}
	for hdr, want := range cases {
		if got := (Rule{Header: hdr}).headerMatches(h); got != want {
			t.Errorf("Header %q matches = %v, want %v", hdr, got, want)
		}
	}
}
