package binlog

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/replicator/position"
)

func TestPurgedPositionRefused(t *testing.T) {
	dsn := testenv.SourceDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, start := range []string{"mysql-bin.999999:4", "0-1-999999999"} {
		s, err := Open(ctx, Config{SourceDSN: dsn, ServerID: 5000 + rand.Uint32N(1<<30), Start: position.MustParse(start)})
		if err == nil {
			_, err = s.Next(ctx)
			s.Close()
		}
		if !errors.Is(err, ErrPurged) || !strings.HasPrefix(err.Error(), "source cannot serve its binlog from "+start+" (") ||
			!strings.Contains(err.Error(), "re-snapshot (evac replicate --snapshot auto)") {
			t.Errorf("start %s: got %v, want the purged-position error", start, err)
		}
	}
}
