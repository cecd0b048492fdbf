package sync

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TargetKind says which keys a target can store faithfully.
type TargetKind string

const (
	// TargetS3 is AWS S3: any UTF-8 key up to 1,024 bytes, "a//b" included.
	TargetS3 TargetKind = "s3"
	// TargetS3Posix is an S3 server backed by a filesystem (versitygw,
	// MinIO): keys are paths, so "//", "." and ".." are normalised or
	// rejected, segments are limited to 255 bytes and "a" cannot coexist with "a/b".
	TargetS3Posix TargetKind = "s3-posix"
	// TargetFS is a local directory.
	TargetFS TargetKind = "fs"
)

// ParseTargetKind accepts "s3", "s3-posix" and "fs".
func ParseTargetKind(s string) (TargetKind, error) {
	switch k := TargetKind(s); k {
	case TargetS3, TargetS3Posix, TargetFS:
		return k, nil
	}
	return "", fmt.Errorf("unknown target kind %q: use s3, s3-posix or fs", s)
}

// KindOf guesses the kind of a target store: a directory is TargetFS; S3 on
// AWS (no endpoint, or *.amazonaws.com) is TargetS3; any other endpoint is
// treated as filesystem-backed (TargetS3Posix), the safe assumption.
func KindOf(s Store) TargetKind {
	st, ok := s.(*S3Store)
	if !ok {
		return TargetFS
	}
	if e := st.opt.Endpoint; e == "" || strings.Contains(e, ".amazonaws.com") {
		return TargetS3
	}
	return TargetS3Posix
}

func (k TargetKind) pathLike() bool { return k == TargetS3Posix || k == TargetFS }

// UnsafeKeyError reports a key the target cannot store faithfully.
type UnsafeKeyError struct {
	Key    string
	Kind   TargetKind
	Reason string
}

func (e *UnsafeKeyError) Error() string {
	return fmt.Sprintf("key %s cannot be stored faithfully on a %s target: %s", strconv.Quote(e.Key), e.Kind, e.Reason)
}

// KeyProblem returns why kind cannot store key faithfully, or "" if it can.
// It looks at the key alone; file/dir conflicts need KeyValidator.
func KeyProblem(kind TargetKind, key string) string {
	switch {
	case key == "":
		return "empty key"
	case !utf8.ValidString(key):
		return "not valid UTF-8"
	case strings.IndexFunc(key, isControl) >= 0:
		return "contains a control character"
	case kind != TargetFS && len(key) > 1024:
		return fmt.Sprintf("%d bytes long; S3 keys hold at most 1024", len(key))
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "." || seg == "..":
			return fmt.Sprintf("has a %q path segment", seg)
		case kind.pathLike() && seg == "":
			return emptySegment(key)
		case kind.pathLike() && len(seg) > 255:
			return fmt.Sprintf("has a %d-byte path segment; the limit is 255", len(seg))
		}
	}
	return ""
}

func emptySegment(key string) string {
	switch {
	case strings.HasPrefix(key, "/"):
		return "starts with /"
	case strings.HasSuffix(key, "/"):
		return "ends with / (a directory marker)"
	}
	return `has an empty path segment ("//")`
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// KeyValidator checks the keys of one sorted listing for a target kind,
// including file/dir conflicts ("a" and "a/b") on path-like targets, with
// memory proportional to the key depth.
type KeyValidator struct {
	Kind TargetKind
	// Prefix is the target's root prefix ("backup/"); it counts towards the
	// 1,024-byte S3 key limit.
	Prefix string
	// files are earlier storable keys that later keys may use as a directory;
	// each is a prefix of the next.
	files []string
}

// NewKeyValidator returns a validator for a target kind.
func NewKeyValidator(kind TargetKind) *KeyValidator { return &KeyValidator{Kind: kind} }

// Check validates the next key of a listing sorted in byte order; it
// returns nil or an *UnsafeKeyError. A key that conflicts with an earlier
// file key is reported (the earlier one is stored).
func (v *KeyValidator) Check(key string) error {
	if r := KeyProblem(v.Kind, key); r != "" {
		return &UnsafeKeyError{Key: key, Kind: v.Kind, Reason: r}
	}
	if n := len(v.Prefix) + len(key); v.Kind != TargetFS && n > 1024 {
		return &UnsafeKeyError{Key: key, Kind: v.Kind,
			Reason: fmt.Sprintf("%d bytes long with the target prefix %q; S3 keys hold at most 1024", n, v.Prefix)}
	}
	if !v.Kind.pathLike() {
		return nil
	}
	for len(v.files) > 0 && !strings.HasPrefix(key, v.files[len(v.files)-1]) {
		v.files = v.files[:len(v.files)-1]
	}
	for _, f := range v.files {
		if strings.HasPrefix(key, f+"/") {
			return &UnsafeKeyError{Key: key, Kind: v.Kind,
				Reason: fmt.Sprintf("%s is also an object, and a path cannot be both a file and a directory", strconv.Quote(f))}
		}
	}
	v.files = append(v.files, key)
	return nil
}

// Normalise returns the key a path-like target turns key into ("a//b" ->
// "a/b", "x/./y" -> "x/y", "a/../b" -> "b"). The engine's --delete must
// never remove a target key that a source key normalises to.
func Normalise(key string) string {
	var out []string
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	return strings.Join(out, "/")
}
