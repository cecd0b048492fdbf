package verify

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"

	objsync "github.com/evac-dev/evac/sync"
)

func listing(keys []string, fail error) iter.Seq2[objsync.Object, error] {
	return func(yield func(objsync.Object, error) bool) {
		for _, k := range keys {
			if !yield(objsync.Object{Key: k, Size: int64(len(k))}, nil) {
				return
			}
		}
		if fail != nil {
			yield(objsync.Object{}, fail)
		}
	}
}

func TestMergeListings(t *testing.T) {
	cases := []struct {
		name     string
		src, dst []string
		want     string
	}{
		{"equal", []string{"a", "b"}, []string{"a", "b"}, "[a=a b=b]"},
		{"missing and extra", []string{"a", "c"}, []string{"b", "c"}, "[a=- -=b c=c]"},
		{"byte order a-b before a/b", []string{"a-b", "a/b"}, []string{"a/b"}, "[a-b=- a/b=a/b]"},
		{"journal excluded", []string{".evac/j", "x"}, []string{"x"}, "[x=x]"},
		{"empty source", nil, []string{"z"}, "[-=z]"},
	}
	for _, c := range cases {
		var got []string
		err := mergeListings(context.Background(), objsync.Prefetch(listing(c.src, nil), 8), listing(c.dst, nil), func(s, t *objsync.Object) {
			name := func(o *objsync.Object) string {
				if o == nil {
					return "-"
				}
				return o.Key
			}
			got = append(got, name(s)+"="+name(t))
		})
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("%s: got %v (%v), want %s", c.name, got, err, c.want)
		}
	}
	boom := errors.New("boom")
	err := mergeListings(context.Background(), listing([]string{"a"}, nil), objsync.Prefetch(listing([]string{"a"}, boom), 8), func(s, t *objsync.Object) {})
	if !errors.Is(err, boom) || err.Error() != "list target: boom" {
		t.Fatalf("listing error: %v", err)
	}
}

func TestSinglePartETag(t *testing.T) {
	for e, want := range map[string]bool{
		"9e107d9d372bb6826bd81d3542a419d6":   true,
		"9e107d9d372bb6826bd81d3542a419d6-3": false,
		"":                                   false,
		"abc":                                false,
	} {
		if singlePartETag(e) != want {
			t.Errorf("%q: want %v", e, want)
		}
	}
}
