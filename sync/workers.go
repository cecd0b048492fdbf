package sync

import (
	"context"
	"errors"
	"io"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// adaptive is a concurrency gate whose limit halves when the target says
// SlowDown (503) and grows by one after a limit's worth of successes, up
// to max: additive increase, multiplicative decrease.
type adaptive struct {
	mu        stdsync.Mutex
	max       int
	limit     int
	inflight  int
	successes int
	lastCut   time.Time
	wake      chan struct{}
}

func newAdaptive(max int) *adaptive {
	return &adaptive{max: max, limit: max, wake: make(chan struct{})}
}

func (a *adaptive) acquire(ctx context.Context) error {
	for {
		a.mu.Lock()
		if a.inflight < a.limit {
			a.inflight++
			a.mu.Unlock()
			return nil
		}
		ch := a.wake
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release ends one task; throttled says the target pushed back.
func (a *adaptive) release(throttled bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	if throttled {
		// One cut per second at most: a burst of 503s is one signal.
		if time.Since(a.lastCut) > time.Second {
			a.limit = max(1, a.limit/2)
			a.lastCut = time.Now()
		}
		a.successes = 0
	} else if a.limit < a.max {
		a.successes++
		if a.successes >= a.limit {
			a.limit++
			a.successes = 0
		}
	}
	close(a.wake)
	a.wake = make(chan struct{})
}

// Limit is the current concurrency limit.
func (a *adaptive) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit
}

// isThrottle reports a 503 / SlowDown / 429 from S3.
func isThrottle(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests":
			return true
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		s := re.HTTPStatusCode()
		return s == http.StatusServiceUnavailable || s == http.StatusTooManyRequests
	}
	return false
}

// bandwidth is a token bucket shared by every body read (--bwlimit).
type bandwidth struct {
	mu     stdsync.Mutex
	rate   float64 // bytes per second
	tokens float64
	last   time.Time
}

func newBandwidth(bytesPerSec int64) *bandwidth {
	if bytesPerSec <= 0 {
		return nil
	}
	return &bandwidth{rate: float64(bytesPerSec), tokens: float64(bytesPerSec), last: time.Now()}
}

// wait blocks until n bytes may pass.
func (b *bandwidth) wait(ctx context.Context, n int) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	deficit := -b.tokens
	b.mu.Unlock()
	if deficit <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(deficit / b.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// meteredReader applies the bandwidth limit and reports progress.
type meteredReader struct {
	ctx  context.Context
	r    io.Reader
	bw   *bandwidth
	prog Progress
	n    int64
}

func (m *meteredReader) Read(p []byte) (int, error) {
	if m.bw != nil && len(p) > 256<<10 {
		p = p[:256<<10] // keep the bucket's bursts small
	}
	n, err := m.r.Read(p)
	if n > 0 {
		m.n += int64(n)
		m.prog.Add(0, int64(n))
		if werr := m.bw.wait(m.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// rereadBody is the Put body of a source that can be read at any offset
// (a local file): it implements RereadableBody.
type rereadBody struct {
	*meteredReader
	ra io.ReaderAt
}

func (b *rereadBody) ReadAt(p []byte, off int64) (int, error) { return b.ra.ReadAt(p, off) }

// Count meters bytes read with ReadAt for the checksum pass (parts are
// checksummed concurrently: progress and the token bucket are safe for that).
func (b *rereadBody) Count(n int) error {
	if n <= 0 {
		return nil
	}
	b.prog.Add(0, int64(n))
	return b.bw.wait(b.ctx, n)
}
