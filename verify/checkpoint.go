package verify

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/evac-dev/evac/replicator/position"
)

// checkpointWait waits on evac's own checkpoint: the target table
// evac_meta.checkpoint holds the source position the applier committed
// (in the same transaction as the rows), so "target applied past the mark"
// is exact.
type checkpointWait struct {
	src, dst *sql.DB
	column   string // the position column ("pos" or "position")
	timeout  time.Duration
}

// detectCheckpoint finds evac_meta.checkpoint on the target.
func detectCheckpoint(ctx context.Context, src, dst *sql.DB, opt TableOptions) (waiter, bool) {
	var col string
	err := dst.QueryRowContext(ctx, `SELECT COLUMN_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA='evac_meta' AND TABLE_NAME='checkpoint' AND COLUMN_NAME IN ('pos','position')
		ORDER BY COLUMN_NAME LIMIT 1`).Scan(&col)
	if err != nil || col == "" {
		return nil, false
	}
	c := checkpointWait{src: src, dst: dst, column: col, timeout: opt.WaitTimeout}
	if !c.live(ctx) {
		return nil, false
	}
	return c, true
}

// live reports whether the checkpoint follows this source: it was written
// in the last 10 seconds, it already contains the source's position, or it
// moves within a few seconds.
func (c checkpointWait) live(ctx context.Context) bool {
	first, err := c.applied(ctx)
	if err != nil {
		return false
	}
	var recent int
	if c.dst.QueryRowContext(ctx, "SELECT COUNT(*) FROM evac_meta.checkpoint WHERE updated_at >= UTC_TIMESTAMP(6) - INTERVAL 10 SECOND").Scan(&recent) == nil && recent > 0 {
		return true
	}
	mark, err := sourcePosition(ctx, c.src, first.Kind)
	if err != nil {
		return false
	}
	want, err := position.Parse(mark)
	if err != nil {
		return false
	}
	for i := 0; i < 30; i++ {
		cp, err := c.applied(ctx)
		if err != nil {
			return false
		}
		if cp.Contains(want) || cp.String() != first.String() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

func (c checkpointWait) Name() string { return "evac checkpoint (evac_meta.checkpoint)" }

// applied returns the newest checkpoint position on the target among the
// rows that belong to this source: a checkpoint of this source is always
// contained in the source's current position (rows of streams from other
// sources are ignored).
func (c checkpointWait) applied(ctx context.Context) (position.Position, error) {
	rows, err := c.dst.QueryContext(ctx, fmt.Sprintf("SELECT `%s` FROM evac_meta.checkpoint", c.column))
	if err != nil {
		return position.Position{}, err
	}
	defer rows.Close()
	var best position.Position
	srcNow := map[position.Kind]position.Position{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return best, err
		}
		p, err := position.Parse(s)
		if err != nil {
			continue
		}
		now, ok := srcNow[p.Kind]
		if !ok {
			txt, err := sourcePosition(ctx, c.src, p.Kind)
			if err != nil {
				return best, err
			}
			if now, err = position.Parse(txt); err != nil {
				return best, err
			}
			srcNow[p.Kind] = now
		}
		if !now.Contains(p) {
			continue // another source's stream
		}
		if best.IsZero() || p.Contains(best) {
			best = p
		}
	}
	if best.IsZero() {
		return best, fmt.Errorf("evac_meta.checkpoint holds no position of this source")
	}
	return best, rows.Err()
}

// Mark reads the source position in the checkpoint's kind.
func (c checkpointWait) Mark(ctx context.Context) (string, error) {
	cp, err := c.applied(ctx)
	if err != nil {
		return "", err
	}
	return sourcePosition(ctx, c.src, cp.Kind)
}

// sourcePosition reads the source's current position of the given kind.
func sourcePosition(ctx context.Context, db *sql.DB, k position.Kind) (string, error) {
	var s string
	var err error
	switch k {
	case position.MariaDBGTID:
		err = db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&s)
	case position.MySQLGTID:
		err = db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&s)
	default:
		s, err = masterStatus(ctx, db)
	}
	if err != nil {
		return "", fmt.Errorf("read source position: %w", err)
	}
	return strings.Join(strings.Fields(s), ""), nil
}

// Wait polls the checkpoint until it contains the mark.
func (c checkpointWait) Wait(ctx context.Context, mark string) error {
	want, err := position.Parse(mark)
	if err != nil {
		return fmt.Errorf("source mark %q: %w", mark, err)
	}
	deadline := time.Now().Add(c.timeout)
	for {
		cp, err := c.applied(ctx)
		if err != nil {
			return fmt.Errorf("read target checkpoint: %w", err)
		}
		if cp.Contains(want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("evac checkpoint %s did not reach source position %s within %s: is `evac replicate` running?", cp, want, c.timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
