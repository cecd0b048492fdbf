package sync

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
)

// StateFolder holds evac's own files on the target (the journal mirror).
// It is excluded from sync, delete and verify on both sides.
const StateFolder = ".evac/"

// Shard selects a share of the keys: the top-level prefix (first path
// segment) of a key is hashed, so a whole folder belongs to one shard.
type Shard struct {
	Index, Count int // Count <= 1: no sharding
}

// ParseShard reads "i/N" or "auto/N"; for auto the index is jobIndex
// (the caller passes $JOB_COMPLETION_INDEX of a Kubernetes Indexed Job).
func ParseShard(spec, jobIndex string) (Shard, error) {
	if spec == "" {
		return Shard{}, nil
	}
	is, ns, ok := strings.Cut(spec, "/")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 1 {
		return Shard{}, fmt.Errorf("--shard %q: want i/N or auto/N with N >= 1, e.g. 0/4", spec)
	}
	if is == "auto" {
		if jobIndex == "" {
			return Shard{}, fmt.Errorf("--shard %s: JOB_COMPLETION_INDEX is not set; run as a Kubernetes Indexed Job or pass the index (i/%d)", spec, n)
		}
		is = jobIndex
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q: index %q must be an integer in [0, %d)", spec, is, n)
	}
	return Shard{Index: i, Count: n}, nil
}

// String is "i/N" or "" without sharding.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Owns reports whether key belongs to this shard.
func (s Shard) Owns(key string) bool {
	if s.Count <= 1 {
		return true
	}
	top, _, _ := strings.Cut(key, "/")
	h := fnv.New64a()
	h.Write([]byte(top))
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

// Filter is the compiled --include/--exclude set. Patterns: '*' matches
// within one path segment, '**' across segments, '?' one character; a
// pattern without '/' matches the last segment (the file name) at any
// depth; a pattern ending in '/' matches everything under that folder.
type Filter struct {
	include, exclude []*regexp.Regexp
	base             []bool // per include/exclude: match on the name only
	baseEx           []bool
}

// NewFilter compiles patterns.
func NewFilter(include, exclude []string) (*Filter, error) {
	f := &Filter{}
	for _, p := range include {
		re, base, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("--include %q: %w", p, err)
		}
		f.include, f.base = append(f.include, re), append(f.base, base)
	}
	for _, p := range exclude {
		re, base, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("--exclude %q: %w", p, err)
		}
		f.exclude, f.baseEx = append(f.exclude, re), append(f.baseEx, base)
	}
	return f, nil
}

// Match reports whether key passes the filter.
func (f *Filter) Match(key string) bool {
	if f == nil {
		return true
	}
	name := key[strings.LastIndexByte(key, '/')+1:]
	pick := func(base bool) string {
		if base {
			return name
		}
		return key
	}
	for i, re := range f.exclude {
		if re.MatchString(pick(f.baseEx[i])) {
			return false
		}
	}
	if len(f.include) == 0 {
		return true
	}
	for i, re := range f.include {
		if re.MatchString(pick(f.base[i])) {
			return true
		}
	}
	return false
}

func compileGlob(p string) (*regexp.Regexp, bool, error) {
	if p == "" {
		return nil, false, fmt.Errorf("empty pattern")
	}
	p = strings.TrimPrefix(p, "/")
	if strings.HasSuffix(p, "/") {
		p += "**"
	}
	base := !strings.Contains(p, "/")
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return re, base, err
}
