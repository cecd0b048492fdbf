package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/evac-dev/evac/internal/faultproxy"
	"github.com/evac-dev/evac/internal/testenv"
)

// fillBucket puts n small objects with headers and metadata, one 10 MiB
// and one 20 MiB object; it returns key -> content.
func fillBucket(t *testing.T, env testenv.S3Env, bucket string, n int) map[string][]byte {
	t.Helper()
	cli := testenv.NewS3Client(env)
	objs := map[string][]byte{}
	for i := range n {
		objs[fmt.Sprintf("docs/%02d/o%03d.txt", i%7, i)] = randomBytes(100+i*13, uint64(i))
	}
	objs["big/ten.bin"] = randomBytes(10<<20, 10)
	objs["big/twenty.bin"] = randomBytes(20<<20, 20)
	for k, v := range objs {
		_, err := cli.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(v),
			ContentType: aws.String("text/x-evac"), CacheControl: aws.String("max-age=60"),
			Metadata: map[string]string{"owner": "court-42"},
		})
		if err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	return objs
}

func assertObjects(t *testing.T, env testenv.S3Env, bucket, prefix string, objs map[string][]byte) {
	t.Helper()
	for k, want := range objs {
		got, err := os.ReadFile(filepath.Join(env.Root, bucket, prefix, k))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s/%s%s: %d bytes, err %v; want %d identical bytes", bucket, prefix, k, len(got), err, len(want))
		}
	}
}

func e2eSameEndpoint(t *testing.T, bin string) {
	env := testenv.S3(t)
	srcB, dstB := newBucket(t, env), newBucket(t, env)
	objs := fillBucket(t, env, srcB, 40)
	proxy, err := faultproxy.New(env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	args := []string{"sync", "s3://" + srcB, "s3://" + dstB + "/copy", "--source-endpoint", proxy.URL,
		"--target-endpoint", proxy.URL, "--copy-cutoff", "16MiB", "--journal-dir", t.TempDir(), "--json"}
	r := runBin(t, bin, evacEnv(t, env), args...)
	if r.code != 0 || r.stats.Copied != 42 {
		t.Fatalf("exit %d %+v\n%s", r.code, r.stats, r.stderr)
	}
	c := proxy.Counts()
	if c["CopyObject"] < 41 || c["UploadPartCopy"] < 1 || c["PutObject"] > 0 && c["PutObject"] != countEvacPuts(proxy) {
		t.Fatalf("want server-side copies (CopyObject, UploadPartCopy above the 16 MiB cutoff), got %v", c)
	}
	assertObjects(t, env, dstB, "copy", objs)
	h, err := testenv.NewS3Client(env).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(dstB), Key: aws.String("copy/docs/00/o000.txt")})
	if err != nil || aws.ToString(h.CacheControl) != "max-age=60" || h.Metadata["owner"] != "court-42" || aws.ToString(h.ContentType) != "text/x-evac" {
		t.Fatalf("headers/metadata not preserved: %v %+v", err, h)
	}
	proxy.ResetCounts()
	r = runBin(t, bin, evacEnv(t, env), args...)
	if r.stats.Copied != 0 || len(proxy.Counts()) != 1 || proxy.Counts()["ListObjectsV2"] == 0 {
		t.Fatalf("unchanged S3 resync: %+v requests %v", r.stats, proxy.Counts())
	}
}

func countEvacPuts(p *faultproxy.Proxy) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Op == "PutObject" && strings.Contains(r.Path, "/.evac/") {
			n++
		}
	}
	return n
}

func e2eTwoEndpoints(t *testing.T, bin string) {
	env := testenv.S3(t)
	env2 := testenv.StartVersity(t)
	srcB, dstB := newBucket(t, env), newBucket(t, env2)
	objs := fillBucket(t, env, srcB, 30)
	cfg := filepath.Join(t.TempDir(), "evac.yaml")
	yaml := fmt.Sprintf(`s3:
  onprem:
    endpoint: %s
    region: us-east-1
    access_key_id: %s
    secret_access_key: ${SRC_SECRET}
  cloud:
    endpoint: %s
    region: us-east-1
    access_key_id: %s
    secret_access_key: ${DST_SECRET}
jobs:
  - name: move
    sync:
      source: s3://%s
      target: s3://%s/x
      source_s3: onprem
      target_s3: cloud
`, env.Endpoint, env.AccessKey, env2.Endpoint, env2.AccessKey, srcB, dstB)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SRC_SECRET=" + env.SecretKey, "DST_SECRET=" + env2.SecretKey}
	r := runBin(t, bin, environ, "-c", cfg, "sync", "--job", "move", "s3://"+srcB, "s3://"+dstB+"/x", "--journal-dir", t.TempDir(), "--json")
	if r.code != 0 || r.stats.Copied != 32 {
		t.Fatalf("exit %d %+v\n%s", r.code, r.stats, r.stderr)
	}
	if r.stats.Requests["CopyObject"] != 0 || r.stats.Requests["GetObject"] < 32 {
		t.Fatalf("two endpoints must stream (GetObject + PutObject), got %v", r.stats.Requests)
	}
	assertObjects(t, env2, dstB, "x", objs)
}

func e2eBadInput(t *testing.T, bin string) {
	env := testenv.S3(t)
	bucket := newBucket(t, env)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), []byte("a"))
	environ := evacEnv(t, env)
	bad := append([]string{}, environ...)
	bad[3] = "AWS_SECRET_ACCESS_KEY=NotTheRealSecretButSecret123"
	tests := []struct {
		name    string
		environ []string
		args    []string
		code    int
		want    string
		secret  string
	}{
		{"missing bucket", environ, []string{"sync", src, "s3://evac-no-such-bucket-zz", "--target-endpoint", env.Endpoint},
			1, `bucket "evac-no-such-bucket-zz" does not exist`, ""},
		{"wrong credentials", bad, []string{"sync", src, "s3://" + bucket, "--target-endpoint", env.Endpoint},
			1, "credentials rejected", "NotTheRealSecretButSecret123"},
		{"unreachable endpoint", environ, []string{"sync", src, "s3://" + bucket, "--target-endpoint", "http://127.0.0.1:1"},
			1, "cannot reach the endpoint http://127.0.0.1:1", ""},
		{"src inside dst", environ, []string{"sync", src + "/sub", src}, 2, "overlap", ""},
		{"bad shard", environ, []string{"sync", src, "s3://" + bucket, "--shard", "auto/4", "--target-endpoint", env.Endpoint},
			2, "JOB_COMPLETION_INDEX is not set", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, bin, tc.environ, append(tc.args, "--journal-dir", t.TempDir())...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d with %q; stderr:\n%s", r.code, tc.code, tc.want, r.stderr)
			}
			if tc.secret != "" && strings.Contains(r.stderr+r.stdout, tc.secret) {
				t.Fatalf("secret leaked:\n%s", r.stderr)
			}
		})
	}
	if out, err := testenv.NewS3Client(env).ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}); err != nil || len(out.Contents) != 0 {
		t.Fatalf("bad input wrote to the target: %v %v", err, out)
	}
}
