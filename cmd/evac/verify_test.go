package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/verify"
)

func TestVerifyTablesCLI(t *testing.T) {
	testenv.Require(t)
	db := testenv.FreshDatabase(t)
	for _, conn := range []*sql.DB{testenv.SourceDB(t), testenv.TargetDB(t)} {
		testenv.Exec(t, conn, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY, v VARCHAR(20))")
		testenv.Exec(t, conn, "INSERT INTO `"+db+"`.t SELECT seq, CONCAT('v', seq) FROM `"+db+"`.seq_1_to_3000")
	}
	dir := t.TempDir()
	report, fix := filepath.Join(dir, "r.json"), filepath.Join(dir, "fix.sql")
	args := []string{"verify", "tables", "--source", testenv.SourceDSN(t), "--target", testenv.TargetDSN(t),
		"--databases", db, "--rechecks", "0", "--report", report, "--fix-sql", fix}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("identical tables: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.HasPrefix(out.String(), "evac verify: PASS") {
		t.Fatalf("summary: %s", out.String())
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.CheckDigest(raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), testenv.Getenv("EVAC_TEST_MYSQL_PASSWORD")) {
		t.Fatal("report contains the password")
	}

	testenv.Exec(t, testenv.TargetDB(t), "UPDATE `"+db+"`.t SET v = 'changed' WHERE id = 1234")
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), args, &out, &errOut); code != 1 {
		t.Fatalf("planted difference: exit %d, want 1\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "different          id=1234  columns: v") {
		t.Fatalf("summary does not name the key:\n%s", out.String())
	}
	sql, _ := os.ReadFile(fix)
	if !strings.Contains(string(sql), "UPDATE `"+db+"`.`t` SET `v` = CONVERT(X'7631323334' USING utf8mb4) WHERE `id` = 1234;") {
		t.Fatalf("fix SQL:\n%s", sql)
	}
	if code := run(context.Background(), []string{"verify", "tables", "--source", "x"}, &out, &errOut); code != 2 {
		t.Fatalf("missing --target: exit %d, want 2", code)
	}
}

func TestVerifyObjectsCLI(t *testing.T) {
	testenv.Require(t)
	env := testenv.S3(t)
	bucket := testenv.NewBucket(t)
	dir := t.TempDir()
	cli := testenv.S3Client(t)
	for k, v := range map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo", "sub/c.txt": "charlie"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, k)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		body := v
		if k == "sub/c.txt" {
			body = "CHARLIE" // same size, other bytes
		}
		if _, err := cli.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", env.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", env.SecretKey)
	t.Setenv("AWS_REGION", env.Region)
	base := []string{"verify", "objects", dir, "s3://" + bucket, "--target-endpoint", env.Endpoint}
	var out, errOut bytes.Buffer
	// A directory has no stored checksums, but it is local: the default
	// mode hashes it with the algorithm of the checksum S3 stored at upload
	// and finds the same-size difference without a GET.
	if code := run(context.Background(), append(base, "--json"), &out, &errOut); code != 1 {
		t.Fatalf("default compare: exit %d, want 1\n%s\n%s", code, out.String(), errOut.String())
	}
	if err := verify.CheckDigest(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"checked_by_stored_checksum": 2`, `"checked_by_size_only": 0`, `"kind": "checksum_different"`, `"key": "sub/c.txt"`} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("report lacks %s:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), append(base, "--deep"), &out, &errOut); code != 1 {
		t.Fatalf("--deep: exit %d, want 1\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "content_different  sub/c.txt") {
		t.Fatalf("--deep summary:\n%s", out.String())
	}
}
