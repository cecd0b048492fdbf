// Package verify proves that a copy matches its source: table checksums
// (chunked, both sides in parallel, drill-down to keys), object listings
// compared by stored checksums (or re-read with Deep), RPO figures, and a
// signed JSON report.
package verify

import (
	"fmt"
	"time"
)

// TableOptions configure a table verification. Zero values take defaults.
type TableOptions struct {
	Databases []string // schemas to verify; empty = every non-system schema on the source
	Tables    []string // "db.table" filters; empty = all tables of Databases
	Exclude   []string // "db.table" names never verified
	// Workers is how many chunks are checksummed at once (each on both sides).
	Workers int
	// ChunkTime is the time target for one chunk checksum on the source.
	ChunkTime time.Duration
	// MaxChunkRows caps a chunk's size whatever the time target says.
	MaxChunkRows int
	// MinChunkRows is the first chunk's size and the floor of the adaptation.
	MinChunkRows int
	// MaxThreadsRunning pauses chunk reads while the source's
	// Threads_running is above it (0 = no throttling).
	MaxThreadsRunning int
	// DrillRows is the largest range that is compared row by row (default 1000).
	DrillRows int
	// Rechecks is how many times a differing chunk or key is re-read on a
	// live target before it is reported (0 = default 5, negative = none).
	Rechecks int
	// RecheckDelay is the pause between re-checks when the target's applied
	// position cannot be waited for (default 500ms).
	RecheckDelay time.Duration
	// WaitTimeout bounds one wait for the target to reach a source mark.
	WaitTimeout time.Duration
	// MaxKeys caps the differing keys listed per table (the count stays exact).
	MaxKeys int
}

func (o *TableOptions) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Workers, 4)
	def(&o.MaxChunkRows, 200000)
	def(&o.MinChunkRows, 1000)
	def(&o.DrillRows, 1000)
	if o.Rechecks == 0 {
		o.Rechecks = 5
	}
	def(&o.MaxKeys, 10000)
	if o.ChunkTime <= 0 {
		o.ChunkTime = 500 * time.Millisecond
	}
	if o.RecheckDelay <= 0 {
		o.RecheckDelay = 500 * time.Millisecond
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 60 * time.Second
	}
}

// Validate reports options that cannot work.
func (o TableOptions) Validate() error {
	if o.MinChunkRows > 0 && o.MaxChunkRows > 0 && o.MinChunkRows > o.MaxChunkRows {
		return fmt.Errorf("chunk rows: minimum %d is above maximum %d; lower --min-chunk-rows", o.MinChunkRows, o.MaxChunkRows)
	}
	if o.MaxThreadsRunning < 0 {
		return fmt.Errorf("--max-threads-running %d is negative; use 0 to disable throttling", o.MaxThreadsRunning)
	}
	return nil
}
