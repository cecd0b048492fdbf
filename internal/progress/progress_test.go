package progress

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock advances only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSnapshotNumbers(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	r := New(Options{Mode: Off, now: clk.now})
	tr := r.Track("objects", "obj", true)
	tr.AddTotal(10, 1000)
	tr.Add(4, 400)
	tr.Skip(2, 200) // 200 bytes need not move
	tr.Fail(1)
	clk.advance(4 * time.Second)

	got := r.Snapshot()[0]
	want := Snapshot{Name: "objects", Unit: "obj", Done: 7, Total: 10, Bytes: 400, TotalBytes: 800,
		Failed: 1, Skipped: 2, ElapsedS: 4, RatePerS: 1.25, BytesPerS: 100, ETAS: 4}
	if got != want {
		t.Errorf("snapshot\n got %+v\nwant %+v", got, want)
	}
	tr.Finish()
	clk.advance(time.Hour)
	if s := tr.Snapshot(); !s.Finished || s.ETAS != 0 || s.ElapsedS != 4 {
		t.Errorf("finished snapshot %+v", s)
	}
	b, _ := json.Marshal(got)
	for _, k := range []string{`"done":7`, `"total_bytes":800`, `"eta_s":4`, `"rate_per_s":1.25`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("json %s lacks %s", b, k)
		}
	}
}

func TestETAUnknownWithoutRate(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	r := New(Options{Mode: Off, now: clk.now})
	rows := r.Track("shop.orders", "rows", false)
	rows.AddTotal(100, 0)
	if s := rows.Snapshot(); s.ETAS != -1 {
		t.Errorf("ETA with no progress = %v, want -1", s.ETAS)
	}
	rows.Add(25, 0)
	clk.advance(5 * time.Second)
	if s := rows.Snapshot(); s.ETAS != 15 {
		t.Errorf("row ETA = %v, want 15", s.ETAS)
	}
}

// TestConcurrentAdd: many workers adding at once lose nothing (run with -race).
func TestConcurrentAdd(t *testing.T) {
	var logs bytes.Buffer
	r := New(Options{Mode: Lines, Log: slog.New(slog.NewTextHandler(&logs, nil)), Interval: time.Millisecond})
	tr := r.Track("objects", "obj", true)
	r.Start()
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				tr.AddTotal(1, 10)
				tr.Add(1, 10)
				_ = r.Snapshot()
			}
		}()
	}
	wg.Wait()
	r.Stop()
	s := tr.Snapshot()
	if s.Done != 64000 || s.Total != 64000 || s.Bytes != 640000 || s.TotalBytes != 640000 {
		t.Errorf("lost updates: %+v", s)
	}
}

func TestLogLines(t *testing.T) {
	var logs syncBuffer
	r := New(Options{Mode: Lines, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Interval: 5 * time.Millisecond})
	tr := r.Track("objects", "obj", true)
	tr.AddTotal(3, 3<<20)
	r.Start()
	tr.Add(1, 1<<20)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"progress"`) {
		if time.Now().After(deadline) {
			t.Fatal("no periodic progress line within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tr.Add(2, 2<<20)
	r.Stop()
	r.Stop() // idempotent

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var final map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &final); err != nil {
		t.Fatal(err)
	}
	if final["msg"] != "progress done" || final["done"] != 3.0 || final["total"] != 3.0 ||
		final["bytes"] != float64(3<<20) || final["name"] != "objects" {
		t.Errorf("final line %v", final)
	}
	var periodic map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &periodic)
	for _, k := range []string{"done", "total", "bytes", "total_bytes", "bytes_per_s", "rate_per_s", "elapsed"} {
		if _, ok := periodic[k]; !ok {
			t.Errorf("periodic line lacks %q: %s", k, lines[0])
		}
	}
}

func TestBars(t *testing.T) {
	var out syncBuffer
	r := New(Options{Mode: Bars, Out: &out, Refresh: time.Millisecond, Width: 120})
	if r.Mode() != Bars {
		t.Fatalf("mode %v", r.Mode())
	}
	objs := r.Track("objects", "obj", true)
	rows := r.Track("shop.orders", "rows", false)
	objs.AddTotal(10, 10<<20)
	rows.AddTotal(1000, 0)
	r.Start()
	objs.Add(3, 3<<20)
	rows.Add(250, 0)
	// Wait for a redraw in place (the second frame moves the cursor up).
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "\033[2A") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.Stop()

	got := out.String()
	last := got[strings.LastIndex(got, "\033[")+1:]
	for _, s := range []string{"objects 3/10 obj", "3.00 MiB / 10.00 MiB", "shop.orders 250/1000 rows", "250 / 1000"} {
		if !strings.Contains(got, s) {
			t.Errorf("bars lack %q:\n%q", s, last)
		}
	}
	if !strings.Contains(got, "\033[2A") {
		t.Errorf("bars are not redrawn in place: %q", got)
	}
}

func TestAutoIsLinesWhenNotATerminal(t *testing.T) {
	r := New(Options{Out: &bytes.Buffer{}})
	if r.Mode() != Lines {
		t.Errorf("mode %v, want Lines", r.Mode())
	}
	r.Stop() // without Start: must not block
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
