package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/evac-dev/evac/config"
	"github.com/evac-dev/evac/internal/version"
)

func runEvac(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestHelpListsExactlyTheBuiltCommands: `evac --help` shows every
// registered engine command plus version/completion/help, nothing else,
// and every command carries an example.
func TestHelpListsExactlyTheBuiltCommands(t *testing.T) {
	code, out, errOut := runEvac(t, "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := []string{"completion", "help", "version"}
	a := &app{}
	for _, newCmd := range commands {
		want = append(want, newCmd(a).Name())
	}
	slices.Sort(want)
	if got := listedCommands(out); !slices.Equal(got, want) {
		t.Errorf("help lists %v, want %v\n%s", got, want, out)
	}
	for _, s := range []string{"Examples:", "evac -c evac.yaml verify", "Exit codes: 0 success, 1", "--log-format", "-c, --config"} {
		if !strings.Contains(out, s) {
			t.Errorf("help lacks %q", s)
		}
	}
	root := newRoot(&app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("command %q has no Example", c.Name())
		}
		if regexp.MustCompile(`:[^$@\s/]{3,}@tcp\(`).MatchString(c.Example) {
			t.Errorf("command %q shows a literal password in its example; use ${MYSQL_PASSWORD}", c.Name())
		}
	}
}

// listedCommands parses the "Available Commands:" block of cobra's help.
func listedCommands(help string) []string {
	_, block, _ := strings.Cut(help, "Available Commands:\n")
	var names []string
	for _, line := range strings.Split(block, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		names = append(names, strings.Fields(line)[0])
	}
	slices.Sort(names)
	return names
}

func TestVersion(t *testing.T) {
	oldV, oldC := version.Version, version.Commit
	t.Cleanup(func() { version.Version, version.Commit = oldV, oldC })
	version.Version, version.Commit = "v9.8.7", "0123abcd"

	code, out, _ := runEvac(t, "version")
	want := "evac v9.8.7\ncommit: 0123abcd\ngo: " + runtime.Version() + "\nplatform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if code != 0 || out != want {
		t.Errorf("version: exit %d\n got %q\nwant %q", code, out, want)
	}

	code, out, _ = runEvac(t, "version", "--json")
	var got version.Info
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("version --json: exit %d, %v: %q", code, err, out)
	}
	if got != (version.Info{Version: "v9.8.7", Commit: "0123abcd", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}) {
		t.Errorf("version --json = %+v", got)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"no-such-command"}, `evac: unknown command "no-such-command" for "evac"`},
		{[]string{"version", "--no-such-flag"}, "evac: unknown flag: --no-such-flag"},
		{[]string{"version", "extra"}, `evac: unknown command "extra" for "evac version"`},
		{[]string{"--log-format", "xml", "version"}, `evac: --log-format: log format "xml": use text or json`},
		{[]string{"--log-level", "loud", "version"}, `evac: --log-level: log level "loud": use debug, info, warn or error`},
		{[]string{"-c", "/nonexistent/evac.yaml", "version"}, "evac: /nonexistent/evac.yaml: cannot read config: no such file or directory (check the path given to -c/--config)"},
	}
	for _, c := range cases {
		code, out, errOut := runEvac(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, errOut)
		}
		if first := strings.SplitN(errOut, "\n", 2)[0]; first != c.want {
			t.Errorf("%v: stderr first line\n got %q\nwant %q", c.args, first, c.want)
		}
		if strings.Count(errOut, "evac: ") != 1 || out != "" {
			t.Errorf("%v: want exactly one error line and no stdout, got stdout %q stderr %q", c.args, out, errOut)
		}
	}
}

// TestConfigErrorRedacted: a bad config exits 2 and prints the file
// position, never the DSN password.
func TestConfigErrorRedacted(t *testing.T) {
	// A short directory name: redact masks any 40-character run of
	// [A-Za-z0-9/+] as a possible AWS secret, and t.TempDir() names are long.
	dir, err := os.MkdirTemp("", "evc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "evac.yaml")
	const pw = "cli-Test-Pw-7731"
	t.Setenv("EVAC_CLI_TEST_PW", pw)
	yaml := "mysql:\n  src:\n    dsn: \"root:${EVAC_CLI_TEST_PW}@127.0.0.1:3306\"\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runEvac(t, "-c", path, "version")
	if code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	want := "evac: " + path + ":3:10: mysql.src.dsn: invalid DSN: missing the slash separating the database name"
	if !strings.HasPrefix(errOut, want) {
		t.Errorf("stderr\n got %q\nwant prefix %q", errOut, want)
	}
	if strings.Contains(errOut, pw) || strings.Contains(errOut, "--help") {
		t.Errorf("stderr leaks the password or suggests --help: %q", errOut)
	}
}

func TestExitCodeMap(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	plain := errors.New("boom")
	cases := []struct {
		name    string
		ctx     context.Context
		err     error
		started bool
		want    int
	}{
		{"nil", bg, nil, true, 0},
		{"plain error from RunE", bg, plain, true, 1},
		{"job failed", bg, jobFailedf("3 objects failed"), true, 1},
		{"usage", bg, usageErrorf("--shard: bad"), true, 2},
		{"cobra parse error", bg, plain, false, 2},
		{"silent verdict", bg, exitCode(1), true, 1},
		{"interrupted", canceled, context.Canceled, true, 130},
		{"canceled without signal", bg, context.Canceled, true, 1},
	}
	for _, c := range cases {
		if got := exitCodeOf(c.ctx, c.err, c.started); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
	if usage(nil) != nil || jobFailed(nil) != nil {
		t.Error("nil must stay nil")
	}
	if !errors.Is(jobFailed(plain), plain) || !errors.Is(usage(plain), plain) {
		t.Error("wrappers must keep errors.Is")
	}
}

func TestAppJob(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "evac.yaml")
	y := "jobs:\n  - name: docs\n    sync: {source: /data, target: s3://b/docs}\n  - name: pics\n    sync: {source: /pics, target: s3://b/pics}\n"
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	root := newRoot(a) // binds the global flags to a (with their defaults)
	if _, err := a.job(config.KindSync, "docs"); err == nil || !strings.Contains(err.Error(), "needs a config file") {
		t.Errorf("without -c: %v", err)
	}
	a.configPath = path
	if err := a.setup(root, nil); err != nil {
		t.Fatal(err)
	}
	if j, err := a.job(config.KindSync, "pics"); err != nil || j.Sync.Source != "/pics" {
		t.Errorf("job pics: %v %v", j, err)
	}
	_, err := a.job(config.KindReplicate, "docs")
	want := "--job docs: docs is a sync job, not a replicate job (replicate jobs in " + path + ": none)"
	if err == nil || err.Error() != want || exitCodeOf(context.Background(), err, true) != exitUsage {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = a.job(config.KindSync, "doc")
	want = "--job doc: no such job in " + path + " (sync jobs: docs, pics)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
