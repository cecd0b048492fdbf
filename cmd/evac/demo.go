package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
)

// evac demo: the whole job on local servers (started by `make demo`):
// sample rows and files, sync, replicate with a writer running, a delta
// pass, then verification with its report. It drives the same subcommands a
// user runs, in-process, so the demo cannot drift from the real CLI.

func init() { commands = append(commands, newDemoCmd) }

type demoFlags struct {
	source, target, endpoint, accessKey, secretKey, region, bucket, dir string
	rows, files                                                         int
}

func newDemoCmd(a *app) *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole evacuation on local servers: sample data, sync, replicate, verify",
		Long: `demo creates sample data (a database "evac_demo" on the source MySQL/MariaDB
and a directory of files), copies the files to S3 with sync, replicates the
database with a writer running, makes a delta pass, and verifies both with a
report. It expects throwaway local servers: ` + "`make demo`" + ` starts them
(scripts/testenv) and passes their addresses in EVAC_TEST_* variables.
It drops and recreates evac_demo on both servers.`,
		Example: `  make demo
  evac demo --source 'root:${PW}@tcp(127.0.0.1:3306)/' --target 'root:${PW}@tcp(127.0.0.1:3307)/' \
    --s3-endpoint http://127.0.0.1:7070 --s3-access-key ${KEY} --s3-secret-key ${SECRET}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), a, f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.source, "source", os.Getenv("EVAC_TEST_SOURCE_DSN"), "source DSN (default $EVAC_TEST_SOURCE_DSN)")
	fs.StringVar(&f.target, "target", os.Getenv("EVAC_TEST_TARGET_DSN"), "target DSN (default $EVAC_TEST_TARGET_DSN)")
	fs.StringVar(&f.endpoint, "s3-endpoint", os.Getenv("EVAC_TEST_S3_ENDPOINT"), "S3 endpoint (default $EVAC_TEST_S3_ENDPOINT)")
	fs.StringVar(&f.accessKey, "s3-access-key", os.Getenv("EVAC_TEST_S3_ACCESS_KEY"), "S3 access key (default $EVAC_TEST_S3_ACCESS_KEY)")
	fs.StringVar(&f.secretKey, "s3-secret-key", os.Getenv("EVAC_TEST_S3_SECRET_KEY"), "S3 secret key (default $EVAC_TEST_S3_SECRET_KEY)")
	fs.StringVar(&f.region, "s3-region", envOr("EVAC_TEST_S3_REGION", "us-east-1"), "S3 region")
	fs.StringVar(&f.bucket, "bucket", "evac-demo", "bucket to create and fill")
	fs.StringVar(&f.dir, "dir", "", "where to write the sample files and reports (default: a new temp dir)")
	fs.IntVar(&f.rows, "rows", 20000, "rows in the sample orders table")
	fs.IntVar(&f.files, "files", 500, "sample files")
	return cmd
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func runDemo(ctx context.Context, a *app, f *demoFlags) error {
	for name, v := range map[string]string{"--source": f.source, "--target": f.target, "--s3-endpoint": f.endpoint,
		"--s3-access-key": f.accessKey, "--s3-secret-key": f.secretKey} {
		if v == "" {
			return usageErrorf("demo: %s is empty; run `make demo` (it starts local servers and sets EVAC_TEST_*), or pass %s", name, name)
		}
	}
	src, err := openDemoDB(f.source, "source")
	if err != nil {
		return err
	}
	defer src.Close()
	tgt, err := openDemoDB(f.target, "target")
	if err != nil {
		return err
	}
	defer tgt.Close()
	if f.dir == "" {
		if f.dir, err = os.MkdirTemp("", "evac-demo-"); err != nil {
			return err
		}
	}
	files := filepath.Join(f.dir, "files")
	// The S3 side uses the standard credential chain, like a real run.
	os.Setenv("AWS_ACCESS_KEY_ID", f.accessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", f.secretKey)
	os.Setenv("AWS_REGION", f.region)
	dst := "s3://" + f.bucket + "/files"
	s3flags := []string{"--target-endpoint", f.endpoint, "--target-region", f.region}
	d := demo{a: a, ctx: ctx, start: time.Now()}

	d.step("1/6 sample data: database evac_demo on the source, %d files in %s", f.files, files)
	if err := d.reset(src, tgt, f); err != nil {
		return err
	}
	if err := seedDemoDB(ctx, src, f.rows); err != nil {
		return fmt.Errorf("demo: seed source: %w", err)
	}
	if err := writeDemoFiles(files, f.files); err != nil {
		return fmt.Errorf("demo: sample files: %w", err)
	}
	if err := d.bucket(f); err != nil {
		return err
	}

	d.step("2/6 evac sync %s %s", files, dst)
	if err := d.evac(append([]string{"sync", files, dst}, s3flags...)...); err != nil {
		return err
	}

	d.step("3/6 evac replicate --until-caught-up (a writer keeps changing the source meanwhile)")
	repl := []string{"replicate", "--source", f.source, "--target", f.target, "--databases", "evac_demo",
		"--stream-id", "evac-demo", "--until-caught-up"}
	wctx, stopWriter := context.WithCancel(ctx)
	writes := make(chan int, 1)
	go func() { writes <- demoWriter(wctx, src) }()
	err = d.evac(repl...)
	stopWriter()
	n := <-writes
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "   the writer committed %d transactions during the snapshot and stream\n", n)

	d.step("4/6 evac replicate again: resumes from the checkpoint in the target, applies the writer's tail")
	if err := d.evac(repl...); err != nil {
		return err
	}

	d.step("5/6 delta: change 10 files, add 5, then evac sync again (only those move)")
	if err := touchDemoFiles(files); err != nil {
		return err
	}
	if err := d.evac(append([]string{"sync", files, dst}, s3flags...)...); err != nil {
		return err
	}

	d.step("6/6 evac verify: tables and objects, with reports")
	tablesReport := filepath.Join(f.dir, "verify-tables.json")
	objectsReport := filepath.Join(f.dir, "verify-objects.json")
	errT := d.evac("verify", "tables", "--source", f.source, "--target", f.target, "--databases", "evac_demo",
		"--report", tablesReport)
	// Local files are hashed with the algorithm of the checksums S3 stored
	// at upload: the bytes are compared without downloading anything.
	errO := d.evac(append([]string{"verify", "objects", files, dst, "--report", objectsReport}, s3flags...)...)
	fmt.Fprintf(a.stdout, "\nreports: %s %s\n", tablesReport, objectsReport)
	if err := errors.Join(errT, errO); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "demo finished in %s: source and copies verified equal\n", time.Since(d.start).Round(time.Second))
	return nil
}

type demo struct {
	a     *app
	ctx   context.Context
	start time.Time
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.a.stdout, "\n== "+format+"\n", args...)
}

// evac runs one evac subcommand in-process with the demo's global flags.
func (d *demo) evac(args ...string) error {
	full := append([]string{"--log-format", d.a.logFormat, "--log-level", d.a.logLevel}, args...)
	if code := run(d.ctx, full, d.a.stdout, d.a.stderr); code != 0 {
		return exitCode(code)
	}
	return nil
}

func openDemoDB(dsn, side string) (*sql.DB, error) {
	if !strings.Contains(dsn, "?") {
		dsn += "?"
	} else {
		dsn += "&"
	}
	db, err := sql.Open("mysql", dsn+"multiStatements=true&parseTime=false")
	if err != nil {
		return nil, usageErrorf("demo: %s DSN: %w", side, err)
	}
	if err := db.Ping(); err != nil {
		return nil, fmt.Errorf("demo: cannot reach the %s server: %w (start it with `make demo` or scripts/testenv up)", side, err)
	}
	return db, nil
}

// reset drops what an earlier demo left: the database on both sides and the
// replication state of the demo stream.
func (d *demo) reset(src, tgt *sql.DB, f *demoFlags) error {
	for _, db := range []*sql.DB{src, tgt} {
		if _, err := db.ExecContext(d.ctx, "DROP DATABASE IF EXISTS evac_demo"); err != nil {
			return fmt.Errorf("demo: drop evac_demo: %w", err)
		}
	}
	for _, t := range []string{"snapshot_chunk", "snapshot_table", "checkpoint", "schema_history", "xa_pending"} {
		// The tables exist only after a first run; a missing one is fine.
		_, _ = tgt.ExecContext(d.ctx, "DELETE FROM evac_meta."+t+" WHERE stream_id='evac-demo'")
	}
	return os.RemoveAll(filepath.Join(f.dir, "files"))
}

func (d *demo) bucket(f *demoFlags) error {
	cli := s3.New(s3.Options{
		BaseEndpoint: aws.String(f.endpoint), Region: f.region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(f.accessKey, f.secretKey, ""),
	})
	_, err := cli.CreateBucket(d.ctx, &s3.CreateBucketInput{Bucket: aws.String(f.bucket)})
	var ae smithy.APIError
	if err != nil && !(errors.As(err, &ae) && (ae.ErrorCode() == "BucketAlreadyOwnedByYou" || ae.ErrorCode() == "BucketAlreadyExists")) {
		return fmt.Errorf("demo: create bucket %s at %s: %w", f.bucket, f.endpoint, err)
	}
	// Start from an empty bucket so the first pass is a full evacuation.
	p := s3.NewListObjectsV2Paginator(cli, &s3.ListObjectsV2Input{Bucket: aws.String(f.bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(d.ctx)
		if err != nil {
			return fmt.Errorf("demo: list bucket %s: %w", f.bucket, err)
		}
		for _, o := range page.Contents {
			if _, err := cli.DeleteObject(d.ctx, &s3.DeleteObjectInput{Bucket: aws.String(f.bucket), Key: o.Key}); err != nil {
				return fmt.Errorf("demo: empty bucket %s: %w", f.bucket, err)
			}
		}
	}
	return nil
}

const demoSchema = `
CREATE DATABASE evac_demo CHARACTER SET utf8mb4;
CREATE TABLE evac_demo.customers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(190) NOT NULL UNIQUE,
  city VARCHAR(60) CHARACTER SET latin1,
  created TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;
CREATE TABLE evac_demo.orders (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new',
  note BLOB,
  placed DATETIME(6) NOT NULL,
  FOREIGN KEY (customer_id) REFERENCES evac_demo.customers(id) ON DELETE CASCADE
) ENGINE=InnoDB;`

func seedDemoDB(ctx context.Context, db *sql.DB, rows int) error {
	if _, err := db.ExecContext(ctx, demoSchema); err != nil {
		return err
	}
	customers := max(rows/10, 1)
	// 1..999999 from a cross join of digits: portable (no recursive CTE
	// limits, no MariaDB-only sequence engine).
	const digits = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 " +
		"UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
	seq := "(SELECT 1 + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 100000*g.d AS n FROM " +
		strings.Join([]string{digits + " a", digits + " b", digits + " c", digits + " e", digits + " f", digits + " g"}, " CROSS JOIN ") + ") s"
	if _, err := db.ExecContext(ctx, `INSERT INTO evac_demo.customers (name, email, city)
		SELECT CONCAT('Cliente ', n, ' 🌊'), CONCAT('c', n, '@example.org'), IF(n % 3 = 0, 'São Paulo', 'Porto Alegre')
		FROM `+seq+` WHERE n <= ? ORDER BY n`, customers); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `INSERT INTO evac_demo.orders (customer_id, amount, status, note, placed)
		SELECT 1 + n % ?, ROUND(n * 1.37, 2), ELT(1 + n % 3, 'new', 'paid', 'shipped'),
		       IF(n % 7 = 0, NULL, UNHEX(MD5(n))), '2026-11-22 03:00:00.000001' - INTERVAL n SECOND
		FROM `+seq+` WHERE n <= ? ORDER BY n`, customers, rows)
	return err
}

// demoWriter changes the source until ctx ends and returns how many
// transactions it committed: inserts, updates, deletes with FK cascades.
func demoWriter(ctx context.Context, db *sql.DB) int {
	n := 0
	for i := 1; ctx.Err() == nil; i++ {
		var stmt string
		switch i % 4 {
		case 0:
			stmt = fmt.Sprintf("INSERT INTO evac_demo.orders (customer_id, amount, placed) VALUES (%d, %d.99, NOW(6))", 1+i%50, i)
		case 1:
			stmt = fmt.Sprintf("UPDATE evac_demo.orders SET status='paid', amount=amount+1 WHERE id=%d", 1+(i*37)%1000)
		case 2:
			stmt = fmt.Sprintf("UPDATE evac_demo.customers SET city='Canoas' WHERE id=%d", 1+(i*13)%500)
		default:
			stmt = fmt.Sprintf("DELETE FROM evac_demo.customers WHERE id=%d", 1000+i) // cascades to orders
		}
		if _, err := db.ExecContext(ctx, stmt); err == nil {
			n++
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	return n
}

// writeDemoFiles writes n files in nested folders, awkward names included,
// and two larger ones that go multipart.
func writeDemoFiles(dir string, n int) error {
	names := []string{"relatório final.pdf", "a-b.txt", "a/b.txt", "preços 100%.csv", "x+y&z.txt"}
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("processos/%03d/doc-%05d.txt", i%40, i))
	}
	for i, name := range names {
		if err := writeRandom(filepath.Join(dir, name), int64(1+(i*997)%8192)); err != nil {
			return err
		}
	}
	for _, name := range []string{"videos/audiencia-1.mp4", "videos/audiencia-2.mp4"} {
		if err := writeRandom(filepath.Join(dir, name), 24<<20); err != nil {
			return err
		}
	}
	return nil
}

func writeRandom(path string, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// touchDemoFiles rewrites 10 files and adds 5.
func touchDemoFiles(dir string) error {
	for i := 0; i < 15; i++ {
		name := fmt.Sprintf("processos/%03d/doc-%05d.txt", i%40, i)
		if i >= 10 {
			name = fmt.Sprintf("novos/doc-%d.txt", i)
		}
		if err := writeRandom(filepath.Join(dir, name), 2048); err != nil {
			return err
		}
	}
	return nil
}
