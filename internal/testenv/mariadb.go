package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// MariaDBOptions configure a private server.
type MariaDBOptions struct {
	// Binlog turns on log-bin with ROW format, FULL row image and FULL
	// metadata (like the shared source).
	Binlog bool
	// ExtraArgs are appended to the mariadbd command line and win over the
	// defaults, e.g. "--binlog-format=STATEMENT" or "--read-only=ON".
	ExtraArgs []string
}

// MariaDB is a private server owned by one test, started from the template
// datadir (time-zone tables loaded). It is killed and removed at cleanup.
type MariaDB struct {
	DSN      string // root DSN, go-sql-driver format: root:pw@tcp(127.0.0.1:PORT)/
	Port     int
	DataDir  string
	ServerID int

	tb   testing.TB
	dir  string
	args []string
	bin  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

var serverIDs atomic.Int32

// StartMariaDB starts a private MariaDB server for tests that change
// server-wide settings or stop/kill the server.
func StartMariaDB(tb testing.TB, opts MariaDBOptions) *MariaDB {
	tb.Helper()
	const name = "private MariaDB"
	bin := mustGetenv(tb, name, "EVAC_TEST_MARIADBD")
	tmpl := mustGetenv(tb, name, "EVAC_TEST_MARIADB_TEMPLATE")
	pw := mustGetenv(tb, name, "EVAC_TEST_MYSQL_PASSWORD")
	dir, err := privateDir("evac-mariadb-")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	m := &MariaDB{tb: tb, dir: dir, bin: bin, DataDir: filepath.Join(dir, "data"),
		ServerID: 100 + int(serverIDs.Add(1))}
	tb.Cleanup(func() { m.Kill(); _ = os.RemoveAll(dir) })
	if out, err := exec.Command("cp", "-a", "--sparse=always", tmpl, m.DataDir).CombinedOutput(); err != nil {
		tb.Fatalf("testenv: copy MariaDB template %s: %v: %s; %s", tmpl, err, out, Fix)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o755); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	var lastErr error
	for range 3 {
		m.Port, err = freePort()
		if err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		m.DSN = fmt.Sprintf("root:%s@tcp(127.0.0.1:%d)/", pw, m.Port)
		m.args = mariadbArgs(dir, m.Port, m.ServerID, opts)
		if lastErr = m.start(); lastErr == nil {
			return m
		}
		if !strings.Contains(lastErr.Error(), "Address already in use") {
			break
		}
	}
	tb.Fatalf("testenv: %v", lastErr)
	return nil
}

func mariadbArgs(dir string, port, serverID int, opts MariaDBOptions) []string {
	args := []string{
		"--no-defaults", "--user=root", "--datadir=" + filepath.Join(dir, "data"),
		"--socket=" + filepath.Join(dir, "mariadbd.sock"), "--pid-file=" + filepath.Join(dir, "mariadbd.pid"),
		"--log-error=" + filepath.Join(dir, "error.log"), "--tmpdir=" + filepath.Join(dir, "tmp"),
		"--port=" + strconv.Itoa(port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--max-connections=300", "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
		"--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
		"--server-id=" + strconv.Itoa(serverID), "--relay-log=relay-bin",
	}
	if opts.Binlog {
		args = append(args, "--log-bin=mysql-bin", "--log-slave-updates", "--binlog-format=ROW",
			"--binlog-row-image=FULL", "--binlog-row-metadata=FULL")
	} else {
		args = append(args, "--skip-log-bin")
	}
	return append(args, opts.ExtraArgs...)
}

// privateDir makes a directory for a private server under $EVAC_TEST_DIR/private
// (same filesystem as the template, and `scripts/testenv down` reaps what a
// killed test left there), or under the system temp dir.
func privateDir(prefix string) (string, error) {
	base := os.TempDir()
	if d := Getenv("EVAC_TEST_DIR"); d != "" {
		// A unix socket path must stay under 108 bytes.
		if p := filepath.Join(d, "private"); len(p)+len(prefix)+40 < 100 && os.MkdirAll(p, 0o755) == nil {
			base = p
		}
	}
	return os.MkdirTemp(base, prefix)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts the server again on the same datadir and port (after Stop or
// Kill) and waits until it accepts connections. Call it from the test goroutine.
func (m *MariaDB) Start() {
	m.tb.Helper()
	if err := m.start(); err != nil {
		m.tb.Fatalf("testenv: %v", err)
	}
}

func (m *MariaDB) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return nil
	}
	cmd := exec.Command(m.bin, m.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w; %s", m.bin, err, Fix)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.cmd, m.done = cmd, done
	addr := fmt.Sprintf("127.0.0.1:%d", m.Port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := CheckMySQL(context.Background(), "private MariaDB", m.DSN)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			m.cmd = nil
			return fmt.Errorf("private MariaDB on %s exited at start: %s", addr, m.errorLogTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("private MariaDB on %s not ready after 60s: %v; log: %s", addr, err, m.errorLogTail())
		}
	}
}

func (m *MariaDB) errorLogTail() string {
	b, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, " | ")
}

// Stop shuts the server down cleanly (SIGTERM) and waits for it to exit.
// Safe to call from any goroutine and more than once.
func (m *MariaDB) Stop() { m.signal(syscall.SIGTERM, 60*time.Second) }

// Kill kills the server (SIGKILL, like a crash) and waits for it to exit.
// Safe to call from any goroutine and more than once.
func (m *MariaDB) Kill() { m.signal(syscall.SIGKILL, 10*time.Second) }

func (m *MariaDB) signal(sig syscall.Signal, wait time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(sig)
	select {
	case <-m.done:
	case <-time.After(wait):
		_ = m.cmd.Process.Kill()
		<-m.done
		m.tb.Errorf("testenv: private MariaDB on port %d ignored %v for %v; killed", m.Port, sig, wait)
	}
	m.cmd = nil
}
