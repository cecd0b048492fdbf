package progress

import (
	"sync/atomic"
	"time"
)

// Tracker counts one stream of work (objects of a sync, rows of a table).
// All methods are safe for concurrent use.
type Tracker struct {
	name      string
	unit      string
	withBytes bool
	now       func() time.Time
	start     time.Time

	done, total, bytes, totalBytes, failed, skipped atomic.Int64
	finishedAt                                      atomic.Int64 // unix ns; 0 while running
}

// Snapshot is a tracker's numbers at one moment (for --json and /status).
type Snapshot struct {
	Name       string  `json:"name"`
	Unit       string  `json:"unit"`
	Done       int64   `json:"done"`        // items finished (copied, skipped or failed)
	Total      int64   `json:"total"`       // items known so far; grows while listing
	Bytes      int64   `json:"bytes"`       // bytes moved
	TotalBytes int64   `json:"total_bytes"` // bytes known so far
	Failed     int64   `json:"failed"`
	Skipped    int64   `json:"skipped"`
	ElapsedS   float64 `json:"elapsed_s"`
	RatePerS   float64 `json:"rate_per_s"`  // items per second since start
	BytesPerS  float64 `json:"bytes_per_s"` // bytes per second since start
	ETAS       float64 `json:"eta_s"`       // seconds left at the current rate; -1 unknown
	Finished   bool    `json:"finished"`
}

// Name is the tracker's name.
func (t *Tracker) Name() string { return t.name }

// Add records n items finished with the given bytes moved.
func (t *Tracker) Add(n, bytes int64) {
	t.done.Add(n)
	t.bytes.Add(bytes)
}

// AddBytes records bytes moved before an item finishes (a part of a large
// object), so the byte rate stays smooth.
func (t *Tracker) AddBytes(bytes int64) { t.bytes.Add(bytes) }

// AddTotal records newly discovered work.
func (t *Tracker) AddTotal(n, bytes int64) {
	t.total.Add(n)
	t.totalBytes.Add(bytes)
}

// SetTotal sets the known work when it is known up front.
func (t *Tracker) SetTotal(n, bytes int64) {
	t.total.Store(n)
	t.totalBytes.Store(bytes)
}

// Skip records n items that needed no work; they count as done. bytes is
// their size: it is removed from the byte total so the ETA reflects the
// bytes that still have to move.
func (t *Tracker) Skip(n, bytes int64) {
	t.done.Add(n)
	t.skipped.Add(n)
	t.totalBytes.Add(-bytes)
}

// Fail records n items that failed; they count as done.
func (t *Tracker) Fail(n int64) {
	t.done.Add(n)
	t.failed.Add(n)
}

// Finish marks the tracker complete (its rate freezes).
func (t *Tracker) Finish() { t.finishedAt.CompareAndSwap(0, t.now().UnixNano()) }

// Snapshot reads the counters. Rates are averages since the tracker was
// created; the ETA uses bytes when the tracker counts bytes, else items.
func (t *Tracker) Snapshot() Snapshot {
	s := Snapshot{
		Name: t.name, Unit: t.unit,
		Done: t.done.Load(), Total: t.total.Load(),
		Bytes: t.bytes.Load(), TotalBytes: t.totalBytes.Load(),
		Failed: t.failed.Load(), Skipped: t.skipped.Load(),
		ETAS: -1,
	}
	end := t.now()
	if f := t.finishedAt.Load(); f != 0 {
		end = time.Unix(0, f)
		s.Finished = true
	}
	el := end.Sub(t.start).Seconds()
	s.ElapsedS = el
	if el > 0 {
		s.RatePerS = float64(s.Done-s.Skipped) / el
		s.BytesPerS = float64(s.Bytes) / el
	}
	switch {
	case s.Finished:
		s.ETAS = 0
	case t.withBytes && s.TotalBytes > 0 && s.BytesPerS > 0:
		s.ETAS = max(0, float64(s.TotalBytes-s.Bytes)/s.BytesPerS)
	case s.Total > 0 && s.RatePerS > 0:
		s.ETAS = max(0, float64(s.Total-s.Done)/s.RatePerS)
	}
	return s
}
