// Package redact removes secrets (DSN passwords, URL credentials, AWS keys)
// from text before it reaches a log line, an error message or a report.
//
// Two mechanisms work together: pattern rules that recognise secrets by
// shape (user:password@ in DSNs and URLs, AWS access key ids, secret=…
// pairs), and a process-wide registry of exact secret values (Register)
// for secrets that have no recognisable shape, such as a password read from
// the config file. Every evac log handler and every error shown to a person
// passes through String.
package redact

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every secret.
const Mask = "xxxxx"

var (
	mu     sync.RWMutex
	values []string // registered secret values, longest first
)

// Register adds exact secret values (passwords, secret keys, session tokens)
// that String must always mask. Values shorter than 4 bytes are ignored:
// masking them would destroy ordinary text and they are not secrets worth
// the name.
func Register(secrets ...string) {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range secrets {
		if len(s) < 4 || contains(values, s) {
			continue
		}
		values = append(values, s)
	}
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var rules = []struct {
	re   *regexp.Regexp
	repl string
}{
	// URL userinfo: scheme://user:password@host
	{regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s]*@`), "${1}:" + Mask + "@"},
	// go-sql-driver DSN: user:password@tcp(...)/ or user:password@/db
	{regexp.MustCompile(`(^|[\s"'=(,])([^:@\s"'=(,/]+):\S*@(tcp\(|unix\(|/)`), "${1}${2}:" + Mask + "@${3}"},
	// AWS access key ids (AKIA, ASIA, ...)
	{regexp.MustCompile(`\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{12,}\b`), "${1}" + Mask},
	// key=value / key: value pairs whose name says secret
	{regexp.MustCompile(`(?i)((?:secret|password|passwd|pwd|token|secret_access_key|aws_secret_access_key|session_token)["']?\s*[:=]\s*["']?)[^\s"'&,;]+`), "${1}" + Mask},
}

// base64Run finds maximal runs of base64 characters; a run of exactly 40 with
// upper case, lower case and digits is taken for an AWS secret access key.
// Matching maximal runs (not \b-bounded windows) keeps long paths intact.
var base64Run = regexp.MustCompile(`[A-Za-z0-9/+]+`)

func maskAWSSecrets(s string) string {
	return base64Run.ReplaceAllStringFunc(s, func(run string) string {
		if len(run) != 40 || strings.HasPrefix(run, "/") {
			return run
		}
		var up, low, dig bool
		for _, c := range run {
			switch {
			case c >= 'A' && c <= 'Z':
				up = true
			case c >= 'a' && c <= 'z':
				low = true
			case c >= '0' && c <= '9':
				dig = true
			}
		}
		if up && low && dig {
			return Mask
		}
		return run
	})
}

// String returns s with every secret masked.
func String(s string) string {
	if s == "" {
		return s
	}
	mu.RLock()
	for _, v := range values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	mu.RUnlock()
	// MySQL's "(using password: YES)" says whether a password was sent, not
	// what it was: keep it, it is the first thing to read on error 1045.
	s = strings.NewReplacer("(using password: YES)", "(using\x00YES)", "(using password: NO)", "(using\x00NO)").Replace(s)
	for _, r := range rules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	s = strings.NewReplacer("(using\x00YES)", "(using password: YES)", "(using\x00NO)", "(using password: NO)").Replace(s)
	return maskAWSSecrets(s)
}

// DSN masks the password of a go-sql-driver DSN ("user:pw@tcp(h:3306)/db").
func DSN(dsn string) string { return String(dsn) }

// Error wraps err so that its message is redacted, keeping errors.Is/As.
func Error(err error) error {
	if err == nil {
		return nil
	}
	return &redacted{err: err}
}

type redacted struct{ err error }

func (r *redacted) Error() string { return String(r.err.Error()) }
func (r *redacted) Unwrap() error { return r.err }
