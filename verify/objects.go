package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/evac-dev/evac/internal/redact"
	"io"
	"iter"
	"log/slog"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"golang.org/x/sync/errgroup"

	objsync "github.com/evac-dev/evac/sync"
)

// ObjectOptions configure an object verification.
type ObjectOptions struct {
	Prefix string // compare only keys under this prefix ("" = all)
	// Keep, when set, selects the keys compared (e.g. a sync Filter's Match
	// for include/exclude patterns); keys it rejects are skipped on both sides.
	Keep    func(key string) bool
	Deep    bool // re-read both sides and hash the bytes
	Workers int  // concurrent HEAD/GET pairs (default 32)
	MaxList int  // differing keys listed (the counts stay exact; default 10000)
	// AllowSizeOnly accepts objects whose content could be compared by size
	// only (no stored checksum on either side, no --deep) as a match. Off by
	// default: a size match proves nothing about the bytes, so such a run is
	// "unverified" and its verdict FAIL.
	AllowSizeOnly bool
}

// Object-check statuses beyond match/differ.
const (
	// StatusUnverified: nothing differs, but some objects could be compared
	// by size only; rerun with --deep (or --allow-size-only to accept).
	StatusUnverified = "unverified"
	// StatusEmptySource: the source listing was empty, which is far more
	// often a wrong path or prefix than an empty dataset.
	StatusEmptySource = "empty_source"
)

// Object difference kinds.
const (
	ObjMissing  = "missing_on_target"
	ObjExtra    = "extra_on_target"
	ObjSize     = "size_different"
	ObjChecksum = "checksum_different"
	ObjContent  = "content_different"
	ObjError    = "read_error"
)

// ObjectsResult is the verdict for one prefix.
type ObjectsResult struct {
	Source        string       `json:"source"`
	Target        string       `json:"target"`
	Prefix        string       `json:"prefix"`
	Status        string       `json:"status"`
	Deep          bool         `json:"deep"`
	SourceObjects int64        `json:"source_objects"`
	TargetObjects int64        `json:"target_objects"`
	SourceBytes   int64        `json:"source_bytes"`
	Matched       int64        `json:"matched"`
	ByETag        int64        `json:"checked_by_etag_md5"`
	ByChecksum    int64        `json:"checked_by_stored_checksum"`
	ByContent     int64        `json:"checked_by_content"`
	SizeOnly      int64        `json:"checked_by_size_only"`
	SizeOnlyKeys  []string     `json:"size_only_keys"`
	Differing     int64        `json:"differing"`
	Diffs         []ObjectDiff `json:"diffs"`
	Truncated     bool         `json:"diffs_truncated"`
	Prefixes      []PrefixStat `json:"prefixes"`
	DurationS     float64      `json:"duration_s"`

	pendingBytes int64     // bytes of source objects missing or of another size on the target
	oldest       time.Time // oldest source change among them
}

// Pending returns the objects not yet copied (missing or of another size
// on the target, plus content differences) for the RPO figures.
func (r ObjectsResult) Pending(now time.Time) *PendingObjects {
	p := &PendingObjects{Bytes: r.pendingBytes}
	for _, d := range r.Diffs {
		if d.Kind != ObjExtra {
			p.Count++
		}
	}
	if !r.oldest.IsZero() {
		p.OldestChangeAgeS = now.Sub(r.oldest).Seconds()
	}
	return p
}

// PrefixStat is the result under one top-level prefix ("docs/"; "" for
// keys at the root). Past maxPrefixes, the rest count under "*".
type PrefixStat struct {
	Prefix        string `json:"prefix"`
	SourceObjects int64  `json:"source_objects"`
	Differing     int64  `json:"differing"`
}

const maxPrefixes = 1000

// ObjectDiff names one differing object.
type ObjectDiff struct {
	Key            string `json:"key"`
	Kind           string `json:"kind"`
	SourceSize     int64  `json:"source_size,omitempty"`
	TargetSize     int64  `json:"target_size,omitempty"`
	SourceChecksum string `json:"source_checksum,omitempty"`
	TargetChecksum string `json:"target_checksum,omitempty"`
	Detail         string `json:"detail,omitempty"`
}

// listAhead bounds how far each listing runs ahead of the merge.
const listAhead = 4096

// excluded keys are evac's own (the sync journal mirror).
func excluded(key string) bool { return strings.HasPrefix(key, ".evac/") }

// Objects compares two stores: a merge-join of their sorted listings, then
// per common key the stored full-object checksums (Stat = HEAD with checksum
// mode: no GetObject) or, with Deep, a SHA-256 of both sides' bytes.
// Multipart ETags are never compared.
func Objects(ctx context.Context, src, dst objsync.Store, opt ObjectOptions, log *slog.Logger) (ObjectsResult, error) {
	if opt.Workers <= 0 {
		opt.Workers = 64
	}
	if opt.MaxList <= 0 {
		opt.MaxList = 10000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &objCompare{opt: opt, src: src, dst: dst, res: ObjectsResult{
		Source: src.String(), Target: dst.String(), Prefix: opt.Prefix, Deep: opt.Deep,
		SizeOnlyKeys: []string{}, Diffs: []ObjectDiff{},
	}}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opt.Workers)
	lctx, stop := context.WithCancel(gctx)
	defer stop()
	err := mergeListings(lctx, objsync.Prefetch(src.List(lctx, opt.Prefix), listAhead), objsync.Prefetch(dst.List(lctx, opt.Prefix), listAhead), func(s, t *objsync.Object) {
		if k := keyOf(s, t); opt.Keep == nil || opt.Keep(k) {
			c.pair(gctx, g, s, t)
		}
	})
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return c.res, err
	}
	c.res.Prefixes = []PrefixStat{}
	for _, p := range c.prefixes {
		c.res.Prefixes = append(c.res.Prefixes, *p)
	}
	sort.Slice(c.res.Prefixes, func(i, j int) bool { return c.res.Prefixes[i].Prefix < c.res.Prefixes[j].Prefix })
	sort.Strings(c.res.SizeOnlyKeys)
	sort.Slice(c.res.Diffs, func(i, j int) bool { return c.res.Diffs[i].Key < c.res.Diffs[j].Key })
	c.res.Status = objectsStatus(c.res, opt)
	return c.res, nil
}

// objectsStatus is the verdict of one comparison: differences first, then
// an empty source, then objects compared by size only.
func objectsStatus(r ObjectsResult, opt ObjectOptions) string {
	switch {
	case r.Differing > 0:
		return StatusDiffer
	case r.SourceObjects == 0:
		return StatusEmptySource
	case r.SizeOnly > 0 && !opt.AllowSizeOnly:
		return StatusUnverified
	}
	return StatusMatch
}

type objCompare struct {
	opt      ObjectOptions
	src, dst objsync.Store
	mu       gosync.Mutex
	res      ObjectsResult
	prefixes map[string]*PrefixStat
}

// prefix returns the stats bucket of key; the caller holds mu.
func (c *objCompare) prefix(key string) *PrefixStat {
	p := ""
	if i := strings.IndexByte(key, '/'); i >= 0 {
		p = key[:i+1]
	}
	if c.prefixes == nil {
		c.prefixes = map[string]*PrefixStat{}
	}
	if st, ok := c.prefixes[p]; ok {
		return st
	}
	if len(c.prefixes) >= maxPrefixes {
		p = "*"
		if st, ok := c.prefixes[p]; ok {
			return st
		}
	}
	st := &PrefixStat{Prefix: p}
	c.prefixes[p] = st
	return st
}

// pair handles one key present on one or both sides.
func (c *objCompare) pair(ctx context.Context, g *errgroup.Group, s, t *objsync.Object) {
	c.mu.Lock()
	if s != nil {
		c.res.SourceObjects++
		c.res.SourceBytes += s.Size
		c.prefix(s.Key).SourceObjects++
	}
	if t != nil {
		c.res.TargetObjects++
	}
	same := s != nil && t != nil && s.Size == t.Size
	byETag := same && !c.opt.Deep && singlePartETag(s.ETag) && s.ETag == t.ETag
	if byETag {
		c.res.ByETag++
		c.res.Matched++
		same = false
	}
	if s != nil && (t == nil || s.Size != t.Size) {
		c.res.pendingBytes += s.Size
		if c.res.oldest.IsZero() || (!s.ModTime.IsZero() && s.ModTime.Before(c.res.oldest)) {
			c.res.oldest = s.ModTime
		}
	}
	switch {
	case t == nil:
		c.diff(ObjectDiff{Key: s.Key, Kind: ObjMissing, SourceSize: s.Size})
	case s == nil:
		c.diff(ObjectDiff{Key: t.Key, Kind: ObjExtra, TargetSize: t.Size})
	case s.Size != t.Size:
		c.diff(ObjectDiff{Key: s.Key, Kind: ObjSize, SourceSize: s.Size, TargetSize: t.Size})
	}
	c.mu.Unlock()
	if same {
		key := s.Key
		g.Go(func() error { return c.content(ctx, key) }) // may block: never under mu
	}
}

// diff records a difference; the caller holds mu.
func (c *objCompare) diff(d ObjectDiff) {
	c.res.Differing++
	c.prefix(d.Key).Differing++
	if len(c.res.Diffs) < c.opt.MaxList {
		c.res.Diffs = append(c.res.Diffs, d)
	} else {
		c.res.Truncated = true
	}
}

func keyOf(s, t *objsync.Object) string {
	if s != nil {
		return s.Key
	}
	return t.Key
}

// singlePartETag reports whether an ETag can be the MD5 of the content: a
// multipart ETag ("…-N") is a hash of part hashes and is never compared.
func singlePartETag(e string) bool {
	return len(e) == 32 && !strings.Contains(e, "-")
}

// content compares one key present on both sides with equal sizes.
func (c *objCompare) content(ctx context.Context, key string) error {
	if c.opt.Deep {
		return c.deep(ctx, key)
	}
	so, err := c.src.Stat(ctx, key)
	if err != nil {
		return fmt.Errorf("stat source %s: %w", key, err)
	}
	to, err := c.dst.Stat(ctx, key)
	if err != nil {
		return fmt.Errorf("stat target %s: %w", key, err)
	}
	if so.Checksum == "" && to.Checksum != "" {
		// A local source has no stored checksum, but reading it is cheap
		// (no transfer): hash it with the target's algorithm, so the bytes
		// are compared without a single GET on the target.
		if sum, ok, err := localChecksum(ctx, c.src, key, to.Checksum); err != nil {
			return fmt.Errorf("read source %s: %w", key, err)
		} else if ok {
			so.Checksum = sum
		}
	}
	comparable := so.Checksum != "" && algo(so.Checksum) == algo(to.Checksum)
	if comparable && so.Checksum != to.Checksum {
		c.record(ObjectDiff{Key: key, Kind: ObjChecksum, SourceSize: so.Size, TargetSize: to.Size, SourceChecksum: so.Checksum, TargetChecksum: to.Checksum}, "")
		return nil
	}
	how := "checksum"
	if !comparable {
		how = "size"
	}
	c.record(ObjectDiff{}, how)
	c.mu.Lock()
	if !comparable && len(c.res.SizeOnlyKeys) < c.opt.MaxList {
		c.res.SizeOnlyKeys = append(c.res.SizeOnlyKeys, key)
	}
	c.mu.Unlock()
	return nil
}

// localChecksum hashes a filesystem source object with the algorithm of
// the target's stored checksum ("CRC64NVME:…"); ok is false when the source
// is not local or the algorithm is unknown.
func localChecksum(ctx context.Context, src objsync.Store, key, targetSum string) (string, bool, error) {
	if _, local := src.(*objsync.FSStore); !local {
		return "", false, nil
	}
	alg, _, ok := objsync.SplitChecksum(targetSum)
	if !ok {
		return "", false, nil
	}
	r, err := src.Open(ctx, key, objsync.OpenOptions{Length: -1})
	if err != nil {
		return "", false, err
	}
	defer r.Close()
	h := objsync.NewHashingReader(r, alg)
	if _, err := io.Copy(io.Discard, h); err != nil {
		return "", false, err
	}
	return h.Checksum(), true, nil
}

// deep hashes both sides' bytes.
func (c *objCompare) deep(ctx context.Context, key string) error {
	var hs, ht string
	var g errgroup.Group
	var es, et error
	g.Go(func() error { hs, es = hashObject(ctx, c.src, key); return nil })
	g.Go(func() error { ht, et = hashObject(ctx, c.dst, key); return nil })
	_ = g.Wait()
	switch {
	case es != nil:
		return fmt.Errorf("read source %s: %w", key, es)
	case et != nil:
		c.record(ObjectDiff{Key: key, Kind: ObjError, Detail: "target read failed: " + redact.String(et.Error())}, "")
	case hs != ht:
		c.record(ObjectDiff{Key: key, Kind: ObjContent, SourceChecksum: "SHA256:" + hs, TargetChecksum: "SHA256:" + ht}, "")
	default:
		c.record(ObjectDiff{}, "content")
	}
	return nil
}

func (c *objCompare) record(d ObjectDiff, how string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch how {
	case "":
		c.diff(d)
		return
	case "checksum":
		c.res.ByChecksum++
	case "size":
		c.res.SizeOnly++
	case "content":
		c.res.ByContent++
	}
	c.res.Matched++
}

func algo(cs string) string {
	a, _, _ := strings.Cut(cs, ":")
	return a
}

func hashObject(ctx context.Context, st objsync.Store, key string) (string, error) {
	r, err := st.Open(ctx, key, objsync.OpenOptions{Length: -1})
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// mergeListings walks two sorted listings together and calls f with the
// source and target entry of each key (nil when absent on that side).
func mergeListings(ctx context.Context, a, b iter.Seq2[objsync.Object, error], f func(s, t *objsync.Object)) error {
	na, stopA := iter.Pull2(a)
	defer stopA()
	nb, stopB := iter.Pull2(b)
	defer stopB()
	next := func(n func() (objsync.Object, error, bool), side string) (*objsync.Object, error) {
		for {
			o, err, ok := n()
			if !ok {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", side, err)
			}
			if !excluded(o.Key) {
				return &o, nil
			}
		}
	}
	s, err := next(na, "source")
	if err != nil {
		return err
	}
	t, err := next(nb, "target")
	if err != nil {
		return err
	}
	for s != nil || t != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case t == nil || (s != nil && s.Key < t.Key):
			f(s, nil)
			s, err = next(na, "source")
		case s == nil || t.Key < s.Key:
			f(nil, t)
			t, err = next(nb, "target")
		default:
			f(s, t)
			if s, err = next(na, "source"); err == nil {
				t, err = next(nb, "target")
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
