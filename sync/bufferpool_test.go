package sync

import (
	"context"
	"testing"
	"time"
)

// Buffers for more than half a part are part-sized and reused; smaller ones
// cost (and allocate) only their size, so many small bodies fit the budget.
func TestBufferPoolSizes(t *testing.T) {
	const part = 64 << 20
	p := NewBufferPool(128<<20, part)
	ctx := context.Background()
	for _, c := range []struct {
		n, wantCap int64
	}{{100 << 10, 100 << 10}, {part / 2, part / 2}, {part/2 + 1, part}, {part, part}, {2 * part, 2 * part}} {
		b, err := p.Get(ctx, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != c.n || int64(cap(b)) != c.wantCap {
			t.Errorf("Get(%d): len %d cap %d, want cap %d", c.n, len(b), cap(b), c.wantCap)
		}
		p.Put(b)
	}
	// 100 bodies of 1 MiB fit a 128 MiB budget at once.
	var held [][]byte
	for range 100 {
		b, err := p.Get(ctx, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, b)
	}
	for _, b := range held {
		p.Put(b)
	}
	// Two part-sized buffers spend the budget: a third waits until one returns.
	a, _ := p.Get(ctx, part)
	b, _ := p.Get(ctx, part-1)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := p.Get(short, 40<<20); err == nil {
		t.Fatal("Get beyond the budget did not wait")
	}
	p.Put(a)
	if c, err := p.Get(ctx, 40<<20); err != nil || cap(c) != part {
		t.Fatalf("Get after Put: cap %d, err %v", cap(c), err)
	}
	p.Put(b)
}
