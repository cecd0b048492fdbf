// Package retry runs an operation again after transient failures, with
// exponential backoff and full jitter, and classifies errors once for the
// whole program: retryable, fatal or canceled.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy says how often and how long to retry.
type Policy struct {
	Attempts int           // total attempts including the first; <=0 means 8
	Base     time.Duration // first backoff cap; <=0 means 100ms
	Max      time.Duration // largest backoff cap; <=0 means 20s
	// Classify decides whether err is worth another attempt; nil means Classify.
	Classify func(error) Class
	// OnRetry, if set, is called before each sleep (for metrics and logs).
	OnRetry func(attempt int, delay time.Duration, err error)
}

// DefaultPolicy is 8 attempts, 100ms..20s full jitter.
func DefaultPolicy() Policy {
	return Policy{Attempts: 8, Base: 100 * time.Millisecond, Max: 20 * time.Second}
}

func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = 8
	}
	if p.Base <= 0 {
		p.Base = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 20 * time.Second
	}
	if p.Classify == nil {
		p.Classify = Classify
	}
	return p
}

// Backoff returns the full-jitter delay before attempt n (n >= 1 is the first
// retry): a uniform random duration in [0, min(Max, Base*2^(n-1))].
func (p Policy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	ceil := p.Base
	for i := 1; i < n && ceil < p.Max; i++ {
		ceil *= 2
	}
	if ceil > p.Max {
		ceil = p.Max
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// ExhaustedError reports that every attempt failed; it wraps the last error.
type ExhaustedError struct {
	Attempts int
	Err      error
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, e.Err)
}
func (e *ExhaustedError) Unwrap() error { return e.Err }

// Do calls op until it succeeds, returns a non-retryable error, the context
// ends, or the attempts run out. Fatal and canceled errors return at once,
// unwrapped, so callers see the original cause.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	p = p.withDefaults()
	var err error
	for attempt := 1; ; attempt++ {
		if cerr := ctx.Err(); cerr != nil {
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", cerr, err)
			}
			return cerr
		}
		err = op(ctx)
		if err == nil {
			return nil
		}
		if p.Classify(err) != Retryable {
			return err
		}
		if attempt >= p.Attempts {
			return &ExhaustedError{Attempts: attempt, Err: err}
		}
		d := p.Backoff(attempt)
		if p.OnRetry != nil {
			p.OnRetry(attempt, d, err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// IsRetryable is Classify(err) == Retryable.
func IsRetryable(err error) bool { return Classify(err) == Retryable }

// Permanent marks err as fatal whatever its cause.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, class: Fatal}
}

// Transient marks err as retryable whatever its cause.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, class: Retryable}
}

type markedError struct {
	err   error
	class Class
}

func (m *markedError) Error() string { return m.err.Error() }
func (m *markedError) Unwrap() error { return m.err }

var errMarked *markedError

func marked(err error) (Class, bool) {
	if errors.As(err, &errMarked) {
		return errMarked.class, true
	}
	return 0, false
}
