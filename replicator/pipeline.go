package replicator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/evac-dev/evac/internal/redact"

	"github.com/evac-dev/evac/replicator/apply"
	"github.com/evac-dev/evac/replicator/binlog"
	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/chunk"
	"github.com/evac-dev/evac/replicator/heartbeat"
	"github.com/evac-dev/evac/replicator/meta"
	"github.com/evac-dev/evac/replicator/position"
	"github.com/evac-dev/evac/replicator/schema"
	"github.com/evac-dev/evac/replicator/snapshot"
)

// pipeline is one run: stream -> snapshot coordinator -> applier.
type pipeline struct {
	cfg    Config
	c      *conns
	log    *slog.Logger
	tables []change.TableID
	fks    []schema.ForeignKey

	ap     *apply.Applier
	coord  *snapshot.Coordinator
	flavor string
	start  position.Position         // fresh start: taken before the schema copy
	ddlAt  map[change.TableID]string // definition copied at this position: skip older DDL

	mu        sync.Mutex
	applied   string    // checkpoint position of the last applied batch
	appliedTS time.Time // its source commit time
	phase     string
	events    atomic.Int64
	rows      atomic.Int64 // rows applied (status goroutine reads it)
}

func (p *pipeline) setPhase(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != s {
		p.log.Info("phase", "phase", s)
	}
	p.phase = s
}

func (p *pipeline) run(ctx context.Context, cp apply.Checkpoint, resumed bool) error {
	var err error
	var mode string
	if err := p.c.src.QueryRowContext(ctx, "SELECT @@GLOBAL.sql_mode").Scan(&mode); err != nil {
		return fmt.Errorf("source: read sql_mode: %w", err)
	}
	tz, err := sourceTimeZone(ctx, p.c.src, p.c.tgt)
	if err != nil {
		return err
	}
	p.ap, err = apply.New(ctx, apply.Config{TargetDSN: p.cfg.TargetDSN, StreamID: p.cfg.StreamID, SourceSQLMode: mode,
		SourceTimeZone: tz, Logger: p.log})
	if err != nil {
		return err
	}
	defer p.ap.Close()
	start, err := p.startPosition(ctx, cp, resumed)
	if err != nil {
		return err
	}
	p.applied = start.String()
	if p.cfg.Snapshot != SnapshotNever {
		dsn, err := apply.SessionDSN(p.cfg.TargetDSN, mode)
		if err != nil {
			return err
		}
		ins, err := sql.Open("mysql", dsn)
		if err != nil {
			return fmt.Errorf("target DSN: %w", redact.Error(err))
		}
		defer ins.Close()
		p.coord, err = snapshot.New(ctx, snapshot.Config{
			StreamID: p.cfg.StreamID, Source: p.c.srcData, Target: p.c.tgt, Tables: specs(p.tables, p.fks),
			Workers: p.cfg.SnapshotWorkers, Chunk: chunk.Options{TargetRows: p.cfg.ChunkRows, TargetTime: p.cfg.ChunkTime, MaxRows: p.cfg.ChunkMaxRows},
			Logger: p.log, Inserter: ins, InsertWorkers: p.cfg.SnapshotWorkers,
			MaxStmtBytes: min(p.ap.MaxStmtBytes(), 8<<20), // below the target's max_allowed_packet
		})
		if err != nil {
			return err
		}
		defer p.coord.Close()
	}
	if !p.cfg.NoHeartbeat {
		if err := meta.EnsureSource(ctx, p.c.src); err != nil {
			return err
		}
	}
	return p.stream(ctx, start)
}

// startPosition is the checkpoint on resume; on a fresh start, the
// source's current position, taken before the first watermark and
// recorded at once as the checkpoint.
func (p *pipeline) startPosition(ctx context.Context, cp apply.Checkpoint, resumed bool) (position.Position, error) {
	if resumed {
		p.log.Info("resuming", "pos", cp.Pos)
		return position.Parse(cp.Pos)
	}
	start := p.start
	if err := p.ap.Apply(ctx, apply.Batch{Pos: start.String()}); err != nil {
		return start, err
	}
	p.log.Info("starting", "pos", start.String())
	return start, nil
}

func (p *pipeline) stream(ctx context.Context, start position.Position) error {
	serverID := p.cfg.ServerID
	if serverID == 0 {
		serverID = 1_000_000 + uint32(rand.IntN(1_000_000_000))
	}
	f := p.cfg.filter()
	st, err := binlog.Open(ctx, binlog.Config{
		SourceDSN: p.cfg.SourceDSN, ServerID: serverID, Flavor: p.flavor, Start: start,
		Include: f.Match, IncludeSchema: f.MatchSchema, History: binlog.NewHistory(p.cfg.StreamID, p.ap.DB()), Logger: p.log,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(lctx)
	txns := make(chan change.Txn, 1024)
	g.Go(func() error { return quiet(ctx, p.read(gctx, st, txns)) })
	if p.coord != nil {
		g.Go(func() error { return quiet(ctx, p.coord.RunReaders(gctx)) })
	}
	if !p.cfg.NoHeartbeat {
		hb := &heartbeat.Writer{DB: p.c.src, Period: p.cfg.HeartbeatInterval, Logger: p.log}
		g.Go(func() error { return quiet(ctx, hb.Run(gctx)) })
	}
	g.Go(func() error { return quiet(ctx, p.status(gctx)) })
	g.Go(func() error {
		err := p.loop(gctx, txns)
		stop() // finished (caught up, snapshot only) or failed: stop the rest
		return err
	})
	return g.Wait()
}

// quiet turns the cancellation of a stopping run into nil.
func quiet(parent context.Context, err error) error {
	if err != nil && (errors.Is(err, context.Canceled) || parent.Err() != nil) {
		return nil
	}
	return err
}

func (p *pipeline) read(ctx context.Context, st *binlog.Stream, out chan<- change.Txn) error {
	for {
		txn, err := st.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case out <- txn:
		case <-ctx.Done():
			return nil
		}
	}
}
