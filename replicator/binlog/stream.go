// Package binlog reads a MySQL or MariaDB binlog and delivers whole source
// transactions, in commit order, decoded with the schema that was current
// at each event's position.
package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	driver "github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/internal/redact"
	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/position"
)

// MetaSchema is evac's own schema; of it, only the watermark and heartbeat
// tables' rows are delivered (the applier never writes them as data).
const MetaSchema = "evac_meta"

// ErrPurged marks a start position the source no longer has.
var ErrPurged = errors.New("binlog position purged")

// Config configures a Stream.
type Config struct {
	// SourceDSN is the source in go-sql-driver form (user:pw@tcp(host:port)/).
	SourceDSN string
	// ServerID is this replica's server id (must be unique on the source;
	// 0 picks a random one above 1,000,000).
	ServerID uint32
	// Flavor is "mariadb" or "mysql"; detected from VERSION() when empty.
	Flavor string
	// Start is the position to stream from (exclusive: the first Txn
	// delivered is the one after it). Zero: the source's current position.
	Start position.Position
	// Include selects tables whose rows are decoded and delivered; nil
	// selects all. evac_meta.watermark and evac_meta.heartbeat are always
	// delivered; the mysql schema never is.
	Include func(change.TableID) bool
	// IncludeSchema selects database-level DDL (CREATE/ALTER/DROP
	// DATABASE); nil asks Include with an empty table name.
	IncludeSchema func(schema string) bool
	// History is the schema history; nil creates an in-memory one seeded
	// from the source's information_schema.
	History *History
	// Logger receives stream events (default: discard).
	Logger *slog.Logger
}

// Stream delivers source transactions. Not safe for concurrent use.
type Stream struct {
	cfg      Config
	db       *sql.DB
	syncer   *replication.BinlogSyncer
	streamer *replication.BinlogStreamer
	hist     *History
	kind     position.Kind
	pos      position.Position // after the last delivered Txn
	file     string            // current binlog file (file/pos tracking)
	txn      *pending
	xa       map[string]*pending // prepared XA groups by xid
	tables   map[uint64]*tableInfo
	mysqlFl  bool
	log      *slog.Logger
}

// pending is a transaction being assembled.
type pending struct {
	gtid       string
	standalone bool
	xaPrepared bool
	begun      bool // a BEGIN query opened the group
	exactTS    bool // ts is the microsecond commit time (MySQL 8)
	xid        xid
	rows       []change.Row
	ddl        *change.DDL
	bytes      int64
	ts         time.Time
}

// Open connects to the source and starts streaming from cfg.Start.
func Open(ctx context.Context, cfg Config) (*Stream, error) {
	dc, err := driver.ParseDSN(cfg.SourceDSN)
	if err != nil {
		return nil, fmt.Errorf("source DSN: %w", redact.Error(err))
	}
	redact.Register(dc.Passwd)
	db, err := sql.Open("mysql", cfg.SourceDSN)
	if err != nil {
		return nil, fmt.Errorf("source DSN: %w", redact.Error(err))
	}
	if cfg.ServerID == 0 {
		cfg.ServerID = 1_000_000 + rand.Uint32N(1<<30) // must differ from every server and replica
	}
	s := &Stream{cfg: cfg, db: db, xa: map[string]*pending{}, tables: map[uint64]*tableInfo{}, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.start(ctx, dc); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stream) start(ctx context.Context, dc *driver.Config) error {
	if s.cfg.Flavor == "" {
		fl, err := DetectFlavor(ctx, s.db)
		if err != nil {
			return err
		}
		s.cfg.Flavor = fl
	}
	s.mysqlFl = s.cfg.Flavor == gomysql.MySQLFlavor
	start := s.cfg.Start
	if start.Kind == position.None {
		p, err := StartPosition(ctx, s.db, s.cfg.Flavor, 30*time.Second)
		if err != nil {
			return err
		}
		start = p
	}
	s.pos, s.kind = start.Clone(), start.Kind
	if err := s.seedHistory(ctx, start); err != nil {
		return err
	}
	host, port, err := splitHostPort(dc.Addr)
	if err != nil {
		return err
	}
	s.syncer = replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: s.cfg.ServerID, Flavor: s.cfg.Flavor, Host: host, Port: port,
		User: dc.User, Password: dc.Passwd, Charset: "binary",
		ParseTime: false, TimestampStringLocation: time.UTC, UseDecimal: true,
		UseFloatWithTrailingZero: false, RenderJSONAsMySQLText: true,
		HeartbeatPeriod: 5 * time.Second, ReadTimeout: 30 * time.Second,
		MaxReconnectAttempts: 10, Logger: libraryLogger(s.log), RowsEventDecodeFunc: s.decodeRows,
	})
	if start.Kind == position.FilePos {
		s.file = start.File
		s.streamer, err = s.syncer.StartSync(gomysql.Position{Name: start.File, Pos: uint32(start.Offset)})
	} else {
		s.streamer, err = s.syncer.StartSyncGTID(start.GTID.Clone())
	}
	if err != nil {
		return fmt.Errorf("start binlog stream at %s: %w", start, redact.Error(err))
	}
	return nil
}

func (s *Stream) seedHistory(ctx context.Context, start position.Position) error {
	s.hist = s.cfg.History
	if s.hist == nil {
		s.hist = NewHistory("default", nil)
	}
	if _, err := s.hist.Load(ctx, start); err != nil {
		return err
	}
	held, err := s.hist.LoadXA(ctx)
	if err != nil {
		return err
	}
	for k, rows := range held {
		s.xa[k] = &pending{rows: rows}
	}
	ids, err := ListTables(ctx, s.db, nil)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, known := s.hist.Get(id); known || !s.wanted(id) {
			continue
		}
		t, err := LoadTable(ctx, s.db, id)
		if err != nil {
			return err
		}
		if err := s.hist.Set(ctx, id, start.String(), t); err != nil {
			return err
		}
	}
	return nil
}

// Position returns the position after the last delivered transaction.
func (s *Stream) Position() position.Position { return s.pos.Clone() }

// Flavor returns the source flavor ("mariadb" or "mysql").
func (s *Stream) Flavor() string { return s.cfg.Flavor }

// Close stops the stream and releases its connections.
func (s *Stream) Close() {
	if s.syncer != nil {
		s.syncer.Close()
	}
	if s.db != nil {
		_ = s.db.Close()
	}
}

// wanted reports whether a table's rows are decoded and delivered.
func (s *Stream) wanted(id change.TableID) bool {
	switch id.Schema {
	case "mysql", "information_schema", "performance_schema", "sys":
		return false
	case MetaSchema:
		return id.Name == "watermark" || id.Name == "heartbeat"
	}
	if id.Name == "" && s.cfg.IncludeSchema != nil { // database-level DDL
		return s.cfg.IncludeSchema(id.Schema)
	}
	return s.cfg.Include == nil || s.cfg.Include(id)
}

// decodeRows decodes only rows of wanted tables (the rest stay undecoded).
func (s *Stream) decodeRows(e *replication.RowsEvent, data []byte) error {
	pos, err := e.DecodeHeader(data)
	if err != nil {
		return err
	}
	if e.Table == nil || !s.wanted(change.TableID{Schema: string(e.Table.Schema), Name: string(e.Table.Table)}) {
		e.Rows = nil
		return nil
	}
	return e.DecodeData(pos, data)
}

// Next returns the next committed transaction. A filtered-out transaction
// is still returned (with no rows) so the checkpoint advances.
func (s *Stream) Next(ctx context.Context) (change.Txn, error) {
	for {
		ev, err := s.streamer.GetEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return change.Txn{}, ctx.Err()
			}
			var me *gomysql.MyError
			if errors.As(err, &me) && me.Code == gomysql.ER_MASTER_FATAL_ERROR_READING_BINLOG {
				return change.Txn{}, fmt.Errorf("source cannot serve its binlog from %s (%s): the position was purged or never existed; "+
					"re-snapshot (evac replicate --snapshot auto) and keep binlogs longer (binlog_expire_logs_seconds / expire_logs_days): %w",
					s.pos, me.Message, ErrPurged)
			}
			return change.Txn{}, fmt.Errorf("read binlog after %s: %w", s.pos, redact.Error(err))
		}
		txn, done, err := s.handle(ctx, ev)
		if err != nil {
			return change.Txn{}, err
		}
		if done {
			return txn, nil
		}
	}
}

// DetectFlavor returns "mariadb" or "mysql" from the server version.
func DetectFlavor(ctx context.Context, db *sql.DB) (string, error) {
	var v string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return "", fmt.Errorf("read source version: %w", err)
	}
	if strings.Contains(strings.ToLower(v), "mariadb") {
		return gomysql.MariaDBFlavor, nil
	}
	return gomysql.MySQLFlavor, nil
}

// CurrentPosition returns the source's current binlog position: the GTID
// state (MariaDB gtid_binlog_pos, MySQL gtid_executed when gtid_mode=ON),
// else the current file/offset.
func CurrentPosition(ctx context.Context, db *sql.DB, flavor string) (position.Position, error) {
	var g sql.NullString
	if flavor == gomysql.MariaDBFlavor {
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&g); err != nil {
			return position.Position{}, fmt.Errorf("read gtid_binlog_pos: %w", err)
		}
		return position.ParseKind(position.MariaDBGTID, g.String)
	}
	var mode sql.NullString
	_ = db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_mode").Scan(&mode)
	if mode.String == "ON" {
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&g); err != nil {
			return position.Position{}, fmt.Errorf("read gtid_executed: %w", err)
		}
		return position.ParseKind(position.MySQLGTID, g.String)
	}
	return filePosition(ctx, db)
}

func filePosition(ctx context.Context, db *sql.DB) (position.Position, error) {
	rows, err := db.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		return position.Position{}, fmt.Errorf("SHOW MASTER STATUS: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return position.Position{}, errors.New("SHOW MASTER STATUS returned nothing: enable log_bin on the source")
	}
	vals := make([]any, len(cols))
	var file string
	var off uint64
	vals[0], vals[1] = &file, &off
	for i := 2; i < len(vals); i++ {
		vals[i] = new(sql.RawBytes)
	}
	if err := rows.Scan(vals...); err != nil {
		return position.Position{}, fmt.Errorf("SHOW MASTER STATUS: %w", err)
	}
	return position.NewFilePos(file, off), nil
}

func splitHostPort(addr string) (string, uint16, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("source address %q: %w", addr, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("source port %q: %w", p, err)
	}
	return h, uint16(n), nil
}
