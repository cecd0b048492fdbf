package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Location kinds.
const (
	LocalKind = "local"
	S3Kind    = "s3"
)

// Location is one side of an object job: a local directory or an S3 prefix.
type Location struct {
	Raw    string // as written
	Kind   string // "local" or "s3"
	Path   string // local: absolute, cleaned
	Bucket string // s3
	Prefix string // s3: without leading "/", a trailing "/" removed
	S3     *S3    // s3: connection settings; nil = the standard AWS chain
}

// String is the location as evac prints it.
func (l Location) String() string {
	if l.Kind == S3Kind {
		if l.Prefix == "" {
			return "s3://" + l.Bucket
		}
		return "s3://" + l.Bucket + "/" + l.Prefix
	}
	return l.Path
}

// ParseLocation reads "/path", "file:///path", "relative/path" (resolved
// against base) or "s3://bucket/prefix". A trailing slash never matters:
// "s3://b/docs" and "s3://b/docs/" name the same prefix.
func ParseLocation(raw, base string) (Location, error) {
	l := Location{Raw: raw}
	switch {
	case raw == "":
		return l, fmt.Errorf("missing")
	case strings.HasPrefix(raw, "s3://"):
		rest := strings.TrimPrefix(raw, "s3://")
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return l, fmt.Errorf("%q has no bucket: write s3://BUCKET/PREFIX", raw)
		}
		if strings.ContainsAny(bucket, "@:") {
			// Never echo it: the part before '@' is most likely a key pair.
			return l, fmt.Errorf("an s3:// address must not carry credentials (user:secret@bucket): write s3://BUCKET/PREFIX and give keys with a profile (--source-profile/--target-profile), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the config file")
		}
		l.Kind, l.Bucket, l.Prefix = S3Kind, bucket, strings.TrimSuffix(prefix, "/")
		return l, nil
	case strings.Contains(raw, "://") && !strings.HasPrefix(raw, "file://"):
		scheme, _, _ := strings.Cut(raw, "://")
		return l, fmt.Errorf("unsupported scheme %q in %q: use s3://bucket/prefix, file:///path or a plain path", scheme, raw)
	}
	p := strings.TrimPrefix(raw, "file://")
	if p == "" {
		return l, fmt.Errorf("%q has no path: write file:///absolute/path", raw)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
	}
	l.Kind, l.Path = LocalKind, filepath.Clean(p)
	return l, nil
}

// overlaps reports whether writing to dst could touch src (same place, or
// one inside the other) when both are on the same service.
func overlaps(src, dst Location) bool {
	if src.Kind != dst.Kind {
		return false
	}
	if src.Kind == LocalKind {
		return within(src.Path, dst.Path, string(filepath.Separator)) ||
			within(dst.Path, src.Path, string(filepath.Separator))
	}
	if src.Bucket != dst.Bucket || src.S3 != dst.S3 {
		return false
	}
	return within(src.Prefix, dst.Prefix, "/") || within(dst.Prefix, src.Prefix, "/")
}

// within reports whether child equals parent or lies under it.
func within(parent, child, sep string) bool {
	if parent == "" || parent == child {
		return true
	}
	return strings.HasPrefix(child, strings.TrimSuffix(parent, sep)+sep)
}
