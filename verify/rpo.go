package verify

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/evac-dev/evac/replicator/position"
)

// RPO is how much data a failure of the source right now would lose.
type RPO struct {
	Lag     *Lag            `json:"db_lag"`
	Behind  *Behind         `json:"db_behind"`
	Objects *PendingObjects `json:"objects_pending"`
}

// Lag is the database replication lag sampled over the run.
type Lag struct {
	Method        string  `json:"method"` // "evac-heartbeat", "seconds-behind-master"
	Samples       int     `json:"samples"`
	NowMS         float64 `json:"now_ms"`
	P50MS         float64 `json:"p50_ms"`
	P99MS         float64 `json:"p99_ms"`
	MaxMS         float64 `json:"max_ms"`
	ClockOffsetMS float64 `json:"clock_offset_ms"` // target clock minus source clock
	ErrorBoundMS  float64 `json:"error_bound_ms"`  // ± on every lag figure
}

// Behind counts source transactions the target has not applied.
type Behind struct {
	PositionKind   string  `json:"position_kind"`
	SourcePosition string  `json:"source_position"`
	TargetPosition string  `json:"target_position"`
	Transactions   *int64  `json:"transactions"`  // GTID subtraction; null for file/pos
	Bytes          *int64  `json:"bytes"`         // file/pos distance in one binlog file; null otherwise
	OldestAgeMS    float64 `json:"oldest_age_ms"` // age of the oldest unapplied transaction (= lag now when behind)
}

// PendingObjects are source objects not (or not correctly) on the target.
type PendingObjects struct {
	Count            int64   `json:"count"`
	Bytes            int64   `json:"bytes"`
	OldestChangeAgeS float64 `json:"oldest_change_age_s"`
}

// LagSampler samples lag in the background while a verification runs.
type LagSampler struct {
	src, dst *sql.DB
	method   string
	mu       gosync.Mutex
	samples  []float64
	offset   float64
	bound    float64
	done     chan struct{}
	wg       gosync.WaitGroup
}

// StartLagSampler finds a lag source on the target (the newest applied
// source heartbeat in evac_meta.checkpoint.heartbeat_ts, else native
// replication's Seconds_Behind_Master) and samples it every interval until Stop. It returns
// nil when neither exists.
func StartLagSampler(ctx context.Context, src, dst *sql.DB, every time.Duration) *LagSampler {
	l := &LagSampler{src: src, dst: dst, done: make(chan struct{})}
	if _, ok := appliedHeartbeat(ctx, src, dst); ok {
		l.method = "evac-heartbeat"
	} else if _, ok := slaveStatus(ctx, dst)["Seconds_Behind_Master"]; ok {
		l.method = "seconds-behind-master"
	} else {
		return nil
	}
	l.offset, l.bound = clockOffset(ctx, src, dst)
	l.sample(ctx)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-l.done:
				return
			case <-t.C:
				l.sample(ctx)
			}
		}
	}()
	return l
}

func (l *LagSampler) sample(ctx context.Context) {
	var ms float64
	switch l.method {
	case "evac-heartbeat":
		hb, ok := appliedHeartbeat(ctx, l.src, l.dst)
		var now string
		if !ok || l.src.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6)").Scan(&now) != nil {
			return
		}
		a, err := time.Parse("2006-01-02 15:04:05.999999", now)
		if err != nil {
			return
		}
		b := hb
		ms = float64(a.Sub(b).Microseconds()) / 1000
	default:
		s, ok := slaveStatus(ctx, l.dst)["Seconds_Behind_Master"]
		var sec float64
		if !ok || s == "" || func() bool { _, err := fmt.Sscan(s, &sec); return err != nil }() {
			return
		}
		ms = sec * 1000
	}
	l.mu.Lock()
	l.samples = append(l.samples, max(ms, 0))
	l.mu.Unlock()
}

// Stop ends sampling and returns the figures.
func (l *LagSampler) Stop() *Lag {
	close(l.done)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	lag := &Lag{Method: l.method, Samples: len(l.samples), ClockOffsetMS: l.offset, ErrorBoundMS: l.bound}
	if l.method == "seconds-behind-master" {
		lag.ErrorBoundMS += 1000 // whole seconds
	}
	if len(l.samples) == 0 {
		return lag
	}
	lag.NowMS = l.samples[len(l.samples)-1]
	s := append([]float64{}, l.samples...)
	sort.Float64s(s)
	lag.P50MS, lag.P99MS, lag.MaxMS = quantile(s, 0.5), quantile(s, 0.99), s[len(s)-1]
	return lag
}

func quantile(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted)-1) + 0.5)
	return sorted[min(i, len(sorted)-1)]
}

// clockOffset estimates target-minus-source clock offset with the RTT
// of the exchange as its error bound (ms).
func clockOffset(ctx context.Context, src, dst *sql.DB) (float64, float64) {
	best, bound := 0.0, -1.0
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		var s, d string
		if src.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&s) != nil {
			return 0, 0
		}
		_ = time.Now()
		if dst.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&d) != nil {
			return 0, 0
		}
		t2 := time.Now()
		var sv, dv float64
		fmt.Sscan(s, &sv)
		fmt.Sscan(d, &dv)
		// Source read at ~mid(t0,t1), target at ~mid(t1,t2): correct for that.
		off := (dv-sv)*1000 - float64(t2.Sub(t0))/2/float64(time.Millisecond)
		rtt := float64(t2.Sub(t0)) / float64(time.Millisecond)
		if bound < 0 || rtt < bound {
			best, bound = off, rtt
		}
	}
	return best, bound
}

// slaveStatus returns the target's replica status with MySQL 8.4's
// "Source" names mapped to the older "Master" ones; empty when the server
// is not a replica (or the user lacks REPLICATION CLIENT).
func slaveStatus(ctx context.Context, db *sql.DB) map[string]string {
	out := map[string]string{}
	rows, err := db.QueryContext(ctx, "SHOW REPLICA STATUS") // MariaDB 10.5+, MySQL 8.0.22+
	if err != nil {
		if rows, err = db.QueryContext(ctx, "SHOW SLAVE STATUS"); err != nil {
			return out
		}
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return out
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if rows.Scan(ptrs...) != nil {
		return out
	}
	for i, c := range cols {
		out[strings.ReplaceAll(c, "_Source_", "_Master_")] = vals[i].String
		if c == "Seconds_Behind_Source" {
			out["Seconds_Behind_Master"] = vals[i].String
		}
	}
	return out
}

// MeasureBehind compares the source position with what the target applied
// (evac checkpoint, else native replica position). nil when unknown.
func MeasureBehind(ctx context.Context, src, dst *sql.DB, lagNowMS float64) *Behind {
	var tgt position.Position
	if cw, ok := detectCheckpoint(ctx, src, dst, TableOptions{}); ok {
		tgt, _ = cw.(checkpointWait).applied(ctx)
	} else if st := slaveStatus(ctx, dst); len(st) > 0 {
		if st["Using_Gtid"] != "" && st["Using_Gtid"] != "No" {
			var s string
			if dst.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_slave_pos").Scan(&s) == nil {
				tgt, _ = position.Parse(s)
			}
		} else if st["Relay_Master_Log_File"] != "" {
			tgt, _ = position.Parse(st["Relay_Master_Log_File"] + ":" + st["Exec_Master_Log_Pos"])
		}
	}
	if tgt.IsZero() {
		return nil
	}
	s, err := sourcePosition(ctx, src, tgt.Kind)
	if err != nil {
		return nil
	}
	sp, err := position.Parse(s)
	if err != nil {
		return nil
	}
	b := &Behind{PositionKind: tgt.Kind.String(), SourcePosition: sp.String(), TargetPosition: tgt.String()}
	if n, ok := position.Behind(sp, tgt); ok {
		b.Transactions = &n
	} else if sp.Kind == position.FilePos && sp.File == tgt.File {
		n := int64(sp.Offset) - int64(tgt.Offset)
		b.Bytes = &n
	}
	if (b.Transactions != nil && *b.Transactions > 0) || (b.Bytes != nil && *b.Bytes > 0) {
		b.OldestAgeMS = lagNowMS
	}
	return b
}

// appliedHeartbeat returns heartbeat_ts of this source's newest evac
// checkpoint row (rows of streams from other sources are ignored).
func appliedHeartbeat(ctx context.Context, src, dst *sql.DB) (time.Time, bool) {
	rows, err := dst.QueryContext(ctx, "SELECT position, heartbeat_ts FROM evac_meta.checkpoint WHERE heartbeat_ts IS NOT NULL")
	if err != nil {
		return time.Time{}, false
	}
	defer rows.Close()
	var best position.Position
	var hb time.Time
	for rows.Next() {
		var ps, ts string
		if rows.Scan(&ps, &ts) != nil {
			return time.Time{}, false
		}
		p, err := position.Parse(ps)
		if err != nil {
			continue
		}
		cur, err := sourcePosition(ctx, src, p.Kind)
		if err != nil {
			return time.Time{}, false
		}
		now, err := position.Parse(cur)
		if err != nil || !now.Contains(p) || (!best.IsZero() && !p.Contains(best)) {
			continue
		}
		if t, err := time.Parse("2006-01-02 15:04:05.999999", ts); err == nil {
			best, hb = p, t
		}
	}
	return hb, !best.IsZero()
}
