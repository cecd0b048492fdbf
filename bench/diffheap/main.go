// Command diffheap measures the sync diff over N synthetic keys (default
// 10 million): wall time and peak live heap, sampled every 100k keys after a
// GC. Source and target are generated on the fly (every 7th key missing on
// the target), so the number measured is the diff's own memory.
//
//	go run ./bench/diffheap -n 10000000
package main

import (
	"flag"
	"fmt"
	"iter"
	"os"
	"runtime"
	"time"

	objsync "github.com/evac-dev/evac/sync"
)

func keys(n, skipEvery int) iter.Seq2[objsync.Object, error] {
	return func(yield func(objsync.Object, error) bool) {
		for i := range n {
			if skipEvery > 1 && i%skipEvery == 0 {
				continue
			}
			o := objsync.Object{Key: fmt.Sprintf("tenant-%03d/2024/doc-%010d.pdf", i/(n/100+1), i), Size: int64(i % 100000), Identity: "id"}
			if !yield(o, nil) {
				return
			}
		}
	}
}

func main() {
	n := flag.Int("n", 10_000_000, "keys on the source")
	flag.Parse()
	runtime.GC()
	var base, ms runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	start := time.Now()
	counts := map[objsync.Action]int{}
	i := 0
	for it, err := range objsync.Diff(objsync.DiffInput{Source: keys(*n, 0), Target: keys(*n, 7)}) {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		counts[objsync.Decide(it.Src, it.Dst, it.J, objsync.DecideOptions{}).Action]++
		if i++; i%100_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	d := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	fmt.Printf("keys=%d duration_s=%.2f keys_per_s=%.0f peak_heap_bytes=%d base_heap_bytes=%d copy=%d adopt=%d\n",
		i, d.Seconds(), float64(i)/d.Seconds(), peak, base.HeapAlloc, counts[objsync.ActCopy], counts[objsync.ActAdopt])
}
