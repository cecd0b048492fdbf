package sync_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/faultproxy"
	"github.com/evac-dev/evac/internal/testenv"
)

// smallTree writes n small files and one large file of largeMiB.
func smallTree(t *testing.T, dir string, n, largeMiB int) {
	t.Helper()
	for i := range n {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("s/%02d/f%04d.dat", i%16, i)), randomBytes(1024+i%3000, uint64(i)))
	}
	writeFile(t, filepath.Join(dir, "big/large.bin"), randomBytes(largeMiB<<20, 99))
	old := time.Now().Add(-time.Hour)
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			_ = os.Chtimes(p, old, old)
		}
		return nil
	})
}

// e2eFaultProxy: a PUT and an UploadPart cut mid-body, 503 SlowDown on
// 20% of requests, reset connections and a response dropped after the
// server applied the request. The sync completes byte-identical and leaves
// no multipart upload behind.
func e2eFaultProxy(t *testing.T, bin string) {
	env := testenv.S3(t)
	bucket := newBucket(t, env)
	proxy, err := faultproxy.New(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	src, jdir := t.TempDir(), t.TempDir()
	smallTree(t, src, 50, 24)
	proxy.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.CutBody, Times: 1, CutAfter: 500, MinBody: 2000})
	proxy.Add(faultproxy.Rule{Op: "UploadPart", Action: faultproxy.CutBody, Times: 1, CutAfter: 1 << 20})
	proxy.Add(faultproxy.Rule{Op: "PutObject", Action: faultproxy.DropResponse, Times: 2})
	proxy.Add(faultproxy.Rule{Op: "UploadPart", Action: faultproxy.DropResponse, Times: 1})
	proxy.Add(faultproxy.Rule{Action: faultproxy.Reset, Times: 3})
	proxy.Add(faultproxy.Rule{Action: faultproxy.SlowDown, Fraction: 0.2})
	r := runBin(t, bin, evacEnv(t, env), "sync", src, "s3://"+bucket+"/f", "--target-endpoint", proxy.URL,
		"--journal-dir", jdir, "--json", "--part-size", "8MiB", "--multipart-threshold", "16MiB", "--workers", "16")
	faults := proxy.Faults()
	proxy.ClearRules()
	if r.code != 0 || r.stats.Copied != 51 {
		t.Fatalf("exit %d, stats %+v, faults %v\n%s", r.code, r.stats, faults, r.stderr)
	}
	for _, a := range []faultproxy.Action{faultproxy.CutBody, faultproxy.SlowDown, faultproxy.Reset, faultproxy.DropResponse} {
		if faults[a] == 0 {
			t.Errorf("fault %s never fired: %v", a, faults)
		}
	}
	t.Logf("stats %+v faults %v", r.stats, faults)
	if r.stats.Retries == 0 {
		t.Errorf("stats report no retries despite %v", faults)
	}
	assertTreeOnS3(t, env, bucket, "f/", src, nil, treeCheck{})
	if n := pendingUploads(t, env, bucket); n != 0 {
		t.Fatalf("%d multipart uploads left behind", n)
	}
}

// e2eKillAndResume kills the real binary with SIGKILL in the middle of a
// large multipart upload and while small PUTs are not yet journaled, then
// reruns: the target ends identical and the large file resumes (fewer bytes
// sent than its size).
func e2eKillAndResume(t *testing.T, bin string) {
	env := testenv.S3(t)
	bucket := newBucket(t, env)
	proxy, err := faultproxy.New(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	src, jdir, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	largeMiB := e2eSize(t, "EVAC_E2E_CRASH_MIB", 300) // the 300 MiB
	smallTree(t, src, 400, largeMiB)
	environ := evacEnv(t, env)
	args := []string{"sync", src, "s3://" + bucket + "/k", "--target-endpoint", proxy.URL, "--journal-dir", jdir,
		"--part-size", "8MiB", "--multipart-threshold", "16MiB", "--part-workers", "2", "--workers", "4", "--bwlimit", "24MiB"}

	// Deterministic crash point: after 3 parts reached the server (and
	// small objects were PUT but not yet journaled), kill -9.
	killWhen(t, bin, environ, args, proxy, func(c map[string]int) bool { return c["UploadPart"] >= 3 && c["PutObject"] >= 50 })
	// Random crash point.
	killWhen(t, bin, environ, args, proxy, func(map[string]int) bool { return false }, 200*time.Millisecond+time.Duration(time.Now().UnixNano()%500)*time.Millisecond)

	report := filepath.Join(tmp, "resume.ndjson")
	r := runBin(t, bin, environ, append(args[:len(args)-2], "--json", "--report", report)...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d %+v\n%s", r.code, r.stats, r.stderr)
	}
	assertTreeOnS3(t, env, bucket, "k/", src, nil, treeCheck{headEvery: 1})
	if n := pendingUploads(t, env, bucket); n != 0 {
		t.Fatalf("%d multipart uploads left behind", n)
	}
	size := int64(largeMiB << 20)
	found := false
	actions := map[string]int{}
	for _, rec := range reportLines(t, report) {
		actions[rec.Action]++
		if rec.Key == "big/large.bin" {
			found = true
			if rec.Action == "copy" && rec.Sent >= size {
				t.Fatalf("large file re-sent %d of %d bytes: upload did not resume", rec.Sent, size)
			}
			t.Logf("large file after kills: %s, sent %d of %d bytes", rec.Action, rec.Sent, size)
		}
	}
	if !found {
		t.Fatal("large file not in the rerun's report")
	}
	// Objects PUT before a kill but not yet journaled are adopted with one
	// HEAD each, not uploaded again.
	t.Logf("rerun actions: %v", actions)
	if actions["copy"]+actions["adopt"]+actions["skip"] != 401 || actions["fail"] != 0 {
		t.Fatalf("rerun report: %v, want 401 objects accounted for and no failure", actions)
	}
}

// killWhen starts the binary and SIGKILLs it once cond holds on the
// proxy's counts, or after the optional delay.
func killWhen(t *testing.T, bin string, environ, args []string, p *faultproxy.Proxy, cond func(map[string]int) bool, after ...time.Duration) {
	t.Helper()
	p.ResetCounts()
	cmd := exec.Command(bin, args...)
	cmd.Env = environ
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	if len(after) > 0 {
		deadline = time.Now().Add(after[0])
	}
	for time.Now().Before(deadline) && !cond(p.Counts()) {
		select {
		case err := <-done:
			if len(after) > 0 { // a random kill may come too late: fine
				t.Logf("evac finished before the random kill: %v", err)
				return
			}
			t.Fatalf("evac finished before the crash point (%v): %v\n%s", p.Counts(), err, errOut.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-done
	t.Logf("killed at %v", p.Counts())
}
