package sync

import (
	"fmt"
	"iter"
)

// DiffItem is one key of the merged listings: Src and Dst are nil when the
// key is absent on that side, J is nil when the journal has no entry.
type DiffItem struct {
	Key string
	Src *Object
	Dst *Object
	J   *JournalEntry
}

// JournalRecord is one journal entry with its key.
type JournalRecord struct {
	Key   string
	Entry JournalEntry
}

// DiffInput are the three sorted streams of a diff.
type DiffInput struct {
	Source  iter.Seq2[Object, error]
	Target  iter.Seq2[Object, error]
	Journal iter.Seq2[JournalRecord, error] // nil: no journal
	// Keep filters keys (include/exclude, shard, the .evac/ folder); nil keeps all.
	Keep func(key string) bool
}

// ListingError says which side's listing failed; a diff stops at the first.
type ListingError struct {
	Side string // "source", "target" or "journal"
	Err  error
}

func (e *ListingError) Error() string { return fmt.Sprintf("%s listing failed: %v", e.Side, e.Err) }
func (e *ListingError) Unwrap() error { return e.Err }

// Diff merge-joins the sorted source listing, target listing and journal
// into one sorted stream of keys. It holds one entry per stream: memory
// does not grow with the number of objects. A listing error, or a listing
// out of byte order, ends the stream with a *ListingError.
func Diff(in DiffInput) iter.Seq2[DiffItem, error] {
	return func(yield func(DiffItem, error) bool) {
		src := newCursor("source", objStream(in.Source), in.Keep)
		defer src.stop()
		dst := newCursor("target", objStream(in.Target), in.Keep)
		defer dst.stop()
		jr := newCursor("journal", in.Journal, in.Keep)
		defer jr.stop()
		for {
			if err := firstErr(src.err, dst.err, jr.err); err != nil {
				yield(DiffItem{}, err)
				return
			}
			key, ok := minKey(src, dst, jr)
			if !ok {
				return
			}
			it := DiffItem{Key: key}
			if src.ok && src.key == key {
				o := src.val.Entry
				it.Src = &o
				src.next()
			}
			if dst.ok && dst.key == key {
				o := dst.val.Entry
				it.Dst = &o
				dst.next()
			}
			if jr.ok && jr.key == key {
				e := jr.val.Entry
				it.J = &e
				jr.next()
			}
			if !yield(it, nil) {
				return
			}
		}
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// objRecord adapts an object stream to the cursor's record shape.
type objRecord struct{ Entry Object }

func objStream(s iter.Seq2[Object, error]) iter.Seq2[objRecord, error] {
	if s == nil {
		return nil
	}
	return func(yield func(objRecord, error) bool) {
		for o, err := range s {
			if !yield(objRecord{o}, err) {
				return
			}
		}
	}
}

func minKey(src, dst *cursor[objRecord], jr *cursor[JournalRecord]) (string, bool) {
	var key string
	found := false
	for _, c := range []struct {
		ok bool
		k  string
	}{{src.ok, src.key}, {dst.ok, dst.key}, {jr.ok, jr.key}} {
		if c.ok && (!found || c.k < key) {
			key, found = c.k, true
		}
	}
	return key, found
}

// cursor is a pull iterator with one entry of look-ahead and an order check.
type cursor[T any] struct {
	side string
	pull func() (T, error, bool)
	stop func()
	keep func(string) bool
	keyf func(T) string
	val  T
	key  string
	ok   bool
	err  error
	seen bool
}

func newCursor[T any](side string, s iter.Seq2[T, error], keep func(string) bool) *cursor[T] {
	c := &cursor[T]{side: side, keep: keep, stop: func() {}}
	c.keyf = func(v T) string {
		switch r := any(v).(type) {
		case objRecord:
			return r.Entry.Key
		case JournalRecord:
			return r.Key
		}
		return ""
	}
	if s != nil {
		c.pull, c.stop = iter.Pull2(s)
		c.next()
	}
	return c
}

func (c *cursor[T]) next() {
	prev := c.key
	for {
		v, err, ok := c.pull()
		if !ok {
			c.ok = false
			return
		}
		if err != nil {
			c.ok, c.err = false, &ListingError{Side: c.side, Err: err}
			return
		}
		k := c.keyf(v)
		if c.seen && k <= prev {
			c.ok = false
			c.err = &ListingError{Side: c.side, Err: fmt.Errorf("key %q listed after %q: listing not in byte order (store bug)", k, prev)}
			return
		}
		c.seen, prev = true, k
		if c.keep != nil && !c.keep(k) {
			continue
		}
		c.val, c.key, c.ok = v, k, true
		return
	}
}
