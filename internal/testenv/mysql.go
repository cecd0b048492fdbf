package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/internal/redact"
)

// Names of the shared servers, as they appear in messages.
const (
	SourceName = "source MariaDB"
	TargetName = "target MariaDB"
)

// SourceDSN is the root DSN of the shared source server, go-sql-driver
// format without parameters ("root:pw@tcp(127.0.0.1:PORT)/"). The server
// is checked to be reachable first.
func SourceDSN(tb testing.TB) string {
	tb.Helper()
	return checkedDSN(tb, SourceName, "EVAC_TEST_SOURCE_DSN")
}

// TargetDSN is the root DSN of the shared target server (see SourceDSN).
func TargetDSN(tb testing.TB) string {
	tb.Helper()
	return checkedDSN(tb, TargetName, "EVAC_TEST_TARGET_DSN")
}

// SourceDB is a root connection pool to the shared source server, closed at
// cleanup. It allows multi-statement queries.
func SourceDB(tb testing.TB) *sql.DB {
	tb.Helper()
	return OpenDB(tb, SourceName, envDSN(tb, SourceName, "EVAC_TEST_SOURCE_DSN"))
}

// TargetDB is a root connection pool to the shared target server.
func TargetDB(tb testing.TB) *sql.DB {
	tb.Helper()
	return OpenDB(tb, TargetName, envDSN(tb, TargetName, "EVAC_TEST_TARGET_DSN"))
}

func envDSN(tb testing.TB, name, key string) string {
	tb.Helper()
	dsn := mustGetenv(tb, name, key)
	redact.Register(dsnPassword(dsn))
	return dsn
}

func checkedDSN(tb testing.TB, name, key string) string {
	tb.Helper()
	dsn := envDSN(tb, name, key)
	if err := CheckMySQL(context.Background(), name, dsn); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return dsn
}

// OpenDB opens a pool to dsn (any server, e.g. a StartMariaDB one), pings it
// and closes it at cleanup; an unreachable server fails tb.
func OpenDB(tb testing.TB, name, dsn string) *sql.DB {
	tb.Helper()
	db, err := openMySQL(context.Background(), name, dsn)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// CheckMySQL connects to the server at dsn and returns nil, or an error that
// names the server, its address, the cause and the fix, e.g.
//
//	source MariaDB at 127.0.0.1:3306: cannot connect: dial tcp 127.0.0.1:3306: connect: connection refused; fix: run `make test` or `scripts/testenv up`
func CheckMySQL(ctx context.Context, name, dsn string) error {
	db, err := openMySQL(ctx, name, dsn)
	if err != nil {
		return err
	}
	return db.Close()
}

func openMySQL(ctx context.Context, name, dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%s DSN %q is malformed: %v; %s", name, redact.DSN(dsn), redact.Error(err), Fix)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	cfg.MultiStatements = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s DSN %q: %v; %s", name, redact.DSN(dsn), redact.Error(err), Fix)
	}
	db := sql.OpenDB(conn)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s at %s: cannot connect: %w; %s", name, cfg.Addr, redact.Error(err), Fix)
	}
	return db, nil
}

func dsnPassword(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return ""
	}
	return cfg.Passwd
}

// FreshDatabase creates a new, empty database with the same name on the
// source and the target server and drops both at cleanup (kept when the test
// failed and EVAC_TEST_KEEP=1). The name is derived from the test name.
func FreshDatabase(tb testing.TB) string {
	tb.Helper()
	name := uniqueName(tb.Name(), "evac_", "_", 64)
	servers := []struct{ name, dsn string }{{SourceName, SourceDSN(tb)}, {TargetName, TargetDSN(tb)}}
	for _, s := range servers {
		db := OpenDB(tb, s.name, s.dsn)
		if _, err := db.Exec("CREATE DATABASE `" + name + "`"); err != nil {
			tb.Fatalf("testenv: create database %s on %s: %v", name, s.name, redact.Error(err))
		}
	}
	tb.Cleanup(func() {
		if tb.Failed() && os.Getenv("EVAC_TEST_KEEP") == "1" {
			tb.Logf("testenv: keeping database %s (EVAC_TEST_KEEP=1)", name)
			return
		}
		for _, s := range servers {
			db, err := openMySQL(context.Background(), s.name, s.dsn)
			if err == nil {
				_, err = db.Exec("DROP DATABASE IF EXISTS `" + name + "`")
				_ = db.Close()
			}
			if err != nil {
				tb.Errorf("testenv: drop database %s on %s: %v", name, s.name, redact.Error(err))
			}
		}
	})
	return name
}

// Exec runs query on db and fails tb on error.
func Exec(tb testing.TB, db *sql.DB, query string, args ...any) sql.Result {
	tb.Helper()
	res, err := db.Exec(query, args...)
	if err != nil {
		tb.Fatalf("testenv: %s: %v", query, redact.Error(err))
	}
	return res
}

// uniqueName builds prefix + sanitized test name + sep + 8 random hex digits,
// at most max bytes, using only [a-z0-9] and sep.
func uniqueName(testName, prefix, sep string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if s := b.String(); s != "" && !strings.HasSuffix(s, sep) {
				b.WriteString(sep)
			}
		}
	}
	base := strings.Trim(b.String(), sep)
	if limit := max - len(prefix) - len(sep) - 8; len(base) > limit {
		base = strings.Trim(base[:limit], sep)
	}
	if base == "" {
		base = "t"
	}
	return prefix + base + sep + randHex(4)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
