// Package schema creates the replicated databases and tables on the target
// from the source's own definitions (SHOW CREATE TABLE: columns, charset,
// collation, indexes, foreign keys, AUTO_INCREMENT), referenced tables
// before referencing ones. Triggers are not created (they would fire a
// second time for rows the binlog already carries); views and routines are
// left for cutover.
package schema

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// ForeignKey is one foreign key between selected tables.
type ForeignKey struct {
	Name     string
	Table    change.TableID // the referencing (child) table
	Ref      change.TableID // the referenced (parent) table
	OnDelete string         // CASCADE, SET NULL, RESTRICT, NO ACTION, SET DEFAULT
	OnUpdate string
}

// Cascades reports whether a change to the parent changes the child (such
// changes are not in the binlog).
func (f ForeignKey) Cascades() bool {
	return isAction(f.OnDelete) || isAction(f.OnUpdate)
}

func isAction(rule string) bool {
	switch strings.ToUpper(rule) {
	case "CASCADE", "SET NULL", "SET DEFAULT":
		return true
	}
	return false
}

// LoadForeignKeys reads the foreign keys declared by tables.
func LoadForeignKeys(ctx context.Context, db *sql.DB, tables []change.TableID) ([]ForeignKey, error) {
	want := map[change.TableID]bool{}
	schemas := map[string]bool{}
	for _, t := range tables {
		want[t] = true
		schemas[t.Schema] = true
	}
	var out []ForeignKey
	for s := range schemas {
		rows, err := db.QueryContext(ctx, `SELECT CONSTRAINT_NAME, TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME, DELETE_RULE, UPDATE_RULE
			FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA=? ORDER BY TABLE_NAME, CONSTRAINT_NAME`, s)
		if err != nil {
			return nil, fmt.Errorf("source: read foreign keys of %s: %w", s, err)
		}
		for rows.Next() {
			fk := ForeignKey{Table: change.TableID{Schema: s}}
			if err := rows.Scan(&fk.Name, &fk.Table.Name, &fk.Ref.Schema, &fk.Ref.Name, &fk.OnDelete, &fk.OnUpdate); err != nil {
				rows.Close()
				return nil, err
			}
			if want[fk.Table] {
				out = append(out, fk)
			}
		}
		rows.Close()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table.String() < out[j].Table.String()
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Order sorts tables so that referenced tables come before referencing
// ones (self-references ignored), keeping the given order otherwise. Tables
// in foreign-key cycles are returned in cycles (and appended at the end of
// ordered).
func Order(tables []change.TableID, fks []ForeignKey) (ordered []change.TableID, cycles [][]change.TableID) {
	deps := map[change.TableID]map[change.TableID]bool{}
	in := map[change.TableID]bool{}
	for _, t := range tables {
		in[t] = true
		deps[t] = map[change.TableID]bool{}
	}
	for _, fk := range fks {
		if fk.Table != fk.Ref && in[fk.Table] && in[fk.Ref] {
			deps[fk.Table][fk.Ref] = true
		}
	}
	placed := map[change.TableID]bool{}
	for len(ordered) < len(tables) {
		progress := false
		for _, t := range tables {
			if placed[t] || !allPlaced(deps[t], placed) {
				continue
			}
			placed[t], progress = true, true
			ordered = append(ordered, t)
		}
		if !progress {
			break
		}
	}
	var rest []change.TableID
	for _, t := range tables {
		if !placed[t] {
			rest = append(rest, t)
		}
	}
	if len(rest) > 0 {
		cycles = append(cycles, rest)
		ordered = append(ordered, rest...)
	}
	return ordered, cycles
}

func allPlaced(deps, placed map[change.TableID]bool) bool {
	for d := range deps {
		if !placed[d] {
			return false
		}
	}
	return true
}

// CycleCore narrows tables (the unordered rest returned by Order) to those
// on a foreign-key cycle, dropping tables that only depend on one, and
// returns the foreign keys between them (self-references excluded): the
// keys that close the cycle.
func CycleCore(tables []change.TableID, fks []ForeignKey) ([]change.TableID, []ForeignKey) {
	in := map[change.TableID]bool{}
	for _, t := range tables {
		in[t] = true
	}
	for changed := true; changed; {
		changed = false
		referenced := map[change.TableID]bool{}
		for _, fk := range fks {
			if fk.Table != fk.Ref && in[fk.Table] && in[fk.Ref] {
				referenced[fk.Ref] = true
			}
		}
		for t := range in {
			if !referenced[t] {
				delete(in, t)
				changed = true
			}
		}
	}
	var core []change.TableID
	for _, t := range tables {
		if in[t] {
			core = append(core, t)
		}
	}
	var keys []ForeignKey
	for _, fk := range fks {
		if fk.Table != fk.Ref && in[fk.Table] && in[fk.Ref] {
			keys = append(keys, fk)
		}
	}
	return core, keys
}
