package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// Column is one column of a table version.
type Column struct {
	Name       string `json:"name"`
	DataType   string `json:"data_type"`   // information_schema DATA_TYPE, lower case
	ColumnType string `json:"column_type"` // e.g. "int(10) unsigned"
	Unsigned   bool   `json:"unsigned,omitempty"`
	Generated  bool   `json:"generated,omitempty"`
	Invisible  bool   `json:"invisible,omitempty"`
	Charset    string `json:"charset,omitempty"`
}

// Table is one version of a table's definition, as current at a position.
type Table struct {
	ID      change.TableID `json:"id"`
	Columns []Column       `json:"columns"`
	Key     []string       `json:"key"` // primary key, else the first non-null unique key
}

// keyIndexes maps the key's column names to indexes in cols.
func (t *Table) keyIndexes(cols []string) []int {
	var idx []int
	for _, k := range t.Key {
		for i, c := range cols {
			if strings.EqualFold(c, k) {
				idx = append(idx, i)
				break
			}
		}
	}
	if len(idx) != len(t.Key) {
		return nil
	}
	return idx
}

func (t *Table) column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Column{}, false
}

// LoadTable reads a table's current definition from information_schema.
// It returns (nil, nil) when the table does not exist.
func LoadTable(ctx context.Context, db *sql.DB, id change.TableID) (*Table, error) {
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE, EXTRA,
		COALESCE(CHARACTER_SET_NAME, ''), GENERATION_EXPRESSION
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
		id.Schema, id.Name)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", id, err)
	}
	defer rows.Close()
	t := &Table{ID: id}
	for rows.Next() {
		var c Column
		var extra string
		var genExpr sql.NullString
		if err := rows.Scan(&c.Name, &c.DataType, &c.ColumnType, &extra, &c.Charset, &genExpr); err != nil {
			return nil, fmt.Errorf("read columns of %s: %w", id, err)
		}
		ex := strings.ToUpper(extra)
		c.Unsigned = strings.Contains(strings.ToLower(c.ColumnType), "unsigned")
		c.Generated = strings.Contains(ex, "GENERATED") || strings.Contains(ex, "VIRTUAL") ||
			strings.Contains(ex, "STORED") || strings.Contains(ex, "PERSISTENT")
		c.Invisible = strings.Contains(ex, "INVISIBLE")
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", id, err)
	}
	if len(t.Columns) == 0 {
		return nil, nil
	}
	key, err := loadKey(ctx, db, id)
	if err != nil {
		return nil, err
	}
	t.Key = key
	return t, nil
}

// loadKey returns the primary key's columns, else those of the first unique
// key whose columns are all NOT NULL.
func loadKey(ctx context.Context, db *sql.DB, id change.TableID) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE
		FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c
		  ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
		WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0
		ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX`, id.Schema, id.Name)
	if err != nil {
		return nil, fmt.Errorf("read keys of %s: %w", id, err)
	}
	defer rows.Close()
	type key struct {
		cols     []string
		nullable bool
	}
	var order []string
	keys := map[string]*key{}
	for rows.Next() {
		var name, col, nullable string
		if err := rows.Scan(&name, &col, &nullable); err != nil {
			return nil, fmt.Errorf("read keys of %s: %w", id, err)
		}
		k := keys[name]
		if k == nil {
			k = &key{}
			keys[name] = k
			order = append(order, name)
		}
		k.cols = append(k.cols, col)
		k.nullable = k.nullable || nullable == "YES"
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read keys of %s: %w", id, err)
	}
	for _, name := range order {
		if !keys[name].nullable {
			return keys[name].cols, nil
		}
	}
	return nil, nil
}

// ListTables lists base tables of the given schemas (all user schemas when
// none are given), skipping the system schemas.
func ListTables(ctx context.Context, db *sql.DB, schemas []string) ([]change.TableID, error) {
	q := `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'
		AND TABLE_SCHEMA NOT IN ('mysql','information_schema','performance_schema','sys')`
	var args []any
	if len(schemas) > 0 {
		q += ` AND TABLE_SCHEMA IN (?` + strings.Repeat(",?", len(schemas)-1) + `)`
		for _, s := range schemas {
			args = append(args, s)
		}
	}
	rows, err := db.QueryContext(ctx, q+` ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var out []change.TableID
	for rows.Next() {
		var t change.TableID
		if err := rows.Scan(&t.Schema, &t.Name); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
