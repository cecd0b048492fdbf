package binlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/meta"
	"github.com/evac-dev/evac/replicator/position"
)

// version is a table definition that became current at Pos (nil Table: the
// table was dropped at Pos).
type version struct {
	Seq   int64
	Pos   string
	Table *Table
}

// History is the schema history: every table definition the stream has
// used, keyed by the position from which it is current. Events are decoded
// with the version current at their position, never with today's schema.
// It is persisted in evac_meta.schema_history on the target (when a store
// DB is given) so a resumed stream decodes old events with old definitions.
type History struct {
	mu       sync.Mutex
	streamID string
	db       *sql.DB // target, may be nil (memory only)
	seq      int64
	current  map[change.TableID]*Table
}

// NewHistory returns a history for streamID, persisted in db (may be nil).
func NewHistory(streamID string, db *sql.DB) *History {
	return &History{streamID: streamID, db: db, current: map[change.TableID]*Table{}}
}

// Load reads the persisted history and makes current, for every table, the
// newest version whose position is contained in start (that is, at or
// before it). It returns the number of tables known.
func (h *History) Load(ctx context.Context, start position.Position) (int, error) {
	if h.db == nil {
		return 0, nil
	}
	if err := meta.EnsureTarget(ctx, h.db); err != nil {
		return 0, err
	}
	rows, err := h.db.QueryContext(ctx, `SELECT seq, pos, table_schema, table_name, definition
		FROM evac_meta.schema_history WHERE stream_id = ? ORDER BY seq`, h.streamID)
	if err != nil {
		return 0, fmt.Errorf("read evac_meta.schema_history: %w", err)
	}
	defer rows.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for rows.Next() {
		var v version
		var id change.TableID
		var def sql.NullString
		if err := rows.Scan(&v.Seq, &v.Pos, &id.Schema, &id.Name, &def); err != nil {
			return 0, fmt.Errorf("read evac_meta.schema_history: %w", err)
		}
		h.seq = max(h.seq, v.Seq)
		p, err := position.Parse(v.Pos)
		if err != nil || !start.Contains(p) {
			continue // recorded after the resume point: will be re-derived
		}
		if def.Valid {
			v.Table = new(Table)
			if err := json.Unmarshal([]byte(def.String), v.Table); err != nil {
				return 0, fmt.Errorf("schema history %s seq %d: %w", id, v.Seq, err)
			}
		}
		h.current[id] = v.Table
	}
	return len(h.current), rows.Err()
}

// Get returns the current definition of a table (nil when unknown).
func (h *History) Get(id change.TableID) (*Table, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.current[id]
	return t, ok
}

// Set records t as current for id from pos (t nil: dropped) and persists it.
func (h *History) Set(ctx context.Context, id change.TableID, pos string, t *Table) error {
	h.mu.Lock()
	h.current[id] = t
	h.seq++
	seq := h.seq
	h.mu.Unlock()
	if h.db == nil {
		return nil
	}
	var def any
	if t != nil {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		def = b
	}
	_, err := h.db.ExecContext(ctx, `INSERT INTO evac_meta.schema_history
		(stream_id, seq, pos, table_schema, table_name, definition) VALUES (?, ?, ?, ?, ?, ?)`,
		h.streamID, seq, pos, id.Schema, id.Name, def)
	if err != nil {
		return fmt.Errorf("record schema of %s at %s: %w", id, pos, err)
	}
	return nil
}

// LoadXA reads the rows of XA transactions prepared before the resume
// point and not yet committed (persisted by the applier with the
// checkpoint), keyed by xid.
func (h *History) LoadXA(ctx context.Context) (map[string][]change.Row, error) {
	out := map[string][]change.Row{}
	if h.db == nil {
		return out, nil
	}
	rows, err := h.db.QueryContext(ctx, "SELECT xid, rows_gob FROM evac_meta.xa_pending WHERE stream_id = ?", h.streamID)
	if err != nil {
		return nil, fmt.Errorf("read evac_meta.xa_pending: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var xid string
		var data []byte
		if err := rows.Scan(&xid, &data); err != nil {
			return nil, fmt.Errorf("read evac_meta.xa_pending: %w", err)
		}
		rs, err := change.DecodeRows(data)
		if err != nil {
			return nil, fmt.Errorf("evac_meta.xa_pending %s: %w", xid, err)
		}
		out[xid] = rs
	}
	return out, rows.Err()
}
