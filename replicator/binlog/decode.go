package binlog

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/shopspring/decimal"

	"github.com/evac-dev/evac/replicator/change"
)

// normalize turns one decoded go-mysql value into what change.Row promises:
// nil, int64, uint64, float32, float64 or []byte (a private copy).
func normalize(v any, col *Column) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int8:
		return signed(int64(x), 8, col), nil
	case int16:
		return signed(int64(x), 16, col), nil
	case int32:
		if col != nil && col.DataType == "mediumint" {
			return signed(int64(x), 24, col), nil
		}
		return signed(int64(x), 32, col), nil
	case int64:
		if col != nil && col.DataType == "bit" {
			return uint64(x), nil
		}
		return signed(x, 64, col), nil
	case int:
		return int64(x), nil
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	case float32, float64:
		return x, nil
	case decimal.Decimal:
		return []byte(x.String()), nil
	case string:
		return []byte(strings.Clone(x)), nil
	case []byte:
		return append([]byte{}, x...), nil
	case fmt.Stringer:
		return []byte(x.String()), nil
	}
	return nil, fmt.Errorf("unsupported decoded value %T", v)
}

// signed reinterprets a value decoded as signed when the schema history
// says the column is unsigned (binlog_row_metadata not FULL).
func signed(v int64, bits uint, col *Column) any {
	if col == nil || !col.Unsigned || v >= 0 {
		return v
	}
	if bits == 64 {
		return uint64(v)
	}
	return uint64(v) & (1<<bits - 1)
}

// tableInfo binds a table map event to the schema history version used to
// decode it.
type tableInfo struct {
	id        change.TableID
	columns   []string
	cols      []*Column // per binlog column, nil when unknown
	key       []int
	generated []bool
}

// bind checks the binlog table map against the history version and builds
// the column list. With binlog_row_metadata=FULL the event's own column
// names are used and matched by name; otherwise by position.
func bind(tm *replication.TableMapEvent, t *Table) (*tableInfo, error) {
	id := change.TableID{Schema: string(tm.Schema), Name: string(tm.Table)}
	n := int(tm.ColumnCount)
	names := tm.ColumnNameString()
	if t == nil && len(names) != n {
		return nil, fmt.Errorf("no schema history for %s and the binlog has no column names: set binlog_row_metadata=FULL on the source, or restart from a snapshot", id)
	}
	if len(names) != n {
		if len(t.Columns) != n {
			return nil, fmt.Errorf("schema history for %s has %d columns but the binlog event has %d: the history is stale (DDL not seen); set binlog_row_metadata=FULL on the source and re-snapshot the table", id, len(t.Columns), n)
		}
		names = make([]string, n)
		for i, c := range t.Columns {
			names[i] = c.Name
		}
	}
	info := &tableInfo{id: id, columns: names, cols: make([]*Column, n), generated: make([]bool, n)}
	for i, name := range names {
		if t == nil {
			continue
		}
		if c, ok := t.column(name); ok {
			info.cols[i] = &c
			info.generated[i] = c.Generated
		}
	}
	switch {
	case len(tm.PrimaryKey) > 0:
		for _, k := range tm.PrimaryKey {
			info.key = append(info.key, int(k))
		}
	case t != nil:
		info.key = t.keyIndexes(names)
	}
	return info, nil
}

// rowsOf converts a decoded rows event into change.Rows.
func rowsOf(ev *replication.RowsEvent, et replication.EventType, info *tableInfo) ([]change.Row, error) {
	var op change.Op
	switch et {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2,
		replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		op = change.Insert
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.PARTIAL_UPDATE_ROWS_EVENT, replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1:
		op = change.Update
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2,
		replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		op = change.Delete
	default:
		return nil, fmt.Errorf("unexpected rows event type %s", et)
	}
	step := 1
	if op == change.Update {
		step = 2
	}
	out := make([]change.Row, 0, len(ev.Rows)/step)
	for i := 0; i+step-1 < len(ev.Rows); i += step {
		img, err := image(ev.Rows[i], info)
		if err != nil {
			return nil, err
		}
		r := change.Row{Op: op, Table: info.id, Columns: info.columns, Key: info.key, Generated: info.generated}
		switch op {
		case change.Insert:
			r.After = img
		case change.Delete:
			r.Before = img
		case change.Update:
			r.Before = img
			if r.After, err = image(ev.Rows[i+1], info); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func image(vals []any, info *tableInfo) ([]any, error) {
	if len(vals) != len(info.columns) {
		return nil, fmt.Errorf("%s: row image has %d values for %d columns (binlog_row_image must be FULL)", info.id, len(vals), len(info.columns))
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		n, err := normalize(v, info.cols[i])
		if err != nil {
			return nil, fmt.Errorf("%s column %s: %w", info.id, info.columns[i], err)
		}
		out[i] = n
	}
	return out, nil
}
