// Package snapshot copies tables chunk by chunk while the binlog stream
// runs, pairing every chunk with the stream exactly by a DBLog watermark
// window:
//
//  1. commit a low watermark (LW) row in evac_meta.watermark on the source;
//  2. open a REPEATABLE READ consistent snapshot, read the chunk, commit;
//  3. commit a high watermark (HW) row.
//
// In the stream, between LW and HW, every key of the chunk touched by an
// event is recorded with its last after-image (or as deleted) and the event
// is not applied. At HW the chunk is emitted: the snapshot rows with touched
// keys replaced by their last after-image (or removed), inserted into the
// still-empty target range in the same target transaction as the events up
// to HW, the chunk-done record and the checkpoint. Before its chunk is
// emitted, an event on a key is skipped (the chunk carries its effect);
// afterwards it applies. The snapshot read happens between LW and HW, and
// commits enter the binlog in commit order, so the emitted chunk is exactly
// the range's state at HW.
package snapshot

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/evac-dev/evac/replicator/apply"
	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/chunk"
)

// TableSpec is one table to copy. Tables are copied in the order given,
// which must put referenced (parent) tables before referencing ones.
type TableSpec struct {
	ID change.TableID
	// Parents are tables this one references by foreign key (itself
	// excluded): it starts copying only when they are completely copied.
	Parents []change.TableID
	// CascadeBy are tables whose UPDATE/DELETE change this table through
	// ON DELETE/UPDATE CASCADE or SET NULL (not in the binlog): a write to
	// them during a chunk's window discards the chunk, which is re-read.
	CascadeBy []change.TableID
	// SelfReferencing tables are copied as one chunk (a row may reference
	// a row of a later chunk).
	SelfReferencing bool
}

// Config configures a Coordinator.
type Config struct {
	StreamID    string
	Source      *sql.DB // opened with chunk.SessionDSN (charset=binary, time_zone '+00:00')
	Target      *sql.DB
	Tables      []TableSpec
	Workers     int           // parallel chunk readers (default 4)
	Chunk       chunk.Options // rows per chunk / time target
	MaxInFlight int           // chunks read but not yet emitted (memory bound; default 2*Workers)
	MaxRetries  int           // re-reads of one chunk before giving up (default 50)
	Logger      *slog.Logger

	// Inserter, when set, commits emitted chunks in parallel on these
	// target connections (opened with apply.SessionDSN) instead of
	// returning them in Result; see insert.go for the ordering rules.
	Inserter      *sql.DB
	InsertWorkers int // default 4
	MaxStmtBytes  int // multi-row INSERT size cap (default 4 MiB)
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 2 * c.Workers
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 50
	}
	if c.StreamID == "" {
		c.StreamID = "default"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.InsertWorkers <= 0 {
		c.InsertWorkers = 4
	}
	if c.MaxStmtBytes <= 0 {
		c.MaxStmtBytes = 4 << 20
	}
	return c
}

// Coordinator owns the chunk plan of every table being copied.
type Coordinator struct {
	cfg     Config
	run     string
	mu      sync.Mutex
	tables  map[change.TableID]*tablePlan
	order   []*tablePlan
	tokens  map[string]*planChunk
	nextTok int
	locs    map[*tablePlan]chunk.Locator
	stats   map[change.TableID]*TableProgress
	fb      struct {
		rows, n int
		took    time.Duration
	}

	jobs    chan insertJob // parallel inserts (Config.Inserter)
	insWG   sync.WaitGroup // insert workers
	pending sync.WaitGroup // chunks submitted, not yet committed
	queued  []insertJob    // emitted, waiting for Submit
	insErr  error

	work    chan *planChunk
	retry   chan *planChunk
	slots   chan struct{}
	allDone chan struct{}
	closed  bool
}

// TableProgress is the copy progress of one table.
type TableProgress struct {
	Table      change.TableID
	RowsCopied int64
	ChunksDone int
	EstRows    int64
	Finished   bool
}

// New loads the snapshot state from the target (resume) and prepares the
// plan. Tables already copied are not copied again.
func New(ctx context.Context, cfg Config) (*Coordinator, error) {
	cfg = cfg.withDefaults()
	c := &Coordinator{
		cfg: cfg, run: runID(), tables: map[change.TableID]*tablePlan{},
		tokens: map[string]*planChunk{}, locs: map[*tablePlan]chunk.Locator{},
		stats: map[change.TableID]*TableProgress{},
		work:  make(chan *planChunk), retry: make(chan *planChunk, cfg.MaxInFlight+1),
		slots: make(chan struct{}, cfg.MaxInFlight), allDone: make(chan struct{}),
	}
	for _, spec := range cfg.Tables {
		if err := c.addTable(ctx, spec); err != nil {
			return nil, err
		}
	}
	c.checkAllDone()
	c.startInserters()
	return c, nil
}

func runID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Coordinator) addTable(ctx context.Context, spec TableSpec) error {
	tp, err := loadProgress(ctx, c.cfg.Target, c.cfg.StreamID, spec.ID)
	if err != nil {
		return err
	}
	st := &TableProgress{Table: spec.ID, Finished: tp.finished}
	c.stats[spec.ID] = st
	if tp.finished {
		return nil // every event of a copied table applies
	}
	key, err := chunk.LoadKey(ctx, c.cfg.Source, spec.ID.Schema, spec.ID.Name)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", spec.ID, err)
	}
	p := &tablePlan{id: spec.ID, key: key, singleRun: spec.SelfReferencing, cascadeBy: map[change.TableID]bool{}}
	for _, t := range spec.CascadeBy {
		p.cascadeBy[t] = true
	}
	p.parents = spec.Parents
	gaps := resumePlan(p, tp)
	st.ChunksDone = len(p.chunks)
	if err := c.planGaps(ctx, p, gaps); err != nil {
		return err
	}
	p.rebuild()
	if p.allCommitted() { // every chunk was recorded, the table record was not
		p.finished, st.Finished = true, true
	}
	c.tables[spec.ID] = p
	c.order = append(c.order, p)
	c.locs[p] = chunk.Locator{DB: c.cfg.Source, Key: key}
	_ = c.cfg.Source.QueryRowContext(ctx, "SELECT COALESCE(TABLE_ROWS,0) FROM information_schema.TABLES WHERE TABLE_SCHEMA=? AND TABLE_NAME=?",
		spec.ID.Schema, spec.ID.Name).Scan(&st.EstRows)
	return nil
}

// planGaps re-chunks the gaps a killed run left between done chunks; the
// trailing open gap is chunked lazily by the planner.
func (c *Coordinator) planGaps(ctx context.Context, p *tablePlan, gaps []gap) error {
	for _, g := range gaps {
		if g.hi == nil {
			p.tail = &g
			continue
		}
		ck := chunk.ResumeRange(c.cfg.Source, p.key, c.chunkOptions(p), g.lo, g.hi, 0)
		for {
			ch, err := ck.Next(ctx)
			if errors.Is(err, errEOF) {
				break
			}
			if err != nil {
				return err
			}
			p.chunks = append(p.chunks, &planChunk{ch: ch, ord: fmt.Sprintf("%s%010d", g.prefix, ch.Seq)})
		}
	}
	sort.Slice(p.chunks, func(i, j int) bool { return p.chunks[i].ord < p.chunks[j].ord })
	if len(p.chunks) > 0 && p.chunks[len(p.chunks)-1].ch.Hi == nil {
		p.complete = true
	}
	return nil
}

func (c *Coordinator) chunkOptions(p *tablePlan) chunk.Options {
	o := c.cfg.Chunk
	if p.singleRun {
		o.TargetRows, o.TargetTime = 1<<30, 0
		o.MaxRows = 1 << 30
	}
	return o
}

// Done is closed when every table is completely copied.
func (c *Coordinator) Done() <-chan struct{} { return c.allDone }

// Progress returns per-table copy progress, in copy order.
func (c *Coordinator) Progress() []TableProgress {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TableProgress, 0, len(c.cfg.Tables))
	for _, spec := range c.cfg.Tables {
		out = append(out, *c.stats[spec.ID])
	}
	return out
}

func (c *Coordinator) locator(p *tablePlan) chunk.Locator { return c.locs[p] }

// checkAllDone closes allDone once every table is finished (caller holds mu
// or is the constructor).
func (c *Coordinator) checkAllDone() {
	if c.closed {
		return
	}
	for _, p := range c.order {
		if !p.finished {
			return
		}
	}
	c.closed = true
	close(c.allDone)
}

// Result is what Process makes of one source transaction.
type Result struct {
	Txn    change.Txn        // the transaction with the rows to apply (maybe none); Pos unchanged
	Chunks []apply.ChunkRows // chunks completed at this transaction's high watermark(s)
	Extra  []apply.Stmt      // their chunk-done / table-done records
	Ranges []chunk.Chunk     // the key ranges of Chunks, same order
	// Queued counts chunks emitted for parallel insert (Config.Inserter):
	// the caller commits every earlier event, then calls Submit.
	Queued int
}

// Flush reports whether the batch holding this result must be committed
// right after it (it completes chunks).
func (r Result) Flush() bool { return len(r.Chunks) > 0 || len(r.Extra) > 0 }

// Process routes one source transaction, in stream order.
func (c *Coordinator) Process(ctx context.Context, txn change.Txn) (Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.insErr != nil {
		return Result{}, c.insErr
	}
	if txn.DDL != nil {
		c.invalidateDDL(txn.DDL)
		return Result{Txn: txn}, c.checkKeys(ctx, txn)
	}
	rows, highs, err := c.route(ctx, txn)
	if err != nil {
		return Result{}, err
	}
	txn.Rows = rows
	res := Result{Txn: txn}
	for _, pc := range highs {
		if err := c.complete(pc, txn.Pos, &res); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// invalidateDDL discards the open windows of tables a DDL changes: their
// snapshot rows may have the old shape.
func (c *Coordinator) invalidateDDL(d *change.DDL) {
	for _, id := range d.Tables {
		p := c.tables[id]
		if p == nil {
			continue
		}
		for _, pc := range p.chunks {
			if pc.state == open && pc.win != nil {
				pc.win.invalid = "DDL on " + id.String()
			}
		}
	}
}

// checkKeys refuses a DDL that changed the chunking key of a table being
// copied: its chunk boundaries would no longer mean the same rows.
func (c *Coordinator) checkKeys(ctx context.Context, txn change.Txn) error {
	for _, id := range txn.DDL.Tables {
		p := c.tables[id]
		if p == nil || p.finished || len(p.chunks) == 0 {
			continue
		}
		k, err := chunk.LoadKey(ctx, c.cfg.Source, id.Schema, id.Name)
		if err != nil && !errors.Is(err, chunk.ErrNoKey) {
			continue // dropped or renamed: nothing more will be read from it
		}
		if err != nil || strings.Join(k.Names(), ",") != strings.Join(p.key.Names(), ",") {
			return fmt.Errorf("snapshot %s: its primary/unique key changed during the copy (DDL at %s); evac cannot finish this copy: drop the table on the target, DELETE FROM evac_meta.snapshot_chunk WHERE stream_id='%s' AND db='%s' AND tbl='%s' on the target, and rerun to copy it again",
				id, txn.Pos, c.cfg.StreamID, id.Schema, id.Name)
		}
	}
	return nil
}

// complete emits a chunk at its high watermark, or re-queues it when its
// window was invalidated.
func (c *Coordinator) complete(pc *planChunk, pos string, res *Result) error {
	delete(c.tokens, pc.lowTok)
	delete(c.tokens, pc.highTok)
	keepSlot := false
	defer func() {
		if !keepSlot {
			<-c.slots
		}
	}()
	if !pc.readDone {
		return fmt.Errorf("snapshot %s: high watermark seen before the chunk was read (internal error)", pc.ch)
	}
	if reason := pc.win.invalid; reason != "" {
		c.cfg.Logger.Debug("chunk re-read", "chunk", pc.ch.String(), "reason", reason)
		pc.state, pc.win, pc.rows, pc.rowKeys, pc.readDone = pending, nil, nil, nil, false
		c.retry <- pc
		return nil
	}
	rows, err := pc.win.merge(pc.cols, pc.rows, pc.rowKeys)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", pc.ch, err)
	}
	stmt, err := chunkDoneStmt(c.cfg.StreamID, pc, len(rows), pos)
	if err != nil {
		return err
	}
	p := c.tables[tableOf(pc.ch)]
	pc.state, pc.win, pc.rows, pc.rowKeys = done, nil, nil, nil
	if c.jobs != nil { // parallel: committed by an insert worker (slot freed there) once Submit is called
		keepSlot = true
		c.queued = append(c.queued, insertJob{pc: pc, rows: rows, stmt: stmt})
		res.Queued++
		return nil
	}
	pc.committed = true
	res.Chunks = append(res.Chunks, apply.ChunkRows{Table: p.id, Columns: pc.cols, Rows: rows})
	res.Ranges = append(res.Ranges, pc.ch)
	res.Extra = append(res.Extra, stmt)
	st := c.stats[p.id]
	st.RowsCopied += int64(len(rows))
	st.ChunksDone++
	if p.allDone() {
		p.finished = true
		st.Finished = true
		res.Extra = append(res.Extra, tableDoneStmt(c.cfg.StreamID, p.id, st.RowsCopied))
		c.cfg.Logger.Info("table copied", "table", p.id.String(), "rows", st.RowsCopied, "pos", pos)
		c.checkAllDone()
	}
	return nil
}
