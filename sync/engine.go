package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// ServerSideCopy selects S3 -> S3 copies inside the server.
type ServerSideCopy string

// ServerSideCopy values (--server-side-copy).
const (
	SSCAuto   ServerSideCopy = "auto"   // when the target can copy from the source; stream on AccessDenied
	SSCAlways ServerSideCopy = "always" // fail instead of streaming
	SSCNever  ServerSideCopy = "never"  // always stream through evac
)

// Config is one sync job. Stores are built by the caller (cmd): the engine
// reads no flags, environment or files besides its journal.
type Config struct {
	Source, Target Store
	// StateDir holds the journal (<StateDir>/<JobID>.db). Required.
	StateDir string
	Workers  int // objects in flight; <=0 means 64
	Mode     Mode
	Force    bool // overwrite objects changed on the target by someone else
	Delete   bool // delete target objects missing on the source
	// MaxDelete refuses all deletes of a pass when more than this many
	// would happen; <= 0 means no limit.
	MaxDelete int
	DryRun    bool
	Include   []string
	Exclude   []string
	Priority  []string // prefixes copied first
	Shard     Shard
	BWLimit   int64 // bytes per second over all transfers; 0 = unlimited
	// TargetKind selects which keys the target can store faithfully; keys
	// it cannot are reported by name and not written. "" means TargetS3.
	TargetKind TargetKind
	// ServerSideCopy applies when the target implements Copier.
	ServerSideCopy ServerSideCopy
	// RacyTick is the timestamp granularity below which a file modified
	// that close to its read is not recorded as done; 0 means 20ms (2s
	// when the file's mtime has no sub-second part).
	RacyTick time.Duration
	// MirrorEvery mirrors the journal to the target under .evac/ this
	// often and at the end of a run that changed it; <0 disables.
	MirrorEvery time.Duration
	// AbortOrphansAfter aborts evac's own multipart uploads (on targets that
	// support it) whose marker is older than this, at the end of a pass that
	// wrote or failed something; <0 disables, 0 means 7 days.
	AbortOrphansAfter time.Duration
	Retry             *RetryHook // counts SDK retries; SlowDown halves concurrency
	// Requests are the S3 clients' request counters (CountRequests), summed
	// into Stats.Requests.
	Requests []*RequestCounts
	Report   io.Writer // NDJSON per object; nil: none
	Logger   *slog.Logger
	Progress Progress
}

// DefaultConfig returns the defaults for every tunable.
func DefaultConfig() Config {
	return Config{Workers: 64, ServerSideCopy: SSCAuto, MirrorEvery: 10 * time.Minute}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Workers <= 0 {
		c.Workers = d.Workers
	}
	if c.ServerSideCopy == "" {
		c.ServerSideCopy = d.ServerSideCopy
	}
	if c.MirrorEvery == 0 {
		c.MirrorEvery = d.MirrorEvery
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = nopProgress{}
	}
	if c.AbortOrphansAfter == 0 {
		c.AbortOrphansAfter = 7 * 24 * time.Hour
	}
	if c.TargetKind == "" {
		c.TargetKind = TargetS3
	}
	if c.Retry == nil {
		c.Retry = &RetryHook{}
	}
	return c
}

// Validate reports the first invalid field, naming the fix.
func (c Config) Validate() error {
	switch {
	case c.Source == nil || c.Target == nil:
		return errors.New("sync: source and target stores are required")
	case c.StateDir == "":
		return errors.New("sync: StateDir is required (where the state journal lives, e.g. ~/.local/state/evac)")
	case c.Workers > 4096:
		return fmt.Errorf("--workers %d is too many: use at most 4096", c.Workers)
	case c.ServerSideCopy != SSCAuto && c.ServerSideCopy != SSCAlways && c.ServerSideCopy != SSCNever:
		return fmt.Errorf("--server-side-copy %q: use auto, always or never", c.ServerSideCopy)
	case c.Shard.Count > 1 && (c.Shard.Index < 0 || c.Shard.Index >= c.Shard.Count):
		return fmt.Errorf("--shard %d/%d: index must be in [0, %d)", c.Shard.Index, c.Shard.Count, c.Shard.Count)
	case c.Mode < ModeJournal || c.Mode > ModeModTime:
		return fmt.Errorf("sync: unknown mode %d", c.Mode)
	}
	for _, p := range c.Priority {
		if p == "" {
			return errors.New("--priority: empty prefix")
		}
	}
	_, err := NewFilter(c.Include, c.Exclude)
	return err
}

// JobID is the journal name of this job: source, target, shard, filters.
func (c Config) JobID() string {
	return JobID(c.Source.String(), c.Target.String(), c.Shard.String(),
		strings.Join(c.Include, "\x00"), strings.Join(c.Exclude, "\x00"))
}

// RetryHook is passed as S3ClientConfig.OnRetry by the caller: it counts
// retries and tells the engine when the target says SlowDown.
type RetryHook struct {
	retries   atomic.Int64
	throttles atomic.Int64
}

// Observe records one retried request.
func (h *RetryHook) Observe(err error) {
	h.retries.Add(1)
	if isThrottle(err) {
		h.throttles.Add(1)
	}
}

// RunError is returned when objects failed; the run itself completed.
type RunError struct {
	Failed int64
	First  []string // the first failures, "key: error"
}

func (e *RunError) Error() string {
	s := fmt.Sprintf("%d object(s) failed", e.Failed)
	if len(e.First) > 0 {
		s += ":\n  " + strings.Join(e.First, "\n  ")
		if int64(len(e.First)) < e.Failed {
			s += fmt.Sprintf("\n  ... and %d more (see --report)", e.Failed-int64(len(e.First)))
		}
	}
	return s
}

// Run executes one pass: priority prefixes first, then everything else,
// then deletes. It returns the stats and a *RunError if any object failed,
// or another error when the run could not proceed.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	e, err := newEngine(ctx, cfg)
	if err != nil {
		return Stats{}, err
	}
	start := time.Now()
	runErr := e.run(ctx)
	closeErr := e.close(ctx)
	st := e.c.snapshot(start, cfg.Requests)
	st.Retries = cfg.Retry.retries.Load()
	if err := errors.Join(runErr, closeErr); err != nil {
		return st, err
	}
	if st.Failed > 0 {
		e.c.mu.Lock()
		defer e.c.mu.Unlock()
		return st, &RunError{Failed: st.Failed, First: e.c.failures}
	}
	return st, nil
}

// Watch runs passes until ctx ends, waiting every between the end of one
// and the start of the next; onPass sees each pass's result.
func Watch(ctx context.Context, cfg Config, every time.Duration, onPass func(Stats, error)) error {
	for {
		st, err := Run(ctx, cfg)
		if ctx.Err() != nil {
			return nil
		}
		var re *RunError
		if err != nil && !errors.As(err, &re) && !isListingErr(err) {
			return err
		}
		onPass(st, err)
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func isListingErr(err error) bool {
	var le *ListingError
	return errors.As(err, &le)
}

func journalPath(dir, id string) string { return filepath.Join(dir, id+".db") }
