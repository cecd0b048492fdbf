// Package progress shows how far a job is: cheggaaa/pb/v3 bars (count,
// bytes, rate, ETA) on a terminal, a periodic log line with the same
// numbers otherwise, and a Snapshot for --json output and the daemon's
// /status.
//
//	r := progress.New(progress.Options{Out: os.Stderr, Log: log})
//	objs := r.Track("objects", "obj", true)   // before or after Start
//	r.Start()
//	defer r.Stop()                            // joins the render goroutine, prints the final state
//	objs.AddTotal(1, size)                    // as the listing discovers work
//	objs.Add(1, size)                         // from any number of workers
//
// Trackers count with atomics: Add, AddTotal, Skip and Fail are safe from
// any goroutine and cost a few nanoseconds. One goroutine renders; Stop
// joins it.
package progress

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// Mode selects the output.
type Mode int

const (
	// Auto shows bars when Out is a terminal, log lines otherwise.
	Auto Mode = iota
	// Bars always draws bars on Out.
	Bars
	// Lines always logs a status line every Interval.
	Lines
	// Off shows nothing; Snapshot still works (--json, daemon).
	Off
)

// Options configure a Reporter.
type Options struct {
	Out      io.Writer     // terminal for bars; usually os.Stderr
	Log      *slog.Logger  // status lines when Out is not a terminal
	Mode     Mode          //
	Interval time.Duration // between log lines; default 10s
	Refresh  time.Duration // between bar redraws; default 200ms
	Width    int           // bar width in cells; default: the terminal's, else 100

	now func() time.Time // tests
}

// Reporter renders a set of trackers until Stop.
type Reporter struct {
	opts Options
	mode Mode

	mu       sync.Mutex
	trackers []*Tracker
	bars     *barRenderer

	startOnce, stopOnce sync.Once
	stop                chan struct{}
	done                chan struct{}
}

// New returns a Reporter; nothing runs until Start.
func New(o Options) *Reporter {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Refresh <= 0 {
		o.Refresh = 200 * time.Millisecond
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &Reporter{opts: o, mode: o.Mode, stop: make(chan struct{}), done: make(chan struct{})}
	if r.mode == Auto {
		r.mode = Lines
		if f, ok := o.Out.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			r.mode = Bars
		}
	}
	if r.mode == Bars && o.Out == nil {
		r.mode = Lines
	}
	if r.mode == Bars {
		r.bars = newBarRenderer(o.Out, o.Width)
	}
	return r
}

// Mode is the output actually chosen (Auto resolved).
func (r *Reporter) Mode() Mode { return r.mode }

// Track adds a tracker. unit names what is counted ("obj", "rows");
// withBytes says whether Add's byte counts matter (bars then show bytes).
func (r *Reporter) Track(name, unit string, withBytes bool) *Tracker {
	t := &Tracker{name: name, unit: unit, withBytes: withBytes, now: r.opts.now, start: r.opts.now()}
	r.mu.Lock()
	r.trackers = append(r.trackers, t)
	r.mu.Unlock()
	return t
}

// Snapshot returns every tracker's numbers, in Track order.
func (r *Reporter) Snapshot() []Snapshot {
	ts := r.list()
	out := make([]Snapshot, len(ts))
	for i, t := range ts {
		out[i] = t.Snapshot()
	}
	return out
}

func (r *Reporter) list() []*Tracker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Tracker(nil), r.trackers...)
}

// Start launches the render goroutine. Calling it twice does nothing.
func (r *Reporter) Start() {
	r.startOnce.Do(func() {
		if r.mode == Off {
			close(r.done)
			return
		}
		go r.loop()
	})
}

// Stop ends rendering, waits for the goroutine and prints the final state
// (a last frame of bars, or one "progress done" line per tracker). Safe to
// call more than once, and without Start.
func (r *Reporter) Stop() {
	r.stopOnce.Do(func() {
		r.startOnce.Do(func() { close(r.done) }) // never started: nothing to join
		close(r.stop)
		<-r.done
		switch r.mode {
		case Bars:
			r.bars.draw(r.list(), true)
		case Lines:
			for _, t := range r.list() {
				r.logLine("progress done", t.Snapshot())
			}
		}
	})
}

func (r *Reporter) loop() {
	defer close(r.done)
	every := r.opts.Interval
	if r.mode == Bars {
		every = r.opts.Refresh
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			r.render()
		}
	}
}

func (r *Reporter) render() {
	ts := r.list()
	if r.mode == Bars {
		r.bars.draw(ts, false)
		return
	}
	for _, t := range ts {
		if s := t.Snapshot(); !s.Finished {
			r.logLine("progress", s)
		}
	}
}

func (r *Reporter) logLine(msg string, s Snapshot) {
	attrs := []any{"name", s.Name, "done", s.Done, "total", s.Total, "unit", s.Unit,
		"rate_per_s", round1(s.RatePerS), "elapsed", time.Duration(s.ElapsedS * float64(time.Second)).Round(time.Second).String()}
	if s.Bytes > 0 || s.TotalBytes > 0 {
		attrs = append(attrs, "bytes", s.Bytes, "total_bytes", s.TotalBytes, "bytes_per_s", int64(s.BytesPerS))
	}
	if s.Failed > 0 {
		attrs = append(attrs, "failed", s.Failed)
	}
	if s.Skipped > 0 {
		attrs = append(attrs, "skipped", s.Skipped)
	}
	if s.ETAS >= 0 && !s.Finished {
		attrs = append(attrs, "eta", (time.Duration(s.ETAS) * time.Second).String())
	}
	r.opts.Log.Info(msg, attrs...)
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
