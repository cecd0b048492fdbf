package replicator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/evac-dev/evac/internal/progress"
	"github.com/evac-dev/evac/replicator/apply"
	"github.com/evac-dev/evac/replicator/binlog"
	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/position"
)

// loop batches transactions (never splitting one), routes them through the
// snapshot coordinator and applies each batch with its checkpoint.
type loopState struct {
	batch    apply.Batch
	opened   time.Time
	target   *position.Position // --until-caught-up: stop once applied contains it
	snapDone bool
}

func (p *pipeline) loop(ctx context.Context, txns <-chan change.Txn) error {
	s := &loopState{}
	if p.coord == nil {
		p.setPhase("streaming")
	} else {
		p.setPhase("snapshot")
	}
	if done, err := p.afterBatch(ctx, s); done || err != nil {
		return err
	}
	tick := time.NewTicker(p.cfg.BatchTime)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// Drain: what was received is applied with its checkpoint.
			return p.flush(context.WithoutCancel(ctx), s)
		case txn := <-txns:
			if err := p.handle(ctx, s, txn); err != nil {
				return err
			}
		case <-tick.C:
			if time.Since(s.opened) >= p.cfg.BatchTime {
				if err := p.flush(ctx, s); err != nil {
					return err
				}
			}
		}
		if done, err := p.afterBatch(ctx, s); done || err != nil {
			return err
		}
	}
}

func (p *pipeline) handle(ctx context.Context, s *loopState, txn change.Txn) error {
	p.events.Add(int64(len(txn.Rows)) + 1)
	if txn.DDL != nil && (!p.wantDDL(txn.DDL) || p.inCopiedDefinition(txn)) {
		txn.DDL = nil // another schema's DDL, or already in the copied definition: only the position advances
	}
	if p.coord != nil {
		res, err := p.coord.Process(ctx, txn)
		if err != nil {
			return err
		}
		txn = res.Txn
		if txn.DDL == nil {
			// Chunk rows go after every Txn of their batch, so once a batch
			// holds chunks only data-free transactions (watermarks,
			// heartbeats, other schemas) may join it; the next one with
			// rows to apply starts a new batch.
			if len(s.batch.Chunks) > 0 && hasData(txn) {
				if err := p.flush(ctx, s); err != nil {
					return err
				}
			}
			p.add(s, txn)
			s.batch.Chunks = append(s.batch.Chunks, res.Chunks...)
			s.batch.Extra = append(s.batch.Extra, res.Extra...)
			if res.Queued > 0 {
				// parallel chunk inserts start once every earlier event is in
				if batchHasData(s.batch) {
					if err := p.flush(ctx, s); err != nil {
						return err
					}
				}
				p.coord.Submit()
			}
			return p.maybeFlush(ctx, s)
		}
	}
	if txn.DDL != nil {
		if err := p.flush(ctx, s); err != nil {
			return err
		}
		s.batch.Txns = []change.Txn{txn}
		return p.flush(ctx, s)
	}
	p.add(s, txn)
	return p.maybeFlush(ctx, s)
}

// wantDDL reports whether a DDL names a replicated table or database
// (filtered on the parsed names, not the session's default database).
func (p *pipeline) wantDDL(d *change.DDL) bool {
	f := p.cfg.filter()
	for _, t := range d.Tables {
		if t.Name == "" {
			if f.MatchSchema(t.Schema) {
				return true
			}
			continue
		}
		if f.Match(t) {
			return true
		}
	}
	return len(d.Tables) == 0 && f.MatchSchema(d.Schema)
}

// inCopiedDefinition reports whether a DDL on tables whose definitions
// were copied at a later position (schema.Create) is already in them.
func (p *pipeline) inCopiedDefinition(txn change.Txn) bool {
	if len(txn.DDL.Tables) == 0 {
		return false
	}
	at, err := position.Parse(txn.Pos)
	if err != nil {
		return false
	}
	for _, t := range txn.DDL.Tables {
		s, ok := p.ddlAt[t]
		if !ok {
			return false
		}
		copied, err := position.Parse(s)
		if err != nil || !copied.Contains(at) {
			return false
		}
	}
	p.log.Info("DDL already in the copied definition: not replayed", "pos", txn.Pos, "ddl", txn.DDL.Statement)
	return true
}

func batchHasData(b apply.Batch) bool {
	for _, t := range b.Txns {
		if t.DDL != nil || hasData(t) {
			return true
		}
	}
	return false
}

// hasData reports whether a transaction has rows the applier writes.
func hasData(txn change.Txn) bool {
	for _, r := range txn.Rows {
		if r.Table.Schema != "evac_meta" {
			return true
		}
	}
	return false
}

func (p *pipeline) add(s *loopState, txn change.Txn) {
	if len(s.batch.Txns) == 0 && len(s.batch.Chunks) == 0 {
		s.opened = time.Now()
	}
	s.batch.Txns = append(s.batch.Txns, txn)
}

func (p *pipeline) maybeFlush(ctx context.Context, s *loopState) error {
	if s.batch.Rows() >= p.cfg.BatchRows || time.Since(s.opened) >= p.cfg.BatchTime {
		return p.flush(ctx, s)
	}
	return nil
}

func (p *pipeline) flush(ctx context.Context, s *loopState) error {
	if len(s.batch.Txns) == 0 && len(s.batch.Chunks) == 0 && len(s.batch.Extra) == 0 {
		return nil
	}
	b := s.batch
	s.batch = apply.Batch{}
	if p.coord != nil && batchHasData(b) {
		// chunks committed in parallel must be in before later events
		if err := p.coord.WaitInserts(); err != nil {
			return err
		}
	}
	t0 := time.Now()
	if err := p.ap.Apply(ctx, b); err != nil {
		return err
	}
	if d := time.Since(t0); d > 100*time.Millisecond {
		p.log.Debug("slow batch", "txns", len(b.Txns), "chunks", len(b.Chunks), "rows", b.Rows(), "took", d)
	}
	p.rows.Add(int64(b.Rows()))
	pos, ts := b.Checkpoint()
	p.mu.Lock()
	p.applied, p.appliedTS = pos, ts
	p.mu.Unlock()
	return nil
}

// afterBatch handles the end of the snapshot and the caught-up test.
func (p *pipeline) afterBatch(ctx context.Context, s *loopState) (bool, error) {
	if !s.snapDone && (p.coord == nil || closed(p.coord.Done())) {
		s.snapDone = true
		if p.coord != nil {
			if err := p.flush(ctx, s); err != nil {
				return false, err
			}
			p.log.Info("snapshot complete", "pos", p.appliedPos())
			if p.cfg.Snapshot == SnapshotOnly {
				return true, nil
			}
		}
		p.setPhase("streaming")
		if p.cfg.UntilCaughtUp {
			p.setPhase("catch-up")
			t, err := binlog.CurrentPosition(ctx, p.c.src, p.flavor)
			if err != nil {
				return false, err
			}
			s.target = &t
			p.log.Info("catching up", "until", t.String())
		}
	}
	if s.target == nil {
		return false, nil
	}
	applied, err := position.Parse(p.appliedPos())
	if err != nil {
		return false, err
	}
	if applied.Contains(*s.target) {
		p.log.Info("caught up", "pos", applied.String())
		return true, nil
	}
	return false, nil
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (p *pipeline) appliedPos() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied
}

// Status is one --json status line.
type Status struct {
	Time            time.Time     `json:"time"`
	Phase           string        `json:"phase"`
	AppliedPosition string        `json:"applied_position"`
	LagMS           int64         `json:"lag_ms"`
	RowsApplied     int64         `json:"rows_applied"`
	EventsPerSec    float64       `json:"events_per_s"`
	Snapshot        []TableStatus `json:"snapshot,omitempty"`
}

// TableStatus is one table's snapshot progress.
type TableStatus struct {
	Table    string `json:"table"`
	Rows     int64  `json:"rows_copied"`
	EstRows  int64  `json:"rows_estimated"`
	Chunks   int    `json:"chunks_done"`
	Finished bool   `json:"finished"`
}

func (p *pipeline) snapshotStatus() Status {
	p.mu.Lock()
	st := Status{Time: time.Now().UTC(), Phase: p.phase, AppliedPosition: p.applied}
	if !p.appliedTS.IsZero() {
		st.LagMS = max(0, time.Since(p.appliedTS).Milliseconds())
	}
	p.mu.Unlock()
	st.RowsApplied = p.rows.Load()
	if p.coord != nil {
		for _, t := range p.coord.Progress() {
			st.RowsApplied += t.RowsCopied
			st.Snapshot = append(st.Snapshot, TableStatus{t.Table.String(), t.RowsCopied, t.EstRows, t.ChunksDone, t.Finished})
		}
	}
	return st
}

// status prints a JSON line every StatusEvery (--json) and drives the
// per-table progress bars.
func (p *pipeline) status(ctx context.Context) error {
	var rep *progress.Reporter
	trackers := map[string]*progress.Tracker{}
	seen := map[string]int64{}
	if !p.cfg.JSON && p.cfg.Status != nil && p.coord != nil {
		rep = progress.New(progress.Options{Out: p.cfg.Status, Log: p.log})
		for _, t := range p.coord.Progress() {
			tr := rep.Track(t.Table.String(), "rows", false)
			tr.SetTotal(t.EstRows, 0)
			trackers[t.Table.String()] = tr
		}
		rep.Start()
		defer rep.Stop()
	}
	tick := time.NewTicker(min(time.Second, p.cfg.StatusEvery))
	defer tick.Stop()
	last, lastEvents := time.Now(), int64(0)
	for {
		final := false
		select {
		case <-ctx.Done():
			final = true // one last line with the final state
		case <-tick.C:
		}
		st := p.snapshotStatus()
		for _, t := range st.Snapshot {
			if tr := trackers[t.Table]; tr != nil {
				tr.Add(t.Rows-seen[t.Table], 0)
				seen[t.Table] = t.Rows
				if t.Finished {
					tr.Finish()
				}
			}
		}
		if p.cfg.JSON && p.cfg.Status != nil && (final || time.Since(last) >= p.cfg.StatusEvery) {
			ev := p.events.Load()
			st.EventsPerSec = float64(ev-lastEvents) / max(time.Since(last).Seconds(), 0.001)
			last, lastEvents = time.Now(), ev
			b, _ := json.Marshal(st)
			fmt.Fprintln(p.cfg.Status, string(b))
		}
		if final {
			return nil
		}
	}
}
