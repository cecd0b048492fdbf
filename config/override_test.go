package config

import (
	"testing"

	"github.com/spf13/pflag"
)

// TestFlagsOverrideFile follows the documented pattern: start from the job
// in the file, apply only the flags the user set, then CheckSync.
func TestFlagsOverrideFile(t *testing.T) {
	f, err := parseFile(t, "../testdata/config/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("sync", pflag.ContinueOnError)
	var workers int
	partSize := DefaultPartSize
	var del bool
	fs.IntVar(&workers, "workers", DefaultWorkers, "")
	fs.Var(&partSize, "part-size", "")
	fs.BoolVar(&del, "delete", false, "")
	if err := fs.Parse([]string{"--part-size", "16MiB"}); err != nil {
		t.Fatal(err)
	}

	job := *f.Job("documents").Sync // workers: 128, part_size: 128MiB, delete: true in the file
	Override(fs, "workers", &job.Workers, workers)
	Override(fs, "part-size", &job.PartSize, partSize)
	Override(fs, "delete", &job.Delete, del)
	if err := f.CheckSync(&job); err != nil {
		t.Fatal(err)
	}
	if job.Workers != 128 || job.PartSize != 16*MiB || !job.Delete {
		t.Errorf("workers=%d part_size=%s delete=%v; want file's 128, flag's 16MiB, file's true", job.Workers, job.PartSize, job.Delete)
	}
	if job.TargetLocation.S3 != f.S3["aws"] {
		t.Errorf("target s3 not resolved: %+v", job.TargetLocation)
	}
}

// TestCheckErrorsNameFlags: after overrides, errors name the flag.
func TestCheckErrorsNameFlags(t *testing.T) {
	var nilFile *File
	j := DefaultSync()
	j.Source, j.Target, j.Workers, j.Shard = "/data", "s3://b/x", 0, "9/4"
	err := nilFile.CheckSync(&j)
	want := "--workers: must be between 1 and 4096, got 0 (use --workers 64 or leave the flag out for the default)\n" +
		`--shard: invalid shard "9/4": index must be between 0 and 3 (write i/N with 0 <= i < N, e.g. 2/8, or auto/N for a Kubernetes Indexed Job)`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}

	r := DefaultReplicate()
	r.Source, r.Target = "root:pw-Flag-Test@tcp(127.0.0.1:3306)/", "root@tcp(127.0.0.1:3307)/"
	if err := nilFile.CheckReplicate(&r); err != nil || r.SourceDSN != r.Source {
		t.Errorf("inline DSNs: %v %q", err, r.SourceDSN)
	}
	t.Setenv("EVAC_CHECK_TEST_PW", "chk-Pw-0001")
	r.Source = "evac:${EVAC_CHECK_TEST_PW}@tcp(127.0.0.1:3306)/"
	if err := nilFile.CheckReplicate(&r); err != nil || r.SourceDSN != "evac:chk-Pw-0001@tcp(127.0.0.1:3306)/" {
		t.Errorf("DSN flag with ${VAR}: %v %q", err, r.SourceDSN)
	}
	r.Source = "evac:${EVAC_CHECK_TEST_UNSET}@tcp(127.0.0.1:3306)/"
	err = nilFile.CheckReplicate(&r)
	want = "--source: environment variable EVAC_CHECK_TEST_UNSET is not set (export it before running evac, or write a default after :- inside the braces)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	r.Source = "root:pw-Flag-Test@tcp(127.0.0.1:3306)/"
	r.Target = "aurora"
	err = nilFile.CheckReplicate(&r)
	want = `--target: "aurora" is not a go-sql-driver DSN, and no config file was given to look it up as a mysql entry (write a DSN like 'user:xxxxx@tcp(host:3306)/', or give -c evac.yaml to use a mysql: entry by name)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestS3Flags(t *testing.T) {
	fs := pflag.NewFlagSet("sync", pflag.ContinueOnError)
	src := AddS3Flags(fs, "source")
	dst := AddS3Flags(fs, "target")
	if err := fs.Parse([]string{"--source-endpoint", "http://127.0.0.1:7070", "--target-region", "sa-east-1"}); err != nil {
		t.Fatal(err)
	}
	s, err := src.Apply(fs, nil)
	if err != nil || s == nil || s.Endpoint != "http://127.0.0.1:7070" || !s.UsePathStyle() {
		t.Fatalf("source: %+v %v", s, err)
	}
	base := &S3{Name: "aws", Region: "us-east-1", Profile: "evac"}
	d, err := dst.Apply(fs, base)
	if err != nil || d.Region != "sa-east-1" || d.Profile != "evac" || base.Region != "us-east-1" {
		t.Fatalf("target: %+v %v (base must not change: %+v)", d, err, base)
	}

	fs2 := pflag.NewFlagSet("sync", pflag.ContinueOnError)
	none := AddS3Flags(fs2, "source")
	_ = fs2.Parse(nil)
	if s, err := none.Apply(fs2, nil); s != nil || err != nil {
		t.Errorf("no flags, no file: want nil (AWS chain), got %+v %v", s, err)
	}
	fs3 := pflag.NewFlagSet("sync", pflag.ContinueOnError)
	bad := AddS3Flags(fs3, "source")
	_ = fs3.Parse([]string{"--source-endpoint", "minio:9000"})
	_, err = bad.Apply(fs3, nil)
	want := `--source-endpoint: "minio:9000" is not an http(s) URL (write the full URL, e.g. endpoint: https://s3.dc1.example:9000)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
