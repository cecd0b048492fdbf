package apply

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/internal/redact"
	"github.com/evac-dev/evac/replicator/meta"
)

// Config configures an Applier. Zero values take the defaults.
type Config struct {
	// TargetDSN is the target in go-sql-driver form; evac adds its session
	// parameters (charset=binary, time_zone, sql_mode, clientFoundRows,
	// rejectReadOnly, interpolateParams).
	TargetDSN string
	// StreamID names the stream in evac_meta.checkpoint (default "default").
	StreamID string
	// SourceSQLMode is the source's global sql_mode; the applier session
	// uses it plus NO_AUTO_VALUE_ON_ZERO.
	SourceSQLMode string
	// SourceTimeZone is used to replay DDL whose event carries no time zone
	// or "SYSTEM": the source's @@global.time_zone, with SYSTEM resolved to
	// the zone of the source host (e.g. @@system_time_zone as a named zone
	// or offset). Default "+00:00".
	SourceTimeZone string
	// MaxStmtBytes caps one statement's size (default: target
	// max_allowed_packet minus 64 KiB, at most 16 MiB).
	MaxStmtBytes int
	// Logger (default: discard).
	Logger *slog.Logger
}

// Checkpoint is what evac_meta.checkpoint holds for one stream.
type Checkpoint struct {
	StreamID    string
	Pos         string    // position text (see replicator/position)
	CommitTS    time.Time // source commit time at Pos
	HeartbeatTS time.Time // newest applied source heartbeat
	UpdatedAt   time.Time
	PendingDDL  string // DDL statement recorded but not yet confirmed
	PendingPos  string // position after the pending DDL
}

// Applier applies batches to the target. It is not safe for concurrent use.
type Applier struct {
	db       *sql.DB
	cfg      Config
	log      *slog.Logger
	maxStmt  int
	mariadb  bool // target flavor (sql_mode names differ)
	lastHB   time.Time
	rowsDone int64
}

// New connects to the target with evac's session settings and creates the
// evac_meta tables.
func New(ctx context.Context, cfg Config) (*Applier, error) {
	if cfg.StreamID == "" {
		cfg.StreamID = "default"
	}
	if cfg.SourceTimeZone == "" {
		cfg.SourceTimeZone = "+00:00"
	}
	mariadb, err := targetIsMariaDB(ctx, cfg.TargetDSN)
	if err != nil {
		return nil, err
	}
	cfg.SourceSQLMode = PortableSQLMode(cfg.SourceSQLMode, mariadb)
	dsn, err := SessionDSN(cfg.TargetDSN, cfg.SourceSQLMode)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("target DSN: %w", redact.Error(err))
	}
	a := &Applier{db: db, cfg: cfg, log: cfg.Logger, mariadb: mariadb}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if err := a.init(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return a, nil
}

func (a *Applier) init(ctx context.Context) error {
	if err := meta.EnsureTarget(ctx, a.db); err != nil {
		return err
	}
	var packet int
	if err := a.db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		return fmt.Errorf("read target max_allowed_packet: %w", redact.Error(err))
	}
	a.maxStmt = a.cfg.MaxStmtBytes
	if a.maxStmt <= 0 {
		a.maxStmt = min(packet-64<<10, 16<<20)
	}
	if a.maxStmt < 4096 {
		a.maxStmt = 4096
	}
	return nil
}

// SessionDSN adds evac's target session settings to a go-sql-driver DSN.
func SessionDSN(dsn, sourceSQLMode string) (string, error) {
	c, err := driver.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("target DSN: %w", redact.Error(err))
	}
	mode := addMode(sourceSQLMode, "NO_AUTO_VALUE_ON_ZERO")
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	if err := c.Apply(driver.Charset("binary", "")); err != nil {
		return "", fmt.Errorf("target DSN: %w", err)
	}
	c.Params["time_zone"] = "'+00:00'"
	c.Params["sql_mode"] = "'" + mode + "'"
	c.Params["foreign_key_checks"] = "1"
	c.ClientFoundRows = true
	c.RejectReadOnly = true
	c.InterpolateParams = true
	c.ParseTime = false
	c.MultiStatements = true // UPDATE pipelines; values are always escaped by the driver
	return c.FormatDSN(), nil
}

func addMode(mode, add string) string {
	var parts []string
	for _, p := range strings.Split(mode, ",") {
		if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, add) {
			parts = append(parts, p)
		}
	}
	return strings.Join(append(parts, add), ",")
}

// DB returns the target pool (with evac's session settings).
func (a *Applier) DB() *sql.DB { return a.db }

// MaxStmtBytes is the statement size cap (below the target's
// max_allowed_packet).
func (a *Applier) MaxStmtBytes() int { return a.maxStmt }

// Close releases the target connections.
func (a *Applier) Close() error { return a.db.Close() }

// RowsApplied counts rows written since New.
func (a *Applier) RowsApplied() int64 { return a.rowsDone }

// LoadCheckpoint reads the stream's checkpoint; ok is false when none.
func (a *Applier) LoadCheckpoint(ctx context.Context) (cp Checkpoint, ok bool, err error) {
	return LoadCheckpoint(ctx, a.db, a.cfg.StreamID)
}

// LoadCheckpoint reads a stream's checkpoint from evac_meta.checkpoint on
// db (the verify helper may call it with its own pool).
func LoadCheckpoint(ctx context.Context, db *sql.DB, streamID string) (cp Checkpoint, ok bool, err error) {
	var commit, hb sql.NullString
	var pddl, ppos sql.NullString
	var upd string
	err = db.QueryRowContext(ctx, `SELECT stream_id, position, source_commit_ts, heartbeat_ts,
		pending_ddl, pending_position, updated_at FROM evac_meta.checkpoint WHERE stream_id = ?`, streamID).
		Scan(&cp.StreamID, &cp.Pos, &commit, &hb, &pddl, &ppos, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("read evac_meta.checkpoint for stream %q: %w", streamID, err)
	}
	cp.CommitTS, cp.HeartbeatTS, cp.UpdatedAt = parseTS(commit.String), parseTS(hb.String), parseTS(upd)
	cp.PendingDDL, cp.PendingPos = pddl.String, ppos.String
	return cp, true, nil
}

const tsLayout = "2006-01-02 15:04:05.999999"

func parseTS(s string) time.Time {
	t, _ := time.ParseInLocation(tsLayout, s, time.UTC)
	return t
}

func fmtTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}

// writeCheckpoint upserts the stream's checkpoint row inside tx. The table
// has a single unique key (stream_id), so ODKU is safe here.
func (a *Applier) writeCheckpoint(ctx context.Context, tx *tx, cp Checkpoint) error {
	var pddl, ppos any
	if cp.PendingDDL != "" {
		pddl, ppos = cp.PendingDDL, cp.PendingPos
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO evac_meta.checkpoint
		(stream_id, position, source_commit_ts, heartbeat_ts, pending_ddl, pending_position, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))
		ON DUPLICATE KEY UPDATE position = VALUES(position), source_commit_ts = VALUES(source_commit_ts),
		heartbeat_ts = COALESCE(VALUES(heartbeat_ts), heartbeat_ts), pending_ddl = VALUES(pending_ddl),
		pending_position = VALUES(pending_position), updated_at = VALUES(updated_at)`,
		a.cfg.StreamID, cp.Pos, fmtTS(cp.CommitTS), fmtTS(cp.HeartbeatTS), pddl, ppos)
	if err != nil {
		return fmt.Errorf("write checkpoint %s: %w", cp.Pos, err)
	}
	return nil
}

// targetIsMariaDB connects once without session settings to read VERSION().
func targetIsMariaDB(ctx context.Context, dsn string) (bool, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return false, fmt.Errorf("target DSN: %w", redact.Error(err))
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return false, fmt.Errorf("connect to target: %w", redact.Error(err))
	}
	return strings.Contains(strings.ToLower(v), "mariadb"), nil
}

// notOnMySQL are sql_mode names a MySQL 8 target rejects (MariaDB-only, or
// removed in MySQL 8.0); they are dropped when the target is MySQL. None of
// them changes how plain INSERT/UPDATE/DELETE of row values behave there.
var notOnMySQL = map[string]bool{
	"IGNORE_BAD_TABLE_OPTIONS": true, "EMPTY_STRING_IS_NULL": true, "SIMULTANEOUS_ASSIGNMENT": true,
	"TIME_ROUND_FRACTIONAL": true, "NO_AUTO_CREATE_USER": true, "POSTGRESQL": true, "ORACLE": true,
	"MSSQL": true, "DB2": true, "MAXDB": true, "NO_KEY_OPTIONS": true, "NO_TABLE_OPTIONS": true,
	"NO_FIELD_OPTIONS": true, "MYSQL323": true, "MYSQL40": true,
}

// PortableSQLMode keeps the source's sql_mode names the target accepts.
func PortableSQLMode(mode string, targetMariaDB bool) string {
	if targetMariaDB {
		return mode
	}
	var keep []string
	for _, m := range strings.Split(mode, ",") {
		if m = strings.TrimSpace(m); m != "" && !notOnMySQL[strings.ToUpper(m)] {
			keep = append(keep, m)
		}
	}
	return strings.Join(keep, ",")
}
