package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/go-sql-driver/mysql"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want Class
	}{
		{"deadlock", &mysql.MySQLError{Number: 1213}, Retryable},
		{"lock wait", fmt.Errorf("apply: %w", &mysql.MySQLError{Number: 1205}), Retryable},
		{"read only", &mysql.MySQLError{Number: 1290}, Retryable},
		{"access denied", &mysql.MySQLError{Number: 1045}, Fatal},
		{"dup key", &mysql.MySQLError{Number: 1062}, Fatal},
		{"bad conn", mysql.ErrInvalidConn, Retryable},
		{"slowdown", &smithy.GenericAPIError{Code: "SlowDown"}, Retryable},
		{"no bucket", &smithy.GenericAPIError{Code: "NoSuchBucket"}, Fatal},
		{"access denied s3", &smithy.GenericAPIError{Code: "AccessDenied"}, Fatal},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, Retryable},
		{"eof", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), Retryable},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), Canceled},
		{"plain", errors.New("schema mismatch"), Fatal},
		{"permanent overrides", Permanent(&mysql.MySQLError{Number: 1213}), Fatal},
		{"transient overrides", Transient(errors.New("x")), Retryable},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("%s: Classify = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDoRetriesThenSucceeds(t *testing.T) {
	n := 0
	var delays []time.Duration
	p := Policy{Attempts: 5, Base: time.Millisecond, Max: 4 * time.Millisecond,
		OnRetry: func(_ int, d time.Duration, _ error) { delays = append(delays, d) }}
	err := Do(context.Background(), p, func(context.Context) error {
		n++
		if n < 4 {
			return &smithy.GenericAPIError{Code: "SlowDown"}
		}
		return nil
	})
	if err != nil || n != 4 || len(delays) != 3 {
		t.Fatalf("err=%v n=%d delays=%v", err, n, delays)
	}
	for _, d := range delays {
		if d < 0 || d > 4*time.Millisecond {
			t.Fatalf("delay %v out of [0,4ms]", d)
		}
	}
}

func TestDoFatalStopsAtOnce(t *testing.T) {
	n := 0
	want := &mysql.MySQLError{Number: 1045, Message: "Access denied"}
	err := Do(context.Background(), Policy{Base: time.Millisecond}, func(context.Context) error { n++; return want })
	if n != 1 || !errors.Is(err, want) {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestDoExhausted(t *testing.T) {
	err := Do(context.Background(), Policy{Attempts: 3, Base: time.Microsecond}, func(context.Context) error {
		return io.ErrUnexpectedEOF
	})
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err=%v", err)
	}
	if err.Error() != "gave up after 3 attempts: unexpected EOF" {
		t.Fatalf("message %q", err.Error())
	}
}

func TestDoContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Do(ctx, Policy{}, func(context.Context) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err=%v", err)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	p := Policy{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for n := 1; n < 20; n++ {
		ceil := 10 * time.Millisecond << min(n-1, 3)
		for i := 0; i < 50; i++ {
			if d := p.Backoff(n); d < 0 || d > ceil {
				t.Fatalf("Backoff(%d)=%v > %v", n, d, ceil)
			}
		}
	}
}
