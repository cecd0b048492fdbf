// Package heartbeat writes a microsecond timestamp into a one-row source
// table every Period; the stream carries it to the applier, which records
// the newest applied value in evac_meta.checkpoint.heartbeat_ts. The lag
// (measured RPO) is source_now - applied_heartbeat.
package heartbeat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/evac-dev/evac/replicator/meta"
)

// DefaultPeriod is the write interval.
const DefaultPeriod = 250 * time.Millisecond

// Writer updates evac_meta.heartbeat on the source.
type Writer struct {
	DB     *sql.DB // source, with privileges on evac_meta
	Period time.Duration
	Logger *slog.Logger
}

// Run creates the table if missing and writes until ctx ends. It returns
// nil on cancellation. A failed write is logged and retried next tick; the
// table creation failing is returned (read-only source: run with
// --no-heartbeat, lag then comes from event commit timestamps).
func (w *Writer) Run(ctx context.Context) error {
	if err := meta.EnsureSource(ctx, w.DB); err != nil {
		return fmt.Errorf("%w (for a read-only source use --no-heartbeat)", err)
	}
	period := w.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("heartbeat connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION time_zone='+00:00'"); err != nil {
		return fmt.Errorf("heartbeat session: %w", err)
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		if err := Beat(ctx, conn); err != nil && ctx.Err() == nil {
			log.Warn("heartbeat write failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Beat writes one heartbeat (the connection's time_zone must be +00:00).
func Beat(ctx context.Context, conn interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) error {
	_, err := conn.ExecContext(ctx, `INSERT INTO evac_meta.heartbeat (id, ts) VALUES (1, NOW(6))
		ON DUPLICATE KEY UPDATE ts = VALUES(ts)`)
	if err != nil {
		return fmt.Errorf("write evac_meta.heartbeat: %w", err)
	}
	return nil
}

// SourceNow reads the source's current UTC time with microseconds.
func SourceNow(ctx context.Context, db *sql.DB) (time.Time, error) {
	var s string
	if err := db.QueryRowContext(ctx, "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%d %H:%i:%s.%f')").Scan(&s); err != nil {
		return time.Time{}, fmt.Errorf("read source time: %w", err)
	}
	return time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
}

// Lag is source_now - applied_heartbeat, never negative; ok is false when
// no heartbeat has been applied yet.
func Lag(sourceNow, applied time.Time) (lag time.Duration, ok bool) {
	if applied.IsZero() {
		return 0, false
	}
	return max(sourceNow.Sub(applied), 0), true
}

// LagFromCommit is the fallback without heartbeats (--no-heartbeat): the
// age of the last applied transaction's commit time while events are
// pending; 0 when the applier is caught up (nothing pending).
func LagFromCommit(now, lastCommit time.Time, caughtUp bool) time.Duration {
	if caughtUp || lastCommit.IsZero() {
		return 0
	}
	return max(now.Sub(lastCommit), 0)
}

// MeasuredLag reads the applied heartbeat of a stream from the target's
// evac_meta.checkpoint and the source's clock: the measured RPO. ok is
// false when no heartbeat was applied yet (or the checkpoint is missing).
func MeasuredLag(ctx context.Context, source, target *sql.DB, streamID string) (lag time.Duration, ok bool, err error) {
	var hb sql.NullString
	err = target.QueryRowContext(ctx, "SELECT DATE_FORMAT(heartbeat_ts, '%Y-%m-%d %H:%i:%s.%f') FROM evac_meta.checkpoint WHERE stream_id = ?", streamID).Scan(&hb)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read applied heartbeat of stream %q: %w", streamID, err)
	}
	if !hb.Valid {
		return 0, false, nil
	}
	applied, err := time.ParseInLocation("2006-01-02 15:04:05.999999", hb.String, time.UTC)
	if err != nil {
		return 0, false, fmt.Errorf("applied heartbeat %q: %w", hb.String, err)
	}
	now, err := SourceNow(ctx, source)
	if err != nil {
		return 0, false, err
	}
	lag, ok = Lag(now, applied)
	return lag, ok, nil
}
