package testenv_test

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/evac-dev/evac/internal/testenv"
)

// recTB records Fatal/Skip instead of ending the real test, so a test can
// assert that a helper fails (not skips) with an exact message.
type recTB struct {
	testing.TB
	mu       sync.Mutex
	fatal    bool
	skipped  bool
	msg      string
	cleanups []func()
}

func (r *recTB) Helper() {}
func (r *recTB) Fatalf(format string, args ...any) {
	r.record(&r.fatal, fmt.Sprintf(format, args...))
}
func (r *recTB) Fatal(args ...any)                 { r.record(&r.fatal, fmt.Sprint(args...)) }
func (r *recTB) Skip(args ...any)                  { r.record(&r.skipped, fmt.Sprint(args...)) }
func (r *recTB) Skipf(format string, args ...any)  { r.record(&r.skipped, fmt.Sprintf(format, args...)) }
func (r *recTB) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }
func (r *recTB) Errorf(format string, args ...any) { r.TB.Logf("recorded Errorf: "+format, args...) }

func (r *recTB) record(flag *bool, msg string) {
	r.mu.Lock()
	*flag, r.msg = true, msg
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls fn with a recording TB in its own goroutine (Fatal ends it) and runs its cleanups.
func run(t *testing.T, fn func(tb testing.TB)) *recTB {
	r := &recTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); fn(r) }()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r
}

func TestStoppedSourceFailsWithClearMessage(t *testing.T) {
	m := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true})
	ctx := context.Background()
	if err := testenv.CheckMySQL(ctx, testenv.SourceName, m.DSN); err != nil {
		t.Fatalf("running server: %v", err)
	}
	db := testenv.OpenDB(t, "private", m.DSN)
	testenv.Exec(t, db, "CREATE DATABASE survives_restart")
	_ = db.Close()
	m.Stop()

	addr := fmt.Sprintf("127.0.0.1:%d", m.Port)
	want := "source MariaDB at " + addr + ": cannot connect: dial tcp " + addr +
		": connect: connection refused; fix: run `make test` or `scripts/testenv up`"
	err := testenv.CheckMySQL(ctx, testenv.SourceName, m.DSN)
	if err == nil || err.Error() != want {
		t.Fatalf("CheckMySQL on a stopped server:\n got %v\nwant %s", err, want)
	}

	// The helpers fail the test (never skip) with that message under EVAC_INTEGRATION=1.
	t.Setenv("EVAC_INTEGRATION", "1")
	t.Setenv("EVAC_TEST_SOURCE_DSN", m.DSN)
	for name, fn := range map[string]func(testing.TB){
		"SourceDB":  func(tb testing.TB) { testenv.SourceDB(tb) },
		"SourceDSN": func(tb testing.TB) { testenv.SourceDSN(tb) },
	} {
		r := run(t, fn)
		if !r.fatal || r.skipped || r.msg != "testenv: "+want {
			t.Errorf("%s on a stopped source: fatal=%v skipped=%v msg=%q, want fatal with %q", name, r.fatal, r.skipped, r.msg, "testenv: "+want)
		}
	}

	// Without EVAC_INTEGRATION the same helper skips.
	t.Setenv("EVAC_INTEGRATION", "")
	if r := run(t, func(tb testing.TB) { testenv.SourceDB(tb) }); !r.skipped || r.fatal {
		t.Errorf("without EVAC_INTEGRATION: fatal=%v skipped=%v, want skip", r.fatal, r.skipped)
	}

	// Start brings the same datadir back on the same port.
	m.Start()
	db = testenv.OpenDB(t, "private", m.DSN)
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'survives_restart'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("database after restart: n=%d err=%v, want 1", n, err)
	}
}

func TestMissingEnvFailsWithClearMessage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("EVAC_INTEGRATION", "1")
	t.Setenv("EVAC_TEST_TARGET_DSN", "")
	t.Setenv("EVAC_TEST_DIR", dir)
	r := run(t, func(tb testing.TB) { testenv.TargetDB(tb) })
	want := "testenv: target MariaDB is not configured: EVAC_TEST_TARGET_DSN is not set and env file " + dir +
		"/env cannot be read: open " + dir + "/env: no such file or directory; fix: run `make test` or `scripts/testenv up`"
	if !r.fatal || r.msg != want {
		t.Fatalf("fatal=%v msg=%q\nwant %q", r.fatal, r.msg, want)
	}
}

func TestFreshDatabaseAndNewBucketCleanUp(t *testing.T) {
	src, dst := testenv.SourceDB(t), testenv.TargetDB(t)
	c := testenv.S3Client(t)
	var dbName, bucket string
	r := run(t, func(tb testing.TB) {
		dbName = testenv.FreshDatabase(tb)
		bucket = testenv.NewBucket(tb)
		testenv.Exec(tb, src, "CREATE TABLE `"+dbName+"`.t (id INT PRIMARY KEY)")
		for _, key := range []string{"a", "dir/b", "dir/sub/c"} {
			if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(key)}); err != nil {
				tb.Fatalf("put %s: %v", key, err)
			}
		}
		for _, db := range []*sql.DB{src, dst} {
			if n := countSchemas(tb, db, dbName); n != 1 {
				tb.Fatalf("database %s exists %d times, want 1 on each server", dbName, n)
			}
		}
	})
	if r.fatal || r.skipped {
		t.Fatalf("helpers: %s", r.msg)
	}
	for _, db := range []*sql.DB{src, dst} {
		if n := countSchemas(t, db, dbName); n != 0 {
			t.Errorf("database %s still exists after cleanup", dbName)
		}
	}
	if _, err := c.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		t.Errorf("bucket %s still exists after cleanup", bucket)
	}
}

func countSchemas(tb testing.TB, db *sql.DB, name string) int {
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n); err != nil {
		tb.Fatalf("count schemata: %v", err)
	}
	return n
}
