package sync

import (
	stdsync "sync"
	"sync/atomic"
	"time"
)

// Stats are the counters of one run. The JSON form is exactly what
// `evac sync --json` prints.
type Stats struct {
	ListedSource int64            `json:"listed_source"`
	ListedTarget int64            `json:"listed_target"`
	Copied       int64            `json:"copied"`
	CopiedBytes  int64            `json:"copied_bytes"`
	Skipped      int64            `json:"skipped"`
	Deleted      int64            `json:"deleted"`
	Failed       int64            `json:"failed"`
	Retries      int64            `json:"retries"`
	DurationS    float64          `json:"duration_s"`
	Requests     map[string]int64 `json:"requests"`
}

// Progress receives work as it is discovered (AddTotal) and done (Add: an
// object finished, or bytes of one moved). Totals grow while the listings
// stream, so an ETA is an estimate until listing ends. *progress.Tracker
// implements it.
type Progress interface {
	AddTotal(objects, bytes int64)
	Add(objects, bytes int64)
}

type nopProgress struct{}

func (nopProgress) AddTotal(int64, int64) {}
func (nopProgress) Add(int64, int64)      {}

// counters is the live, concurrent form of Stats.
type counters struct {
	listedSource, listedTarget atomic.Int64
	copied, copiedBytes        atomic.Int64
	sentBytes                  atomic.Int64
	skipped, deleted, failed   atomic.Int64
	adopted, conflicts         atomic.Int64
	retries                    atomic.Int64

	mu       stdsync.Mutex
	failures []string // first few, for the error message
}

const maxListedFailures = 20

func (c *counters) fail(key string, err error) {
	c.failed.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) < maxListedFailures {
		c.failures = append(c.failures, key+": "+err.Error())
	}
}

func (c *counters) snapshot(start time.Time, reqs []*RequestCounts) Stats {
	s := Stats{
		ListedSource: c.listedSource.Load(),
		ListedTarget: c.listedTarget.Load(),
		Copied:       c.copied.Load(),
		CopiedBytes:  c.copiedBytes.Load(),
		Skipped:      c.skipped.Load(),
		Deleted:      c.deleted.Load(),
		Failed:       c.failed.Load(),
		Retries:      c.retries.Load(),
		DurationS:    time.Since(start).Seconds(),
		Requests:     map[string]int64{},
	}
	seen := map[*RequestCounts]bool{}
	for _, rc := range reqs {
		if rc == nil || seen[rc] {
			continue
		}
		seen[rc] = true
		for k, v := range rc.Counts() {
			s.Requests[k] += v
		}
	}
	return s
}
