package sync

import (
	"errors"
	"fmt"
	"iter"
	"runtime"
	"strings"
	"testing"
)

func objs(keys ...string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		for _, k := range keys {
			if !yield(Object{Key: k, Size: int64(len(k))}, nil) {
				return
			}
		}
	}
}

func jrecs(keys ...string) iter.Seq2[JournalRecord, error] {
	return func(yield func(JournalRecord, error) bool) {
		for _, k := range keys {
			if !yield(JournalRecord{Key: k}, nil) {
				return
			}
		}
	}
}

func render(t *testing.T, in DiffInput) (string, error) {
	t.Helper()
	var b strings.Builder
	for it, err := range Diff(in) {
		if err != nil {
			return strings.TrimSpace(b.String()), err
		}
		flag := func(ok bool, c string) string {
			if ok {
				return c
			}
			return "-"
		}
		fmt.Fprintf(&b, "%s:%s%s%s ", it.Key, flag(it.Src != nil, "S"), flag(it.Dst != nil, "D"), flag(it.J != nil, "J"))
	}
	return strings.TrimSpace(b.String()), nil
}

func TestDiffMergeJoin(t *testing.T) {
	tests := []struct {
		name string
		in   DiffInput
		want string
	}{
		{"empty", DiffInput{}, ""},
		{"byte order", DiffInput{
			Source:  objs("a-b", "a/b", "c"),
			Target:  objs("a/b", "b", "c"),
			Journal: jrecs("a/b", "c", "d"),
		}, "a-b:S-- a/b:SDJ b:-D- c:SDJ d:--J"},
		{"filter", DiffInput{
			Source: objs("a", "x/1", "z"),
			Target: objs(".evac/j", "a", "x/2"),
			Keep:   func(k string) bool { return !strings.HasPrefix(k, ".evac/") && !strings.HasPrefix(k, "x/") },
		}, "a:SD- z:S--"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(t, tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestDiffErrors(t *testing.T) {
	boom := errors.New("boom")
	failing := func(yield func(Object, error) bool) {
		if yield(Object{Key: "a"}, nil) {
			yield(Object{}, boom)
		}
	}
	got, err := render(t, DiffInput{Source: objs("a", "b", "c"), Target: failing})
	var le *ListingError
	if !errors.As(err, &le) || le.Side != "target" || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want target listing error", err)
	}
	if got != "a:SD-" {
		t.Fatalf("items before error = %q, want only the key before the failure point", got)
	}
	_, err = render(t, DiffInput{Source: objs("a/b", "a-b")})
	if err == nil || !strings.Contains(err.Error(), `key "a-b" listed after "a/b": listing not in byte order`) {
		t.Fatalf("err = %v, want order error", err)
	}
}

func synthSorted(n, every int) iter.Seq2[Object, error] {
	// keys "k%010d", sorted by construction; built without fmt so the test
	// stays quick under the race detector
	return func(yield func(Object, error) bool) {
		var b [11]byte
		b[0] = 'k'
		for i := 0; i < n; i++ {
			if every > 1 && i%every == 0 {
				continue
			}
			v := i
			for j := 10; j >= 1; j-- {
				b[j] = byte('0' + v%10)
				v /= 10
			}
			if !yield(Object{Key: string(b[:]), Size: int64(i), Identity: "x"}, nil) {
				return
			}
		}
	}
}

// peakHeapDiff runs a diff of n synthetic keys and samples the live heap.
func peakHeapDiff(t *testing.T, n int) (peak uint64, items int) {
	t.Helper()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var ms runtime.MemStats
	for it, err := range Diff(DiffInput{Source: synthSorted(n, 0), Target: synthSorted(n, 7)}) {
		if err != nil {
			t.Fatal(err)
		}
		_ = Decide(it.Src, it.Dst, it.J, DecideOptions{})
		items++
		if items%50000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base.HeapAlloc && ms.HeapAlloc-base.HeapAlloc > peak {
				peak = ms.HeapAlloc - base.HeapAlloc
			}
		}
	}
	return peak, items
}

func TestDiffFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	small, ns := peakHeapDiff(t, 100_000)
	big, nb := peakHeapDiff(t, 1_000_000)
	if ns != 100_000 || nb != 1_000_000 {
		t.Fatalf("items = %d, %d", ns, nb)
	}
	t.Logf("live heap growth: 100k keys %d B, 1M keys %d B", small, big)
	// Flat: 10x the keys may not cost more than 1 MiB over the 100k run.
	if big > small+1<<20 {
		t.Fatalf("diff heap grows with key count: 100k=%d B, 1M=%d B", small, big)
	}
}
