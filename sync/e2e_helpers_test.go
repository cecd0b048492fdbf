package sync_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/evac-dev/evac/internal/testenv"
	objsync "github.com/evac-dev/evac/sync"
)

// newBucket is testenv.NewBucketOn plus a faster cleanup: the objects are
// removed through the posix backend directory first (deleting thousands of
// objects one request at a time under -race takes tens of seconds), then
// testenv deletes the (now empty) bucket.
func newBucket(t *testing.T, env testenv.S3Env) string {
	t.Helper()
	b := testenv.NewBucketOn(t, env)
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("EVAC_TEST_KEEP") == "1" {
			return
		}
		entries, _ := os.ReadDir(filepath.Join(env.Root, b))
		for _, e := range entries {
			_ = os.RemoveAll(filepath.Join(env.Root, b, e.Name()))
		}
	})
	return b
}

// buildEvac builds the real binary (cached by the go build cache; only the
// link runs again) into the test's temp dir.
func buildEvac(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin := filepath.Join(t.TempDir(), "evac")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/evac")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// evacRun is one run of the binary.
type evacRun struct {
	code           int
	stdout, stderr string
	stats          objsync.Stats
}

// evacEnv is the environment for the binary: credentials for env, a private
// HOME so ~/.aws is never read.
func evacEnv(t *testing.T, env testenv.S3Env) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_ACCESS_KEY_ID=" + env.AccessKey, "AWS_SECRET_ACCESS_KEY=" + env.SecretKey,
		"AWS_REGION=" + env.Region, "AWS_EC2_METADATA_DISABLED=true",
	}
}

func runBin(t *testing.T, bin string, environ []string, args ...string) evacRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = environ
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := evacRun{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run evac: %v", err)
	}
	if strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
		if err := json.Unmarshal([]byte(r.stdout), &r.stats); err != nil {
			t.Fatalf("--json output: %v\n%s", err, r.stdout)
		}
	}
	return r
}

// reportLines reads an NDJSON report.
func reportLines(t *testing.T, path string) []objsync.ReportRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []objsync.ReportRecord
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r objsync.ReportRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("report line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

var crc64nvme = crc64.MakeTable(0x9a6c9329ac4bc9b5)

func crcOf(b []byte) string {
	var s [8]byte
	v := crc64.Checksum(b, crc64nvme)
	for i := range 8 {
		s[i] = byte(v >> (56 - 8*i))
	}
	return base64.StdEncoding.EncodeToString(s[:])
}

// treeCheck says how deeply assertTreeOnS3 checks.
type treeCheck struct {
	// sums are the checksums the target acknowledged (from --report), by
	// key; every object's CRC64NVME is compared with the local file's.
	sums map[string]string
	// headEvery > 0 HEADs every n-th object (checksum mode: stored
	// CRC64NVME and content type), and every object outside gen/.
	headEvery int
}

// assertTreeOnS3 checks that every regular file under dir (except the
// keys in skip) is in bucket/prefix on env, byte-identical (read through
// the posix backend), and as deep as c says.
func assertTreeOnS3(t *testing.T, env testenv.S3Env, bucket, prefix, dir string, skip map[string]bool, c treeCheck) int {
	t.Helper()
	cli := testenv.NewS3Client(env)
	n := 0
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		key := strings.TrimPrefix(p, dir+"/")
		if skip[key] {
			return nil
		}
		n++
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(env.Root, bucket, prefix, key))
		if err != nil {
			return fmt.Errorf("key %q missing on target: %w", key, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("key %q differs: %d bytes on target, %d on source", key, len(got), len(want))
		}
		if c.sums != nil && c.sums[key] != "CRC64NVME:"+crcOf(want) {
			return fmt.Errorf("key %q: acknowledged checksum %q, want CRC64NVME:%s", key, c.sums[key], crcOf(want))
		}
		if c.headEvery > 0 && (n%c.headEvery == 0 || !strings.HasPrefix(key, "gen/")) {
			return checkHead(cli, bucket, prefix+key, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func checkHead(cli *s3.Client, bucket, key string, want []byte) error {
	h, err := cli.HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return fmt.Errorf("head %q: %w", key, err)
	}
	if got := aws.ToString(h.ChecksumCRC64NVME); got != crcOf(want) {
		return fmt.Errorf("key %q: CRC64NVME %q, want %q", key, got, crcOf(want))
	}
	if aws.ToString(h.ContentType) == "" {
		return fmt.Errorf("key %q: no content type", key)
	}
	return nil
}

// pendingUploads lists multipart uploads left in bucket.
func pendingUploads(t *testing.T, env testenv.S3Env, bucket string) int {
	t.Helper()
	out, err := testenv.NewS3Client(env).ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// randomBytes is deterministic pseudo-random data: a 64 KiB xorshift
// block repeated with each copy stamped by its index and the seed, so no
// two 64 KiB chunks (and no two parts) are equal. Fast under -race: the
// bulk is copy(), not a per-byte loop.
func randomBytes(n int, seed uint64) []byte {
	const blk = 64 << 10
	block := make([]byte, min(n, blk))
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := 0; i+8 <= len(block); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(block[i:], x)
	}
	b := make([]byte, n)
	for off, k := 0, uint64(0); off < n; off, k = off+blk, k+1 {
		c := copy(b[off:], block)
		if c >= 16 {
			binary.LittleEndian.PutUint64(b[off:], k)
			binary.LittleEndian.PutUint64(b[off+8:], seed)
		}
	}
	return b
}

func e2eSize(t *testing.T, env string, def int) int {
	if v := os.Getenv(env); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
			return n
		}
		t.Fatalf("%s=%q: want a positive integer", env, v)
	}
	return def
}
