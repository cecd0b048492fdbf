package binlog

import (
	"fmt"
	"slices"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
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
	padTo     []int // BINARY(n): the binlog drops trailing 0x00 bytes; pad back to n
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
			if !typeFits(tm.ColumnType[i], c.DataType) {
				return nil, fmt.Errorf("schema history for %s does not match the binlog (column %d %s is %s in the history, binlog type %d): the history is stale (DDL not seen); set binlog_row_metadata=FULL on the source and re-snapshot the table", id, i+1, c.Name, c.DataType, tm.ColumnType[i])
			}
			names[i] = c.Name
		}
	}
	info := &tableInfo{id: id, columns: names, cols: make([]*Column, n), generated: make([]bool, n), padTo: make([]int, n)}
	collations := tm.CollationMap()
	for i, name := range names {
		if t == nil {
			continue
		}
		if c, ok := t.column(name); ok {
			info.cols[i] = &c
			info.generated[i] = c.Generated
		}
	}
	for i := range names {
		binary := collations[i] == 63 || (info.cols[i] != nil && info.cols[i].DataType == "binary")
		if l, ok := fixedStringLen(tm, i); ok && binary {
			info.padTo[i] = l
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

// rowsFlagNoFKChecks is the rows event flag for a session with
// foreign_key_checks=0 (NO_FOREIGN_KEY_CHECKS_F).
const rowsFlagNoFKChecks = 0x0002

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
		r := change.Row{Op: op, Table: info.id, Columns: info.columns, Key: info.key, Generated: info.generated,
			NoFKChecks: ev.Flags&rowsFlagNoFKChecks != 0}
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
		if b, ok := n.([]byte); ok && len(b) < info.padTo[i] {
			n = append(b, make([]byte, info.padTo[i]-len(b))...)
		}
		out[i] = n
	}
	return out, nil
}

// fixedStringLen returns the declared byte length of a CHAR/BINARY column
// (binlog type STRING whose real type is STRING, not ENUM/SET).
func fixedStringLen(tm *replication.TableMapEvent, i int) (int, bool) {
	if i >= len(tm.ColumnType) || tm.ColumnType[i] != gomysql.MYSQL_TYPE_STRING || i >= len(tm.ColumnMeta) {
		return 0, false
	}
	meta := tm.ColumnMeta[i]
	if meta < 256 {
		return int(meta), true
	}
	b0, b1 := byte(meta>>8), byte(meta&0xff)
	if b0&0x30 != 0x30 { // long CHAR: length bits folded into the type byte
		return int(uint16(b1) | uint16((b0&0x30)^0x30)<<4), b0|0x30 == gomysql.MYSQL_TYPE_STRING
	}
	return int(b1), b0 == gomysql.MYSQL_TYPE_STRING
}

// typeFits reports whether a binlog column type can hold a column of the
// given information_schema DATA_TYPE (a cheap guard against decoding an
// old event with a reordered or changed history version).
func typeFits(bt byte, dataType string) bool {
	var ok []string
	switch bt {
	case gomysql.MYSQL_TYPE_TINY:
		ok = []string{"tinyint"}
	case gomysql.MYSQL_TYPE_SHORT:
		ok = []string{"smallint"}
	case gomysql.MYSQL_TYPE_INT24:
		ok = []string{"mediumint"}
	case gomysql.MYSQL_TYPE_LONG:
		ok = []string{"int"}
	case gomysql.MYSQL_TYPE_LONGLONG:
		ok = []string{"bigint"}
	case gomysql.MYSQL_TYPE_NEWDECIMAL, gomysql.MYSQL_TYPE_DECIMAL:
		ok = []string{"decimal"}
	case gomysql.MYSQL_TYPE_FLOAT:
		ok = []string{"float"}
	case gomysql.MYSQL_TYPE_DOUBLE:
		ok = []string{"double"}
	case gomysql.MYSQL_TYPE_BIT:
		ok = []string{"bit"}
	case gomysql.MYSQL_TYPE_TIMESTAMP, gomysql.MYSQL_TYPE_TIMESTAMP2:
		ok = []string{"timestamp"}
	case gomysql.MYSQL_TYPE_DATETIME, gomysql.MYSQL_TYPE_DATETIME2:
		ok = []string{"datetime"}
	case gomysql.MYSQL_TYPE_DATE, gomysql.MYSQL_TYPE_NEWDATE:
		ok = []string{"date"}
	case gomysql.MYSQL_TYPE_TIME, gomysql.MYSQL_TYPE_TIME2:
		ok = []string{"time"}
	case gomysql.MYSQL_TYPE_YEAR:
		ok = []string{"year"}
	default:
		return true // strings, blobs, enum/set, json, geometry: too many spellings to check here
	}
	return slices.Contains(ok, dataType)
}
