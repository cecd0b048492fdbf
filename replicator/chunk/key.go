// Package chunk splits a table into contiguous key ranges [lo, hi) in the
// server's own key order. The snapshot copier and the verifier both use it.
//
// Usage:
//
//	key, err := chunk.LoadKey(ctx, db, "shop", "orders") // PRIMARY or first NOT NULL unique key
//	c := chunk.New(db, key, chunk.Options{TargetRows: 1000})
//	for {
//		ch, err := c.Next(ctx) // io.EOF after the last chunk
//		...
//		where, args := ch.Where()  // "(...)" condition for the rows of ch, server-evaluated
//		c.Feedback(rows, took)     // optional: adapts the size to Options.TargetTime
//	}
//
// The first chunk is open below (Lo == nil) and the last open above
// (Hi == nil), so rows inserted outside the initial MIN/MAX are never lost.
// Boundaries are computed by the server (ORDER BY key LIMIT 1 OFFSET n) and
// every comparison is evaluated by the server with the column's own
// collation and signedness. db must be opened with charset=binary and
// time_zone='+00:00' (see SessionDSN) so values round-trip exactly.
// Key column types that are not implemented are refused by LoadKey.
package chunk

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Kind is how a key column's values are compared and bound.
type Kind uint8

const (
	KindInt      Kind = iota + 1 // signed integer: int64
	KindUint                     // unsigned integer: uint64
	KindBinary                   // BINARY/VARBINARY: []byte, byte order
	KindString                   // CHAR/VARCHAR: []byte in the column charset, compared by the server's collation
	KindDecimal                  // DECIMAL: exact text
	KindTemporal                 // DATE/DATETIME/TIMESTAMP: text
)

// Column is one key column.
type Column struct {
	Name      string
	DataType  string // information_schema DATA_TYPE, lower case
	Kind      Kind
	Charset   string // KindString only
	Collation string // KindString only
	Length    int64  // octet length for BINARY(n) padding
	Precision int64  // DECIMAL
	Scale     int64  // DECIMAL, fractional digits for temporal
}

// Key is a table's chunking key: its primary key or first unique key whose
// columns are all NOT NULL.
type Key struct {
	Schema, Table string
	Index         string // "PRIMARY" or the unique index name
	Columns       []Column
}

// QualifiedTable returns `schema`.`table`.
func (k Key) QualifiedTable() string { return QuoteIdent(k.Schema) + "." + QuoteIdent(k.Table) }

// Names returns the key column names.
func (k Key) Names() []string {
	out := make([]string, len(k.Columns))
	for i, c := range k.Columns {
		out[i] = c.Name
	}
	return out
}

// GoComparable reports whether Compare can order this key's values in Go
// exactly (integer and binary columns only); other keys need a Locator.
func (k Key) GoComparable() bool {
	for _, c := range k.Columns {
		if c.Kind != KindInt && c.Kind != KindUint && c.Kind != KindBinary {
			return false
		}
	}
	return true
}

// QuoteIdent quotes a MySQL identifier.
func QuoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// ErrNoKey is returned (wrapped) by LoadKey for a table without a usable key.
var ErrNoKey = fmt.Errorf("no primary key or NOT NULL unique key")

// LoadKey reads the chunking key of schema.table from information_schema.
func LoadKey(ctx context.Context, db *sql.DB, schema, table string) (Key, error) {
	idx, cols, err := pickIndex(ctx, db, schema, table)
	if err != nil {
		return Key{}, err
	}
	k := Key{Schema: schema, Table: table, Index: idx}
	for _, name := range cols {
		c, err := loadColumn(ctx, db, schema, table, name)
		if err != nil {
			return Key{}, err
		}
		k.Columns = append(k.Columns, c)
	}
	return k, nil
}

// pickIndex returns PRIMARY, else the first unique index (by name) whose
// columns are all NOT NULL and not prefixes.
func pickIndex(ctx context.Context, db *sql.DB, schema, table string) (string, []string, error) {
	rows, err := db.QueryContext(ctx, `SELECT INDEX_NAME, COLUMN_NAME, NULLABLE, SUB_PART IS NOT NULL
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA=? AND TABLE_NAME=? AND NON_UNIQUE=0
		ORDER BY INDEX_NAME='PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, schema, table)
	if err != nil {
		return "", nil, fmt.Errorf("read keys of %s.%s: %w", schema, table, err)
	}
	defer rows.Close()
	type ix struct {
		cols []string
		ok   bool
	}
	var order []string
	all := map[string]*ix{}
	for rows.Next() {
		var name, col, nullable string
		var prefix bool
		if err := rows.Scan(&name, &col, &nullable, &prefix); err != nil {
			return "", nil, err
		}
		x := all[name]
		if x == nil {
			x = &ix{ok: true}
			all[name] = x
			order = append(order, name)
		}
		x.cols = append(x.cols, col)
		if nullable == "YES" || prefix {
			x.ok = false
		}
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	for _, name := range order {
		if all[name].ok {
			return name, all[name].cols, nil
		}
	}
	return "", nil, fmt.Errorf("table %s.%s: %w", schema, table, ErrNoKey)
}

func loadColumn(ctx context.Context, db *sql.DB, schema, table, name string) (Column, error) {
	c := Column{Name: name}
	var colType string
	var cs, coll sql.NullString
	var octets, prec, scale, dtprec sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), CHARACTER_SET_NAME, COLLATION_NAME,
		CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=? AND TABLE_NAME=? AND COLUMN_NAME=?`,
		schema, table, name).Scan(&c.DataType, &colType, &cs, &coll, &octets, &prec, &scale, &dtprec)
	if err != nil {
		return c, fmt.Errorf("read key column %s.%s.%s: %w", schema, table, name, err)
	}
	c.Charset, c.Collation, c.Length = cs.String, coll.String, octets.Int64
	c.Precision, c.Scale = prec.Int64, scale.Int64
	if dtprec.Valid {
		c.Scale = dtprec.Int64
	}
	kind, err := KindOf(c.DataType, strings.Contains(colType, "unsigned"))
	if err != nil {
		return c, fmt.Errorf("table %s.%s key column %s: %w", schema, table, name, err)
	}
	c.Kind = kind
	return c, nil
}

// KindOf maps a DATA_TYPE to a Kind, refusing types whose order evac does
// not implement (ENUM/SET order by index but compare as text; floats are
// inexact; and so on).
func KindOf(dataType string, unsigned bool) (Kind, error) {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		if unsigned {
			return KindUint, nil
		}
		return KindInt, nil
	case "binary", "varbinary":
		return KindBinary, nil
	case "char", "varchar":
		return KindString, nil
	case "decimal", "numeric":
		return KindDecimal, nil
	case "date", "datetime", "timestamp":
		return KindTemporal, nil
	}
	return 0, fmt.Errorf("key type %s is not supported for chunking (supported: integers, DECIMAL, CHAR/VARCHAR, BINARY/VARBINARY, DATE/DATETIME/TIMESTAMP); add an integer primary key or exclude the table", strings.ToUpper(dataType))
}
