// Package replicator runs `evac replicate`: preflight, schema copy, an
// exact chunked snapshot paired with the binlog stream, and the apply loop
// that writes source transactions to the target with the checkpoint in the
// same target transaction.
package replicator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/internal/redact"
	"github.com/evac-dev/evac/replicator/apply"
	"github.com/evac-dev/evac/replicator/binlog"
	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/chunk"
	"github.com/evac-dev/evac/replicator/preflight"
	"github.com/evac-dev/evac/replicator/schema"
	"github.com/evac-dev/evac/replicator/snapshot"
)

// Snapshot modes.
const (
	SnapshotAuto  = "auto"  // copy tables not yet copied, then stream
	SnapshotNever = "never" // stream only (the target already holds the data)
	SnapshotOnly  = "only"  // copy, then exit
)

// Config is everything `evac replicate` needs; engines never read flags.
type Config struct {
	SourceDSN, TargetDSN string
	Databases            []string // empty: every non-system database
	Tables               []string // "db.t"; when set, only these
	ExcludeTables        []string // "db.t"

	Snapshot        string        // auto | never | only
	SnapshotWorkers int           // parallel chunk readers
	ChunkRows       int           // initial rows per chunk
	ChunkTime       time.Duration // chunk size adapts to this read time (0: fixed ChunkRows)
	// ChunkMaxRows caps the adapted chunk size (0: the chunker's default).
	// Inserting a chunk on the target takes several times longer than
	// reading it, so chunks far larger than this leave the insert workers
	// idle at the end of each table.
	ChunkMaxRows  int
	UntilCaughtUp bool // exit 0 once the target has what the source had when catch-up began
	NoHeartbeat   bool // read-only source: no heartbeat writes

	HeartbeatInterval time.Duration
	ServerID          uint32 // binlog client server_id (0: derived)
	StreamID          string
	BatchRows         int           // rows per target transaction (cap)
	BatchTime         time.Duration // how long a batch may stay open

	JSON        bool          // --json: status lines on Status
	Status      io.Writer     // where status lines go (JSON) and progress bars
	StatusEvery time.Duration // between status lines
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Snapshot: SnapshotAuto, SnapshotWorkers: 4, ChunkRows: 1000, ChunkTime: 500 * time.Millisecond, ChunkMaxRows: 20000,
		HeartbeatInterval: 250 * time.Millisecond, StreamID: "default", BatchRows: 5000,
		BatchTime: 200 * time.Millisecond, StatusEvery: 5 * time.Second,
	}
}

// Validate checks the config, naming the field and the fix.
func (c Config) Validate() error {
	var errs []string
	if c.SourceDSN == "" {
		errs = append(errs, "source DSN is empty: pass --source user:pass@tcp(host:3306)/")
	} else if _, err := driver.ParseDSN(c.SourceDSN); err != nil {
		errs = append(errs, "source DSN: "+redact.Error(err).Error())
	}
	if c.TargetDSN == "" {
		errs = append(errs, "target DSN is empty: pass --target user:pass@tcp(host:3306)/")
	} else if _, err := driver.ParseDSN(c.TargetDSN); err != nil {
		errs = append(errs, "target DSN: "+redact.Error(err).Error())
	}
	switch c.Snapshot {
	case SnapshotAuto, SnapshotNever, SnapshotOnly:
	default:
		errs = append(errs, fmt.Sprintf("snapshot mode %q: use auto, never or only", c.Snapshot))
	}
	if c.SnapshotWorkers < 1 || c.SnapshotWorkers > 64 {
		errs = append(errs, fmt.Sprintf("snapshot workers %d: use 1 to 64", c.SnapshotWorkers))
	}
	if c.ChunkRows < 1 {
		errs = append(errs, fmt.Sprintf("chunk rows %d: must be at least 1", c.ChunkRows))
	}
	if c.BatchRows < 1 || c.BatchTime <= 0 || c.StatusEvery <= 0 || c.HeartbeatInterval <= 0 {
		errs = append(errs, "batch rows, batch time, status interval and heartbeat interval must be positive")
	}
	for _, t := range append(append([]string{}, c.Tables...), c.ExcludeTables...) {
		if s, n, ok := strings.Cut(t, "."); !ok || s == "" || n == "" {
			errs = append(errs, fmt.Sprintf("table %q: write it as database.table", t))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func (c Config) filter() schema.Filter {
	return schema.Filter{Databases: c.Databases, Tables: c.Tables, Exclude: c.ExcludeTables}
}

// conns are the pools Run uses.
type conns struct {
	src, srcData, tgt *sql.DB
}

func (c *conns) close() {
	for _, db := range []*sql.DB{c.src, c.srcData, c.tgt} {
		if db != nil {
			_ = db.Close()
		}
	}
}

// reach pings one side so that an unreachable server or a wrong password
// is reported as such, with the fix, before anything else is tried.
func reach(ctx context.Context, db *sql.DB, side, dsn string) error {
	err := db.PingContext(ctx)
	if err == nil {
		return nil
	}
	addr := "?"
	if d, perr := driver.ParseDSN(dsn); perr == nil {
		addr = d.User + "@" + d.Addr
	}
	return fmt.Errorf("cannot reach the %s MySQL/MariaDB server %s: %w; check the DSN (host, port, user, password), that the server is up and that this host may connect",
		side, addr, redact.Error(err))
}

func open(cfg Config) (*conns, error) {
	var c conns
	var err error
	meta := func(dsn string) (string, error) {
		d, err := driver.ParseDSN(dsn)
		if err != nil {
			return "", err
		}
		if err := d.Apply(driver.Charset("utf8mb4", "")); err != nil {
			return "", err
		}
		d.ParseTime = false
		d.Params = mergeParams(d.Params, map[string]string{"time_zone": "'+00:00'"})
		return d.FormatDSN(), nil
	}
	steps := []struct {
		dst  **sql.DB
		dsn  string
		mode func(string) (string, error)
	}{{&c.src, cfg.SourceDSN, meta}, {&c.srcData, cfg.SourceDSN, chunk.SessionDSN}, {&c.tgt, cfg.TargetDSN, meta}}
	for _, s := range steps {
		dsn, e := s.mode(s.dsn)
		if e == nil {
			*s.dst, e = sql.Open("mysql", dsn)
		}
		if e != nil {
			err = fmt.Errorf("DSN: %w", redact.Error(e))
			break
		}
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return &c, nil
}

func mergeParams(a, b map[string]string) map[string]string {
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

// Run replicates until caught up (UntilCaughtUp), until the snapshot is
// done (Snapshot only), or until ctx is canceled (SIGTERM/SIGINT: the
// pending batch is applied with its checkpoint, then Run returns nil).
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := open(cfg)
	if err != nil {
		return err
	}
	defer c.close()
	if err := reach(ctx, c.src, "source", cfg.SourceDSN); err != nil {
		return err
	}
	if err := reach(ctx, c.tgt, "target", cfg.TargetDSN); err != nil {
		return err
	}
	tables, err := schema.List(ctx, c.src, cfg.filter())
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return errors.New("no table selected on the source: check --databases/--tables/--exclude-tables")
	}
	cp, resumed, err := loadCheckpoint(ctx, c.tgt, cfg.StreamID)
	if err != nil {
		return err
	}
	if err := runPreflight(ctx, cfg, c, tables, cp, resumed, log); err != nil {
		return err
	}
	fks, err := schema.LoadForeignKeys(ctx, c.src, tables)
	if err != nil {
		return err
	}
	ordered, _ := schema.Order(tables, fks)
	p := &pipeline{cfg: cfg, c: c, log: log, tables: ordered, fks: fks}
	if p.flavor, err = binlog.DetectFlavor(ctx, c.src); err != nil {
		return err
	}
	// The start position is taken before the schema is read: every DDL
	// after it is in the stream (replayed, or skipped when the copied
	// definition already has it, see ddlAt).
	if !resumed {
		// StartPosition: a position between an XA PREPARE and its COMMIT
		// would make the stream stop at that COMMIT (its rows unseen).
		if p.start, err = binlog.StartPosition(ctx, c.src, p.flavor, 30*time.Second); err != nil {
			return err
		}
	}
	if cfg.Snapshot != SnapshotNever {
		pos := func(ctx context.Context) (string, error) {
			at, err := binlog.CurrentPosition(ctx, c.src, p.flavor)
			return at.String(), err
		}
		if p.ddlAt, err = schema.Create(ctx, c.src, c.tgt, ordered, resumed, pos, log); err != nil {
			return err
		}
		if err := snapshot.EnsureTargetTables(ctx, c.tgt); err != nil {
			return err
		}
	}
	return p.run(ctx, cp, resumed)
}

func loadCheckpoint(ctx context.Context, db *sql.DB, stream string) (apply.Checkpoint, bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='evac_meta' AND TABLE_NAME='checkpoint'").Scan(&n)
	if err != nil {
		return apply.Checkpoint{}, false, fmt.Errorf("target: %w", redact.Error(err))
	}
	if n == 0 {
		return apply.Checkpoint{}, false, nil
	}
	return apply.LoadCheckpoint(ctx, db, stream)
}

func runPreflight(ctx context.Context, cfg Config, c *conns, tables []change.TableID, cp apply.Checkpoint, resumed bool, log *slog.Logger) error {
	res, err := preflight.Run(ctx, preflight.Options{
		Source: c.src, Target: c.tgt, Tables: tables, Snapshot: cfg.Snapshot != SnapshotNever,
		NoHeartbeat: cfg.NoHeartbeat, ResumePos: cp.Pos,
	})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		log.Warn("preflight: "+w.Message, "check", w.Check)
	}
	for _, n := range res.Notes {
		log.Info("preflight: "+n.Message, "check", n.Check)
	}
	_ = resumed
	return res.Err()
}

// specs builds the snapshot's table list from the foreign keys.
func specs(tables []change.TableID, fks []schema.ForeignKey) []snapshot.TableSpec {
	out := make([]snapshot.TableSpec, 0, len(tables))
	for _, t := range tables {
		s := snapshot.TableSpec{ID: t}
		for _, fk := range fks {
			if fk.Table != t {
				continue
			}
			if fk.Ref == t {
				s.SelfReferencing = true
			} else {
				s.Parents = append(s.Parents, fk.Ref)
			}
			if fk.Cascades() {
				s.CascadeBy = append(s.CascadeBy, fk.Ref)
			}
		}
		out = append(out, s)
	}
	return out
}
