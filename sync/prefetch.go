package sync

import (
	"iter"
	gosync "sync"
)

// listAhead is how many entries a listing may run ahead of the diff. The
// diff pulls both sides in turn; without read-ahead the source walk (disk)
// and the target listing (one round trip per 1,000 keys) take turns
// waiting. With it they overlap, and memory stays bounded by listAhead
// entries per side.
const listAhead = 1000

// Prefetch runs seq in its own goroutine, up to n entries ahead of the
// consumer, so two listings merged by one consumer run at the same time. When the consumer stops early, prefetch waits for the producer
// to notice (at most the entry or page it is fetching), so no goroutine
// outlives the iteration.
func Prefetch(seq iter.Seq2[Object, error], n int) iter.Seq2[Object, error] {
	type item struct {
		o   Object
		err error
	}
	return func(yield func(Object, error) bool) {
		ch := make(chan item, n)
		done := make(chan struct{})
		var wg gosync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ch)
			for o, err := range seq {
				select {
				case ch <- item{o, err}:
				case <-done:
					return
				}
				if err != nil {
					return
				}
			}
		}()
		defer func() {
			close(done)
			wg.Wait()
		}()
		for it := range ch {
			if !yield(it.o, it.err) {
				return
			}
		}
	}
}
