package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// StartVersity starts a private versitygw (posix backend) for this test and
// kills it at cleanup. Use it for tests that stop the S3 server or need an
// empty server of their own.
func StartVersity(tb testing.TB) S3Env {
	tb.Helper()
	bin := mustGetenv(tb, "private versitygw", "EVAC_TEST_VERSITYGW_BIN")
	dir, err := privateDir("evac-versitygw-")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	env := S3Env{AccessKey: "evac" + randHex(6), SecretKey: randHex(20), Region: "us-east-1", Root: root}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		env.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		if lastErr = startVersity(tb, bin, dir, port, env); lastErr == nil {
			return env
		}
	}
	tb.Fatalf("testenv: %v", lastErr)
	return env
}

func startVersity(tb testing.TB, bin, dir string, port int, env S3Env) error {
	logPath := filepath.Join(dir, "versitygw.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--port", "127.0.0.1:"+strconv.Itoa(port), "--region", env.Region, "--quiet", "posix", env.Root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+env.AccessKey, "ROOT_SECRET_ACCESS_KEY="+env.SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w; %s", bin, err, Fix)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() { _ = cmd.Process.Kill(); <-done }
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := CheckS3(context.Background(), "private versitygw", env)
		if err == nil {
			tb.Cleanup(stop)
			return nil
		}
		select {
		case <-done:
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("private versitygw on %s exited at start: %s", env.Endpoint, out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("private versitygw on %s not ready after 30s: %v", env.Endpoint, err)
		}
	}
}
