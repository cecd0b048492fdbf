package sync

import (
	"bufio"
	"encoding/json"
	"io"
	stdsync "sync"
	"time"

	"github.com/evac-dev/evac/internal/redact"
)

// ReportRecord is one line of the NDJSON report (--report FILE).
type ReportRecord struct {
	Time     time.Time `json:"time"`
	Key      string    `json:"key"`
	Action   string    `json:"action"` // copy, skip, delete, adopt, conflict, unstorable, fail
	Reason   string    `json:"reason"`
	Size     int64     `json:"size"`
	Sent     int64     `json:"sent,omitempty"` // bytes sent (less than size after a resumed upload)
	ETag     string    `json:"etag,omitempty"`
	Checksum string    `json:"checksum,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// reporter writes ReportRecords; safe for concurrent use; nil-safe.
type reporter struct {
	mu stdsync.Mutex
	w  *bufio.Writer
	e  *json.Encoder
}

func newReporter(w io.Writer) *reporter {
	if w == nil {
		return nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	return &reporter{w: bw, e: json.NewEncoder(bw)}
}

func (r *reporter) write(rec ReportRecord) {
	if r == nil {
		return
	}
	rec.Time = time.Now().UTC()
	rec.Error = redact.String(rec.Error)
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.e.Encode(rec)
}

func (r *reporter) flush() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w.Flush()
}
