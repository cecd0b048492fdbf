package sync

import (
	"errors"
	"iter"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func seqOf(n int, failAt int) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		for i := range n {
			if i == failAt {
				yield(Object{}, errors.New("listing failed"))
				return
			}
			if !yield(Object{Key: strconv.Itoa(i)}, nil) {
				return
			}
		}
	}
}

// prefetch yields the same sequence (entries, then a listing error) and
// leaves no goroutine behind when the consumer stops early.
func TestPrefetch(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, c := range []struct {
		name                   string
		n, failAt, stop, ahead int
		wantKeys               int
		wantErr                bool
	}{
		{"all", 2500, -1, -1, 1000, 2500, false},
		{"error after 10", 50, 10, -1, 4, 10, true},
		{"consumer stops", 5000, -1, 7, 1000, 7, false},
		{"empty", 0, -1, -1, 1, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			keys, gotErr := 0, false
			for o, err := range Prefetch(seqOf(c.n, c.failAt), c.ahead) {
				if err != nil {
					gotErr = true
					continue
				}
				if o.Key != strconv.Itoa(keys) {
					t.Fatalf("entry %d has key %q: order lost", keys, o.Key)
				}
				keys++
				if keys == c.stop {
					break
				}
			}
			if keys != c.wantKeys || gotErr != c.wantErr {
				t.Fatalf("got %d keys, error %v; want %d, %v", keys, gotErr, c.wantKeys, c.wantErr)
			}
		})
	}
}
