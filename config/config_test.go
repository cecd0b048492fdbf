package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/evac-dev/evac/internal/redact"
)

// env is a fixed environment for tests (never the process environment).
func env(vars map[string]string) LookupEnv {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

var testEnv = env(map[string]string{
	"EVAC_TEST_S3_ENDPOINT":   "http://127.0.0.1:7070",
	"EVAC_TEST_S3_ACCESS_KEY": "versity-access",
	"EVAC_TEST_S3_SECRET_KEY": "versity-Secret-0001",
	"EVAC_TEST_SOURCE_DSN":    "root:src-Pw-0001@tcp(127.0.0.1:20001)/",
	"EVAC_TEST_TARGET_DSN":    "root:dst-Pw-0001@tcp(127.0.0.1:20002)/",
	"DC1_ACCESS_KEY":          "AKIAEXAMPLEEXAMPLE12",
	"DC1_SECRET_KEY":          "dc1-Secret-Key-0001",
	"MYSQL_PASSWORD":          "legacy-Pw-0001",
	"AURORA_PASSWORD":         "aurora-Pw-0001",
})

func parseFile(t *testing.T, path string) (*File, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(filepath.Base(path), data, testEnv)
}

// TestBadConfigs asserts the exact message for each file in testdata/config/bad.
func TestBadConfigs(t *testing.T) {
	cases := map[string]string{
		"unknown-field.yaml":   `unknown-field.yaml:6:7: unknown field "wokers" in jobs[0].sync (did you mean "workers"?)`,
		"unknown-top.yaml":     `unknown-top.yaml:2:1: unknown field "job" in the top level (did you mean "jobs"?)`,
		"workers-zero.yaml":    `workers-zero.yaml:6:16: jobs[0].sync.workers: must be between 1 and 4096, got 0 (set workers: 64 or remove the line for the default)`,
		"workers-not-int.yaml": `workers-not-int.yaml:6:16: jobs[0].sync.workers: expected an integer, got "many" (write a whole number without quotes or units)`,
		"bad-size.yaml":        `bad-size.yaml:6:18: jobs[0].sync.part_size: expected a size like 64MiB, 1GiB or 1048576, got "64 megs"`,
		"part-size-small.yaml": `part-size-small.yaml:6:18: jobs[0].sync.part_size: must be between 5MiB and 5GiB, got 1MiB (set part_size: 64MiB or remove the line for the default)`,
		"missing-target.yaml":  `missing-target.yaml:3:5: jobs[0].sync.target: missing (add target: /path/to/dir or s3://bucket/prefix)`,
		"bad-enum.yaml":        `bad-enum.yaml:6:25: jobs[0].sync.server_side_copy: must be one of auto, always, never, got "sometimes" (set server_side_copy: auto or remove the line for the default)`,
		"unknown-s3-ref.yaml":  `unknown-s3-ref.yaml:9:18: jobs[0].sync.target_s3: no s3 entry named "aws-east" (defined: aws) (define it under s3: or fix the name)`,
		"bad-dsn.yaml":         `bad-dsn.yaml:3:10: mysql.legacy.dsn: invalid DSN: missing the slash separating the database name (write it as user@tcp(host:3306)/ with :password after the user, see docs/CONFIG.md)`,
		"missing-env.yaml":     `missing-env.yaml:3:10: mysql.legacy.dsn: environment variable EVAC_TEST_UNSET_PASSWORD is not set (export it before running evac, or write a default after :- inside the braces)`,
		"two-kinds.yaml":       `two-kinds.yaml:2:5: jobs[0]: a job needs exactly one of sync, replicate or verify, found sync and replicate (split it into one job per kind, each with its own name)`,
		"no-kind.yaml":         `no-kind.yaml:2:5: jobs[0]: a job needs exactly one of sync, replicate or verify, found none (split it into one job per kind, each with its own name)`,
		"duplicate-name.yaml":  `duplicate-name.yaml:4:11: jobs[1].name: job name "docs" is already used by jobs[0] (give every job a unique name)`,
		"overlap.yaml":         `overlap.yaml:5:15: jobs[0].sync.target: /data and /data/backup overlap: the copy would read its own output (choose a target that is neither the source, inside it, nor around it)`,
		"bad-table.yaml":       `bad-table.yaml:9:16: jobs[0].replicate.tables[0]: "orders" is not database.table (write it as database.table, e.g. shop.orders)`,
		"list-expected.yaml":   `list-expected.yaml:9:18: jobs[0].replicate.databases: expected a list, got "shop" (write databases: [a, b] or one "- item" per line)`,
		"bad-bool.yaml":        `bad-bool.yaml:6:15: jobs[0].sync.delete: expected true or false, got "yes" (write delete: true or delete: false)`,
		"kms-without-sse.yaml": `kms-without-sse.yaml:4:21: s3.aws.sse_kms_key_id: needs sse: aws:kms, got sse: "" (add sse: aws:kms)`,
		"bad-shard.yaml":       `bad-shard.yaml:6:14: jobs[0].sync.shard: invalid shard "8/8": index must be between 0 and 7 (write i/N with 0 <= i < N, e.g. 2/8, or auto/N for a Kubernetes Indexed Job)`,
		"empty.yaml":           `empty.yaml: the config file is empty (start from testdata/config/good/full.yaml or docs/CONFIG.md)`,
		"version.yaml":         `version.yaml:1:10: version: unsupported version 2 (this evac reads version: 1 files; remove the line or set version: 1)`,
		"syntax.yaml":          `syntax.yaml:5:6: invalid YAML: value is not allowed in this context (check the indentation; quote values that contain ": ", " #" or start with @, *, & or !)`,
		"duplicate-key.yaml":   `duplicate-key.yaml:7:7: invalid YAML: mapping key "workers" already defined at [6:7] (check the indentation; quote values that contain ": ", " #" or start with @, *, & or !)`,
	}
	files, _ := filepath.Glob("../testdata/config/bad/*.yaml")
	if len(files) != len(cases) {
		t.Errorf("%d files in testdata/config/bad, %d cases: every bad file needs its expected message", len(files), len(cases))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			_, err := parseFile(t, path)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if got, want := err.Error(), cases[name]; got != want {
				t.Errorf("error\n got: %s\nwant: %s", got, want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

// TestInlineBadConfigs covers problems that need no file of their own.
func TestInlineBadConfigs(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"missing name", "jobs:\n  - sync: {source: /a, target: s3://b/c}\n",
			`t.yaml:2:5: jobs[0].name: missing (give every job a unique name, e.g. name: documents)`},
		{"mapping expected", "s3: [a, b]\n",
			`t.yaml:1:5: s3: expected a mapping of names to settings, got a list`},
		{"bad endpoint", "s3:\n  dc1:\n    endpoint: s3.dc1.example\n",
			`t.yaml:3:15: s3.dc1.endpoint: "s3.dc1.example" is not an http(s) URL (write the full URL, e.g. endpoint: https://s3.dc1.example:9000)`},
		{"half keys", "s3:\n  dc1:\n    access_key_id: AKIAEXAMPLEEXAMPLE12\n",
			`t.yaml:2:3: s3.dc1: access_key_id and secret_access_key go together (set both access_key_id and secret_access_key, or neither to use the AWS credential chain)`},
		{"unknown mysql ref", "jobs:\n  - name: r\n    replicate:\n      source: legacy\n      target: \"root@tcp(127.0.0.1:3307)/\"\n",
			`t.yaml:4:15: jobs[0].replicate.source: no mysql entry named "legacy" (defined: none) (define it under mysql: or write a go-sql-driver DSN)`},
		{"bad duration", "jobs:\n  - name: r\n    replicate:\n      source: \"root@tcp(a:1)/\"\n      target: \"root@tcp(b:1)/\"\n      chunk_time: soon\n",
			`t.yaml:6:19: jobs[0].replicate.chunk_time: expected a duration like 500ms, 30s or 5m, got "soon"`},
		{"s3 ref on local", "jobs:\n  - name: d\n    sync: {source: /a, source_s3: x, target: s3://b}\n",
			`t.yaml:3:35: jobs[0].sync.source_s3: applies only to s3:// locations, and source is local (remove it, or make source an s3:// location)`},
		{"bad scheme", "jobs:\n  - name: d\n    sync: {source: gs://a, target: s3://b}\n",
			`t.yaml:3:20: jobs[0].sync.source: unsupported scheme "gs" in "gs://a": use s3://bucket/prefix, file:///path or a plain path`},
		{"verify empty", "jobs:\n  - name: v\n    verify: {report: r.json}\n",
			`t.yaml:3:5: jobs[0].verify: a verify job needs tables, objects or both (add tables: {source: ..., target: ...} and/or objects: {source: ..., target: ...})`},
		{"max_delete without delete", "jobs:\n  - name: d\n    sync: {source: /a, target: s3://b, max_delete: 10}\n",
			`t.yaml:3:52: jobs[0].sync.max_delete: has no effect without delete: true (add delete: true, or remove max_delete)`},
		{"unknown field no suggestion", "daemon:\n  zzz: 1\n",
			`t.yaml:2:3: unknown field "zzz" in daemon (valid fields: listen, verify_interval, rpo_budget)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(c.yaml), testEnv)
			if err == nil {
				t.Fatal("parsed without error")
			}
			if err.Error() != c.want {
				t.Errorf("error\n got: %s\nwant: %s", err, c.want)
			}
		})
	}
}

func TestSeveralErrorsOnePerLine(t *testing.T) {
	y := "jobs:\n  - name: a\n    sync: {source: /a, target: s3://b, workers: 0}\n  - name: b\n    sync: {source: /c, target: s3://d, wokers: 1}\n"
	_, err := Parse("t.yaml", []byte(y), testEnv)
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want ErrorList, got %T: %v", err, err)
	}
	// Decode errors are reported before validation runs, so only the typo shows.
	if len(list) != 1 || !strings.Contains(list[0].Error(), `unknown field "wokers" in jobs[1].sync`) {
		t.Fatalf("got %v", err)
	}
	y = "jobs:\n  - name: a\n    sync: {source: /a, target: s3://b, workers: 0}\n  - name: b\n    sync: {source: /c, target: s3://d, part_size: 1}\n"
	_, err = Parse("t.yaml", []byte(y), testEnv)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "t.yaml:3:") || !strings.HasPrefix(lines[1], "t.yaml:5:") {
		t.Fatalf("want two errors in file order, got:\n%v", err)
	}
}

func TestGoodConfig(t *testing.T) {
	f, err := parseFile(t, "../testdata/config/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := f.Job("documents").Sync
	if docs.Workers != 128 || docs.PartSize != 128*MiB || docs.MultipartThreshold != DefaultMultipartThreshold ||
		!docs.Delete || docs.MaxDelete != 1000 || docs.Watch != 10*time.Minute {
		t.Errorf("documents job: %+v", docs)
	}
	if docs.SourceLocation.Kind != LocalKind || docs.SourceLocation.Path != "/data/documents" {
		t.Errorf("source location %+v", docs.SourceLocation)
	}
	tl := docs.TargetLocation
	if tl.Kind != S3Kind || tl.Bucket != "court-archive" || tl.Prefix != "documents" || tl.S3 != f.S3["aws"] {
		t.Errorf("target location %+v", tl)
	}
	scans := f.Job("scans").Sync
	if scans.SourceLocation.S3 != f.S3["dc1"] || !scans.SourceLocation.S3.UsePathStyle() || f.S3["aws"].UsePathStyle() {
		t.Errorf("scans: path style / s3 refs wrong: %+v", scans.SourceLocation)
	}
	if scans.TargetLocation.Prefix != "" {
		t.Errorf("trailing slash: prefix %q", scans.TargetLocation.Prefix)
	}
	if got := f.S3["dc1"].SecretAccessKey; got != "dc1-Secret-Key-0001" {
		t.Errorf("env not expanded: %q", got)
	}
	r := f.Job("orders-db").Replicate
	if r.SourceDSN != "evac:legacy-Pw-0001@tcp(10.0.0.5:3306)/" || r.Snapshot != "auto" || r.SnapshotWorkers != 8 {
		t.Errorf("replicate: %+v", r)
	}
	v := f.Job("pre-cutover").Verify
	if v.Tables.TargetDSN == "" || v.Objects.TargetLocation.S3 != f.S3["aws"] || v.Tables.Workers != DefaultVerifyWorkers {
		t.Errorf("verify: %+v %+v", v.Tables, v.Objects)
	}
	if kinds := len(f.JobsOf(KindSync)); kinds != 2 {
		t.Errorf("JobsOf(sync) = %d", kinds)
	}
	if f.Daemon.RPOBudget != 5*time.Second {
		t.Errorf("daemon: %+v", f.Daemon)
	}
}

// TestRoundTrip marshals a loaded file and loads it again: same values.
func TestRoundTrip(t *testing.T) {
	f, err := parseFile(t, "../testdata/config/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse("/etc/evac/roundtrip.yaml", out, testEnv)
	if err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	f.pos, g.pos = nil, nil
	g.Path = f.Path
	if !reflect.DeepEqual(f, g) {
		t.Errorf("round trip differs\nfirst:  %+v\nsecond: %+v\nyaml:\n%s", f, g, out)
	}
}

func TestMinimalDefaultsAndRelativePath(t *testing.T) {
	f, err := Parse("/etc/evac/evac.yaml", []byte("jobs:\n  - name: b\n    sync:\n      source: ./data\n      target: s3://backup/data/\n"), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	j := f.Jobs[0].Sync
	want := DefaultSync()
	want.Source, want.Target = j.Source, j.Target
	want.SourceLocation, want.TargetLocation = j.SourceLocation, j.TargetLocation
	if !reflect.DeepEqual(*j, want) {
		t.Errorf("defaults not applied:\n got %+v\nwant %+v", *j, want)
	}
	if j.SourceLocation.Path != "/etc/evac/data" || j.TargetLocation.Prefix != "data" {
		t.Errorf("locations: %+v %+v", j.SourceLocation, j.TargetLocation)
	}
}

func TestExpand(t *testing.T) {
	lookup := env(map[string]string{"A": "alpha", "EMPTY": ""})
	cases := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"${A}", "alpha", ""},
		{"x-${A}-y", "x-alpha-y", ""},
		{"${MISSING:-fallback}", "fallback", ""},
		{"${EMPTY:-fallback}", "fallback", ""},
		{"${MISSING:-}", "", ""},
		{"pa$$word", "pa$$word", ""},
		{"cost $5", "cost $5", ""},
		{"$${A}", "${A}", ""},
		{"${A}${A}", "alphaalpha", ""},
		{"${MISSING}", "", "environment variable MISSING is not set (export it before running evac, or write a default after :- inside the braces)"},
		{"${EMPTY}", "", "environment variable EMPTY is not set (export it before running evac, or write a default after :- inside the braces)"},
		{"${A", "", "unterminated ${ at offset 0 (close it with } or write $${ for a literal ${)"},
		{"${1X}", "", "invalid environment variable reference ${1X} (use ${NAME} or ${NAME:-default}, NAME made of letters, digits and _)"},
	}
	for _, c := range cases {
		got, _, err := expand(c.in, lookup)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("expand(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestExpandEnvForFlags(t *testing.T) {
	t.Setenv("EVAC_FLAG_TEST_PW", "flag-Pw-$1")
	got, err := ExpandEnv("evac:${EVAC_FLAG_TEST_PW}@tcp(db1:3306)/?x=$y")
	if err != nil || got != "evac:flag-Pw-$1@tcp(db1:3306)/?x=$y" {
		t.Errorf("ExpandEnv = %q, %v", got, err)
	}
	_, err = ExpandEnv("${EVAC_FLAG_TEST_UNSET}")
	if err == nil || !strings.Contains(err.Error(), "environment variable EVAC_FLAG_TEST_UNSET is not set") {
		t.Errorf("unset: %v", err)
	}
}

func TestEnvExpansionInNumbers(t *testing.T) {
	y := "jobs:\n  - name: d\n    sync: {source: /a, target: s3://b, workers: \"${W:-32}\", part_size: \"${PS}\"}\n"
	f, err := Parse("t.yaml", []byte(y), env(map[string]string{"PS": "8MiB"}))
	if err != nil {
		t.Fatal(err)
	}
	if j := f.Jobs[0].Sync; j.Workers != 32 || j.PartSize != 8*MiB {
		t.Errorf("got workers=%d part_size=%s", j.Workers, j.PartSize)
	}
}

// TestSecretsRedacted: passwords and secret keys loaded from the file never
// appear in an error, even in errors about the very value that holds them.
func TestSecretsRedacted(t *testing.T) {
	const pw = "Zq9-unit-test-Pw"
	y := "mysql:\n  a:\n    dsn: \"root:${PW}@127.0.0.1:3306\"\n" +
		"s3:\n  x:\n    access_key_id: AKIAEXAMPLEEXAMPLE12\n    secret_access_key: ${SK}\n    endpoint: nope\n"
	_, err := Parse("t.yaml", []byte(y), env(map[string]string{"PW": pw, "SK": "sk-unit-test-Secret"}))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, secret := range []string{pw, "sk-unit-test-Secret", "AKIAEXAMPLEEXAMPLE12"} {
		if strings.Contains(msg, secret) {
			t.Errorf("secret %q in error:\n%s", secret, msg)
		}
	}
	if !strings.Contains(msg, "t.yaml:3:10: mysql.a.dsn: invalid DSN") || !strings.Contains(msg, "s3.x.endpoint") {
		t.Errorf("expected both problems, got:\n%s", msg)
	}
	// Registered: any later log line or error that quotes the value is masked.
	if got := redact.String("connect failed for " + pw + " and sk-unit-test-Secret"); strings.Contains(got, pw) || strings.Contains(got, "sk-unit-test") {
		t.Errorf("not registered with redact: %q", got)
	}
}

func TestByteSize(t *testing.T) {
	cases := map[string]ByteSize{
		"1048576": MiB, "64MiB": 64 * MiB, "64M": 64 * MiB, "64MB": 64_000_000, "1.5GiB": GiB + GiB/2,
		"5 GiB": 5 * GiB, "0": 0, "1k": KiB, "2TiB": 2 * TiB,
	}
	for in, want := range cases {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "64 megs", "1.2.3"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", bad)
		}
	}
	if s := (64 * MiB).String(); s != "64MiB" {
		t.Errorf("String = %q", s)
	}
	if s := ByteSize(1000).String(); s != "1000" {
		t.Errorf("String = %q", s)
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string][2]int{"0/1": {0, 1}, "3/8": {3, 8}, "auto/4": {-1, 4}} {
		i, n, err := ParseShard(in)
		if err != nil || i != want[0] || n != want[1] {
			t.Errorf("ParseShard(%q) = %d, %d, %v", in, i, n, err)
		}
	}
	for _, bad := range []string{"", "1", "8/8", "-1/4", "a/4", "0/0"} {
		if _, _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"workers", "part_size", "delete", "exclude"}
	for in, want := range map[string]string{"wokers": "workers", "partsize": "part_size", "Delete": "delete", "xyz": "", "exlcude": "exclude"} {
		if got := suggest(in, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGoodConfigsLoad: every sample in testdata/config/good is valid.
func TestGoodConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("../testdata/config/good/*.yaml")
	if len(files) < 3 {
		t.Fatalf("only %d good samples", len(files))
	}
	for _, path := range files {
		if _, err := parseFile(t, path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// TestAnchorsAndMergeKeys: x- keys hold anchors; "<<" merges; explicit keys win.
func TestAnchorsAndMergeKeys(t *testing.T) {
	f, err := parseFile(t, "../testdata/config/good/testenv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, s3 := f.Job("demo-files").Sync, f.Job("demo-s3").Sync
	if files.Workers != 32 || files.PartSize != 8*MiB || s3.Workers != 8 || s3.PartSize != 8*MiB {
		t.Errorf("merge: files workers=%d part=%s, s3 workers=%d part=%s", files.Workers, files.PartSize, s3.Workers, s3.PartSize)
	}
	if r := f.Job("demo-db").Replicate; r.SourceDSN != "root:src-Pw-0001@tcp(127.0.0.1:20001)/" || !r.UntilCaughtUp {
		t.Errorf("replicate from env DSN: %+v", r)
	}
	if got := redact.String("dsn root:src-Pw-0001@x"); strings.Contains(got, "src-Pw-0001") {
		t.Errorf("env DSN password not registered: %q", got)
	}
	_, err = Parse("t.yaml", []byte("x-a: &a 5\njobs:\n  - name: d\n    sync:\n      <<: *a\n"), testEnv)
	want := `t.yaml:5:7: jobs[0].sync: merge key needs a mapping, got "5" (write <<: *anchor with an anchor on a mapping)`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
