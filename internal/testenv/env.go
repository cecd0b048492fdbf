// Package testenv gives integration tests real servers: the two MariaDB
// servers (source, target) and the versitygw S3 server that
// `scripts/testenv up` starts on loopback, plus private servers a test starts
// for itself (StartMariaDB, StartVersity).
//
// The endpoints come from the EVAC_TEST_* variables (`make test` exports
// them); when they are not set, the env file written by `scripts/testenv up`
// (<repo>/.testenv/env, or $EVAC_TEST_DIR/env) is read instead.
//
// Without EVAC_INTEGRATION=1 every helper skips the test. With
// EVAC_INTEGRATION=1 a missing or unreachable server FAILS the test with a
// message naming the server, its address and the fix; it never skips.
package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Fix is the remedy every "server unavailable" message ends with.
const Fix = "fix: run `make test` or `scripts/testenv up`"

// Integration reports whether integration tests must run (EVAC_INTEGRATION=1).
func Integration() bool { return os.Getenv("EVAC_INTEGRATION") == "1" }

// Require skips tb unless EVAC_INTEGRATION=1. Every helper calls it first.
func Require(tb testing.TB) {
	tb.Helper()
	if !Integration() {
		tb.Skip("integration test: set EVAC_INTEGRATION=1 and start the servers (`make test` does both)")
	}
}

var (
	fileMu    sync.Mutex
	fileCache = map[string]envFile{}
)

type envFile struct {
	vars map[string]string
	err  error
}

// Getenv returns an EVAC_TEST_* value from the process environment, or else
// from the env file written by `scripts/testenv up`.
func Getenv(key string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	_, f := readEnvFile()
	return f.vars[key]
}

// mustGetenv returns key's value or fails tb with a message naming server.
func mustGetenv(tb testing.TB, server, key string) string {
	tb.Helper()
	Require(tb)
	if v := Getenv(key); v != "" {
		return v
	}
	path, f := readEnvFile()
	where := "and no env file was found"
	switch {
	case path != "" && f.err != nil:
		where = "and env file " + path + " cannot be read: " + f.err.Error()
	case path != "":
		where = "in the environment or in " + path
	}
	tb.Fatalf("testenv: %s is not configured: %s is not set %s; %s", server, key, where, Fix)
	return ""
}

// readEnvFile reads (once per path) the env file and returns its path.
func readEnvFile() (string, envFile) {
	path := envFilePath()
	if path == "" {
		return "", envFile{}
	}
	fileMu.Lock()
	defer fileMu.Unlock()
	if f, ok := fileCache[path]; ok {
		return path, f
	}
	var f envFile
	fh, err := os.Open(path)
	if err != nil {
		f.err = err
	} else {
		f.vars, f.err = parseEnv(fh)
		_ = fh.Close()
	}
	if f.err == nil {
		fileCache[path] = f // an absent file may appear later: don't cache failures
	}
	return path, f
}

// envFilePath is $EVAC_TEST_DIR/env, or .testenv/env in the module root above
// the working directory (go test runs in the package directory).
func envFilePath() string {
	if d := os.Getenv("EVAC_TEST_DIR"); d != "" {
		return filepath.Join(d, "env")
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".testenv", "env")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// parseEnv reads KEY='value' / KEY=value lines; # comments and blanks are ignored.
func parseEnv(r io.Reader) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return vars, fmt.Errorf("line %d: want KEY=value, got %q", n, line)
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		return vars, err
	}
	if len(vars) == 0 {
		return vars, errors.New("empty")
	}
	return vars, nil
}
