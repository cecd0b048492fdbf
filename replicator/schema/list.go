package schema

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// Filter selects tables: Databases (empty: every non-system database),
// Tables ("db.t", when set only these), Exclude ("db.t").
type Filter struct {
	Databases []string
	Tables    []string
	Exclude   []string
}

var systemSchemas = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true, "evac_meta": true}

// Match reports whether the filter selects t.
func (f Filter) Match(t change.TableID) bool {
	if systemSchemas[strings.ToLower(t.Schema)] {
		return false
	}
	for _, x := range f.Exclude {
		if x == t.String() {
			return false
		}
	}
	if len(f.Tables) > 0 {
		for _, x := range f.Tables {
			if x == t.String() {
				return true
			}
		}
		return false
	}
	if len(f.Databases) == 0 {
		return true
	}
	for _, d := range f.Databases {
		if d == t.Schema {
			return true
		}
	}
	return false
}

// MatchSchema reports whether the filter can select tables of schema.
func (f Filter) MatchSchema(schema string) bool {
	if systemSchemas[strings.ToLower(schema)] {
		return false
	}
	if len(f.Tables) > 0 {
		for _, x := range f.Tables {
			if strings.HasPrefix(x, schema+".") {
				return true
			}
		}
		return false
	}
	if len(f.Databases) == 0 {
		return true
	}
	for _, d := range f.Databases {
		if d == schema {
			return true
		}
	}
	return false
}

// List returns the source's base tables the filter selects, sorted. Named
// tables (Filter.Tables) that do not exist are an error.
func List(ctx context.Context, db *sql.DB, f Filter) ([]change.TableID, error) {
	rows, err := db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE='BASE TABLE'")
	if err != nil {
		return nil, fmt.Errorf("source: list tables: %w", err)
	}
	defer rows.Close()
	var out []change.TableID
	seen := map[string]bool{}
	for rows.Next() {
		var t change.TableID
		if err := rows.Scan(&t.Schema, &t.Name); err != nil {
			return nil, err
		}
		if f.Match(t) {
			out = append(out, t)
			seen[t.String()] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, x := range f.Tables {
		if !seen[x] {
			return nil, fmt.Errorf("table %s (from --tables) does not exist on the source", x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}
