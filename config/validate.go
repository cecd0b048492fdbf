package config

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/internal/redact"
)

// validator checks values and resolves references. In file mode errors
// carry file positions and YAML field paths; in flag mode (CheckSync & co.,
// used by cmd after flags override a job) they name the flag instead.
type validator struct {
	f          *File
	flags      bool
	flagPrefix string // flag mode: "source-" for --source-endpoint
	errs       ErrorList
}

func (f *File) validate() error {
	v := &validator{f: f}
	if f.Version != 1 {
		v.fail("version", "this evac reads version: 1 files; remove the line or set version: 1",
			"unsupported version %d", f.Version)
	}
	for _, name := range sortedKeys(f.S3) {
		v.s3("s3."+name, f.S3[name])
	}
	for _, name := range sortedKeys(f.MySQL) {
		p := "mysql." + name + ".dsn"
		if f.MySQL[name].DSN == "" {
			v.missing(p, "add dsn: with a go-sql-driver DSN, see docs/CONFIG.md")
			continue
		}
		v.dsn(p, f.MySQL[name].DSN)
	}
	names := map[string]string{}
	for i, j := range f.Jobs {
		v.job(fmt.Sprintf("jobs[%d]", i), j, names)
	}
	v.daemon(&f.Daemon)
	return v.errs.err()
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// place finds the position of path, walking up to the closest recorded parent.
func (v *validator) place(p string, key bool) (int, int) {
	if v.f == nil {
		return 0, 0
	}
	for q := p; q != ""; q = parent(q) {
		if ps, ok := v.f.pos[q]; ok {
			if key || q != p {
				return ps.keyLine, ps.keyCol
			}
			return ps.line, ps.col
		}
	}
	return 0, 0
}

func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func lastKey(p string) string {
	p = p[strings.LastIndex(p, ".")+1:]
	if i := strings.IndexByte(p, '['); i >= 0 {
		p = p[:i]
	}
	return p
}

func (v *validator) add(p string, key bool, fix, format string, args ...any) {
	e := &Error{Path: p, Problem: fmt.Sprintf(format, args...), Fix: fix}
	if v.flags {
		e.Path = "--" + v.flagPrefix + strings.ReplaceAll(lastKey(p), "_", "-")
	} else if v.f != nil {
		e.File = v.f.Path
		e.Line, e.Column = v.place(p, key)
	}
	v.errs.add(e)
}

// fail reports a bad value at the value's position.
func (v *validator) fail(p, fix, format string, args ...any) { v.add(p, false, fix, format, args...) }

// missing reports a required field that is absent, at its parent's position.
func (v *validator) missing(p, fix string) { v.add(p, true, fix, "missing") }

// setFix is the fix for a value with a default.
func (v *validator) setFix(p, def string) string {
	k := lastKey(p)
	if v.flags {
		return fmt.Sprintf("use --%s%s %s or leave the flag out for the default", v.flagPrefix, strings.ReplaceAll(k, "_", "-"), def)
	}
	return fmt.Sprintf("set %s: %s or remove the line for the default", k, def)
}

func (v *validator) intRange(p string, got, lo, hi, def int) {
	if got < lo || got > hi {
		v.fail(p, v.setFix(p, strconv.Itoa(def)), "must be between %d and %d, got %d", lo, hi, got)
	}
}

func (v *validator) sizeRange(p string, got, lo, hi, def ByteSize) {
	if got < lo || got > hi {
		v.fail(p, v.setFix(p, def.String()), "must be between %s and %s, got %s", lo, hi, got)
	}
}

func (v *validator) durRange(p string, got, lo, hi, def time.Duration) {
	if got < lo || got > hi {
		v.fail(p, v.setFix(p, def.String()), "must be between %s and %s, got %s", lo, hi, got)
	}
}

func (v *validator) oneOf(p, got, def string, allowed ...string) {
	if !slices.Contains(allowed, got) {
		v.fail(p, v.setFix(p, def), "must be one of %s, got %q", strings.Join(allowed, ", "), got)
	}
}

func (v *validator) s3(p string, s *S3) {
	if s.Endpoint != "" {
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail(p+".endpoint", "write the full URL, e.g. endpoint: https://s3.dc1.example:9000",
				"%q is not an http(s) URL", s.Endpoint)
		}
	}
	if (s.AccessKeyID == "") != (s.SecretAccessKey == "") {
		v.fail(p, "set both access_key_id and secret_access_key, or neither to use the AWS credential chain",
			"access_key_id and secret_access_key go together")
	}
	if s.Profile != "" && s.AccessKeyID != "" {
		v.fail(p+".profile", "remove profile or the static keys", "profile and access_key_id are both set")
	}
	v.oneOf(p+".sse", s.SSE, `""`, "", "AES256", "aws:kms")
	if s.SSEKMSKeyID != "" && s.SSE != "aws:kms" {
		v.fail(p+".sse_kms_key_id", "add sse: aws:kms", "needs sse: aws:kms, got sse: %q", s.SSE)
	}
}

// dsn validates a go-sql-driver DSN without ever printing it.
func (v *validator) dsn(p, dsn string) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		v.fail(p, "write it as user@tcp(host:3306)/ with :password after the user, see docs/CONFIG.md",
			"%s", redact.String(err.Error()))
		return
	}
	redact.Register(cfg.Passwd)
}

// mysqlRef resolves a replicate/verify side: a mysql: name or an inline DSN.
func (v *validator) mysqlRef(p, ref string) string {
	if ref == "" {
		v.missing(p, "name a mysql: entry or write a DSN")
		return ""
	}
	if v.flags && strings.Contains(ref, "${") {
		// A DSN flag in single quotes: --source 'evac:${MYSQL_PASSWORD}@tcp(db1:3306)/'.
		x, _, err := expand(ref, os.LookupEnv)
		if err != nil {
			ee := err.(*envError)
			v.fail(p, ee.Fix, "%s", ee.Problem)
			return ""
		}
		ref = x
	}
	if nameRE.MatchString(ref) && !strings.ContainsAny(ref, "@/(") {
		if v.f != nil {
			if m, ok := v.f.MySQL[ref]; ok {
				return m.DSN
			}
		}
		if v.f == nil {
			v.fail(p, "write a DSN like 'user:${MYSQL_PASSWORD}@tcp(host:3306)/', or give -c evac.yaml to use a mysql: entry by name",
				"%q is not a go-sql-driver DSN, and no config file was given to look it up as a mysql entry", ref)
			return ""
		}
		v.fail(p, "define it under mysql: or write a go-sql-driver DSN",
			"no mysql entry named %q (defined: %s)", ref, listOrNone(v.f.mysqlNames()))
		return ""
	}
	v.dsn(p, ref)
	return ref
}

func (f *File) mysqlNames() []string {
	if f == nil {
		return nil
	}
	return sortedKeys(f.MySQL)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// location resolves an object side and its s3 reference.
func (v *validator) location(p, raw, s3p, s3ref string) Location {
	base := "."
	if v.f != nil && v.f.Path != "" {
		base = filepath.Dir(v.f.Path)
	}
	if raw == "" {
		v.missing(p, "add "+lastKey(p)+": /path/to/dir or s3://bucket/prefix")
		return Location{}
	}
	l, err := ParseLocation(raw, base)
	if err != nil {
		v.fail(p, "", "%v", err)
		return l
	}
	if s3ref == "" {
		return l
	}
	if l.Kind != S3Kind {
		v.fail(s3p, "remove it, or make "+lastKey(p)+" an s3:// location", "applies only to s3:// locations, and %s is local", lastKey(p))
		return l
	}
	if v.f != nil {
		if s, ok := v.f.S3[s3ref]; ok {
			l.S3 = s
			return l
		}
	}
	var names []string
	if v.f != nil {
		names = sortedKeys(v.f.S3)
	}
	v.fail(s3p, "define it under s3: or fix the name", "no s3 entry named %q (defined: %s)", s3ref, listOrNone(names))
	return l
}

func (v *validator) patterns(p string, pats []string) {
	for i, pat := range pats {
		if _, err := path.Match(pat, ""); err != nil || pat == "" {
			v.fail(fmt.Sprintf("%s[%d]", p, i), `use glob syntax: *, ?, [a-z]; e.g. "*.tmp" or "logs/*"`, "invalid pattern %q", pat)
		}
	}
}

func (v *validator) tableNames(p string, tables []string) {
	for i, t := range tables {
		db, tbl, ok := strings.Cut(t, ".")
		if !ok || db == "" || tbl == "" {
			v.fail(fmt.Sprintf("%s[%d]", p, i), "write it as database.table, e.g. shop.orders", "%q is not database.table", t)
		}
	}
}

func (v *validator) daemon(d *Daemon) {
	if d.Listen != "" && !strings.Contains(d.Listen, ":") {
		v.fail("daemon.listen", "write host:port, e.g. listen: 127.0.0.1:9187", "%q is not host:port", d.Listen)
	}
	if d.VerifyInterval < 0 {
		v.fail("daemon.verify_interval", "use a positive duration like 1h, or 0 to turn it off", "negative duration %s", d.VerifyInterval)
	}
	if d.RPOBudget < 0 {
		v.fail("daemon.rpo_budget", "use a positive duration like 5s", "negative duration %s", d.RPOBudget)
	}
}
