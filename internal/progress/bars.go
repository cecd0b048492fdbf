package progress

import (
	"fmt"
	"io"
	"strings"

	pb "github.com/cheggaaa/pb/v3"
	"github.com/cheggaaa/pb/v3/termutil"
)

// barTemplate: "objects  1200/2000 obj [=====>   ] 1.2 GiB / 3.0 GiB 80 MiB/s ETA 22s".
const barTemplate = `{{string . "label"}} {{string . "count"}} {{bar . "[" "=" ">" " " "]"}} {{counters . }} {{speed . "%s/s" "-"}} {{rtime . "ETA %s" "done in %s" "ETA ?"}}`

// barRenderer draws one pb bar per tracker and redraws them in place. It
// renders with pb's templates and speed/ETA elements but writes the frame
// itself (no pb goroutines, no raw terminal mode), so Stop can join the
// one goroutine that draws.
type barRenderer struct {
	out   io.Writer
	width int
	bars  map[*Tracker]*pb.ProgressBar
	lines int // lines drawn by the previous frame
}

func newBarRenderer(out io.Writer, width int) *barRenderer {
	if width <= 0 {
		if w, err := termutil.TerminalWidth(); err == nil && w > 20 {
			width = w
		} else {
			width = 100
		}
	}
	return &barRenderer{out: out, width: width, bars: map[*Tracker]*pb.ProgressBar{}}
}

func (b *barRenderer) bar(t *Tracker) *pb.ProgressBar {
	if bar, ok := b.bars[t]; ok {
		return bar
	}
	bar := pb.New64(0)
	bar.Set(pb.Static, true) // we draw; pb starts no writer goroutine
	bar.Set(pb.Bytes, t.withBytes)
	bar.Set(pb.Terminal, false)
	bar.SetTemplateString(barTemplate)
	bar.SetWidth(b.width)
	bar.SetWriter(b.out)
	bar.Start() // configures only (Static)
	b.bars[t] = bar
	return bar
}

// draw writes one frame: cursor up over the previous frame, one line per
// tracker. final leaves the cursor below the last frame.
func (b *barRenderer) draw(ts []*Tracker, final bool) {
	var sb strings.Builder
	if b.lines > 0 {
		fmt.Fprintf(&sb, "\033[%dA", b.lines)
	}
	for _, t := range ts {
		s := t.Snapshot()
		bar := b.bar(t)
		bar.Set("label", s.Name)
		bar.Set("count", countText(s))
		if t.withBytes {
			bar.SetTotal(s.TotalBytes)
			bar.SetCurrent(s.Bytes)
		} else {
			bar.SetTotal(s.Total)
			bar.SetCurrent(s.Done)
		}
		complete := s.Finished || (s.Total > 0 && s.Done >= s.Total)
		if final && complete && !bar.IsFinished() {
			bar.Finish()
		}
		sb.WriteString("\r\033[K")
		sb.WriteString(bar.String())
		sb.WriteString("\n")
	}
	b.lines = len(ts)
	if final {
		b.lines = 0
	}
	io.WriteString(b.out, sb.String())
}

func countText(s Snapshot) string {
	c := fmt.Sprintf("%d/%d %s", s.Done, s.Total, s.Unit)
	if s.Failed > 0 {
		c += fmt.Sprintf(" (%d failed)", s.Failed)
	}
	return c
}
