package sync

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TopEntry is one entry directly under a store's root: an object (Name is
// its key, Obj is filled) or a top-level prefix (Name ends in "/").
type TopEntry struct {
	Name string
	Obj  Object
}

// TopLister is implemented by stores that can list the entries directly
// under their root (S3: a ListObjectsV2 with Delimiter "/"), in byte order
// of Name, a prefix sorting as "name/". ListShard then lists only the
// prefixes a shard keeps.
type TopLister interface {
	ListTop(ctx context.Context) iter.Seq2[TopEntry, error]
}

// ShardLister is implemented by stores that list a share of their keys
// directly (the filesystem walker skips the top-level entries it drops).
type ShardLister interface {
	ListShard(ctx context.Context, keep func(top string) bool) iter.Seq2[Object, error]
}

// ListShard yields, in byte order, every key of st whose top-level entry
// keep accepts. keep gets a root-level key ("a-b") or a top-level prefix
// ("a/"), so Shard.Owns fits: only the first path segment decides. Stores
// with ShardLister or TopLister list only the kept prefixes; others list
// everything and filter (the same key set either way).
func ListShard(ctx context.Context, st Store, keep func(top string) bool) iter.Seq2[Object, error] {
	if sl, ok := st.(ShardLister); ok {
		return sl.ListShard(ctx, keep)
	}
	if tl, ok := st.(TopLister); ok {
		return listByTop(ctx, st, tl, keep)
	}
	return func(yield func(Object, error) bool) {
		for o, err := range st.List(ctx, "") {
			if err == nil && !keep(o.Key) {
				continue
			}
			if !yield(o, err) || err != nil {
				return
			}
		}
	}
}

// listByTop walks the top-level entries in byte order and concatenates the
// listings of the kept prefixes: distinct top-level prefixes sort as whole
// blocks, and root-level objects sort between them by name ("a-b" < "a/"
// < "a0"), so the result is in byte order. Memory: one page of top-level
// entries plus one page of the prefix being listed.
func listByTop(ctx context.Context, st Store, tl TopLister, keep func(string) bool) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		for e, err := range tl.ListTop(ctx) {
			if err != nil {
				yield(Object{}, err)
				return
			}
			if !keep(e.Name) {
				continue
			}
			if !strings.HasSuffix(e.Name, "/") {
				if !yield(e.Obj, nil) {
					return
				}
				continue
			}
			for o, err := range st.List(ctx, e.Name) {
				if !yield(o, err) || err != nil {
					return
				}
			}
		}
	}
}

// ListShard lists the kept top-level entries only; the walker never opens
// the directories of other shards.
func (s *FSStore) ListShard(ctx context.Context, keep func(top string) bool) iter.Seq2[Object, error] {
	return s.list(ctx, "", keep)
}

// ListTop streams ListObjectsV2 pages with Delimiter "/" at the store root
// and merges each page's objects and common prefixes in byte order.
func (s *S3Store) ListTop(ctx context.Context) iter.Seq2[TopEntry, error] {
	return func(yield func(TopEntry, error) bool) {
		in := &s3.ListObjectsV2Input{
			Bucket: aws.String(s.bucket), Prefix: aws.String(s.root), Delimiter: aws.String("/"),
			EncodingType: types.EncodingTypeUrl, MaxKeys: s.maxKeys(),
		}
		last := ""
		for {
			out, err := s.cli.ListObjectsV2(ctx, in)
			if err != nil {
				yield(TopEntry{}, s.wrap("list", "", err))
				return
			}
			page, err := s.topPage(out)
			for _, e := range page {
				if err == nil && last != "" && e.Name <= last {
					err = fmt.Errorf("list %s: server returned %q after %q, not in byte order; evac cannot diff this listing", s, e.Name, last)
				}
				if err != nil {
					break
				}
				last = e.Name
				if !yield(e, nil) {
					return
				}
			}
			if err != nil {
				yield(TopEntry{}, err)
				return
			}
			if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
				return
			}
			in.ContinuationToken = out.NextContinuationToken
		}
	}
}

// topPage merges one page's objects and common prefixes by name.
func (s *S3Store) topPage(out *s3.ListObjectsV2Output) ([]TopEntry, error) {
	var objs, dirs []TopEntry
	for _, o := range out.Contents {
		obj, err := s.listed(o, out.EncodingType)
		if err != nil {
			return nil, err
		}
		objs = append(objs, TopEntry{Name: obj.Key, Obj: obj})
	}
	for _, p := range out.CommonPrefixes {
		name := aws.ToString(p.Prefix)
		if out.EncodingType == types.EncodingTypeUrl {
			n, err := url.QueryUnescape(name)
			if err != nil {
				return nil, fmt.Errorf("list %s: undecodable prefix %q: %w", s, name, err)
			}
			name = n
		}
		rel, ok := strings.CutPrefix(name, s.root)
		if !ok || rel == "" || !strings.HasSuffix(rel, "/") {
			return nil, fmt.Errorf("list %s: server returned prefix %q outside the root", s, name)
		}
		dirs = append(dirs, TopEntry{Name: rel})
	}
	merged := make([]TopEntry, 0, len(objs)+len(dirs))
	i, j := 0, 0
	for i < len(objs) || j < len(dirs) {
		if j == len(dirs) || (i < len(objs) && objs[i].Name < dirs[j].Name) {
			merged, i = append(merged, objs[i]), i+1
		} else {
			merged, j = append(merged, dirs[j]), j+1
		}
	}
	return merged, nil
}
