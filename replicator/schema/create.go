package schema

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// Create makes every table of tables (already in foreign-key order, see
// Order) on the target, with its database, from the source's definitions.
// A table that already exists on the target is left as it is when empty
// or when resuming (resume true); on a fresh start a non-empty target table
// is refused, so a snapshot never lands on top of unknown rows. Both
// connections should use a utf8mb4 session (not charset=binary) so default
// values in the DDL keep their characters.
func Create(ctx context.Context, src, tgt *sql.DB, tables []change.TableID, resume bool, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	made := map[string]bool{}
	for _, t := range tables {
		if !made[t.Schema] {
			if err := createDatabase(ctx, src, tgt, t.Schema); err != nil {
				return err
			}
			made[t.Schema] = true
		}
		exists, rows, err := targetTable(ctx, tgt, t)
		if err != nil {
			return err
		}
		if exists {
			if rows && !resume {
				return fmt.Errorf("target table %s already has rows and evac has no record of copying it: drop or empty it on the target (evac copies into empty tables), or exclude it", t)
			}
			continue
		}
		if err := createTable(ctx, src, tgt, t); err != nil {
			return err
		}
		log.Info("created table on target", "table", t.String())
	}
	return nil
}

func createDatabase(ctx context.Context, src, tgt *sql.DB, schema string) error {
	var cs, coll string
	err := src.QueryRowContext(ctx, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=?", schema).Scan(&cs, &coll)
	if err != nil {
		return fmt.Errorf("source: read database %s: %w", schema, err)
	}
	q := fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s CHARACTER SET %s COLLATE %s", quote(schema), cs, coll)
	if _, err := tgt.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("target: create database %s (grant CREATE on it): %w", schema, err)
	}
	return nil
}

func targetTable(ctx context.Context, tgt *sql.DB, t change.TableID) (exists, hasRows bool, err error) {
	var n int
	err = tgt.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=? AND TABLE_NAME=?", t.Schema, t.Name).Scan(&n)
	if err != nil || n == 0 {
		return false, false, wrapT(err, t)
	}
	var one int
	err = tgt.QueryRowContext(ctx, fmt.Sprintf("SELECT 1 FROM %s.%s LIMIT 1", quote(t.Schema), quote(t.Name))).Scan(&one)
	if err == sql.ErrNoRows {
		return true, false, nil
	}
	return true, err == nil, wrapT(err, t)
}

func wrapT(err error, t change.TableID) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("target: inspect table %s: %w", t, err)
}

// createTable runs the source's SHOW CREATE TABLE on the target, in the
// table's database (so unqualified REFERENCES resolve the same way).
func createTable(ctx context.Context, src, tgt *sql.DB, t change.TableID) error {
	var name, ddl string
	q := fmt.Sprintf("SHOW CREATE TABLE %s.%s", quote(t.Schema), quote(t.Name))
	if err := src.QueryRowContext(ctx, q).Scan(&name, &ddl); err != nil {
		return fmt.Errorf("source: %s: %w", q, err)
	}
	conn, err := tgt.Conn(ctx)
	if err != nil {
		return fmt.Errorf("target: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE "+quote(t.Schema)); err != nil {
		return fmt.Errorf("target: use %s: %w", t.Schema, err)
	}
	if _, err := conn.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("target: create table %s: %w (statement: %s)", t, err, firstLine(ddl))
	}
	return nil
}

func quote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i] + " …"
	}
	return s
}
