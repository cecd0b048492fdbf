package schema

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// PositionFunc returns the source's current binlog position as text.
type PositionFunc func(context.Context) (string, error)

// Create makes every table of tables (already in foreign-key order, see
// Order) on the target, with its database, from the source's definitions.
//
// On a fresh start (resume false) each definition is read while holding a
// shared metadata lock on the source table (an open transaction that
// touched it), and the source position is read under the same lock: every
// DDL on the table committed before that position is in the definition,
// every later one waits for the lock and comes after it in the binlog. The
// returned map gives that position per table: the stream must not replay a
// DDL on the table at or before it. An existing target table evac has no
// record of is re-created when empty (it may be stale) and refused when it
// has rows, so a snapshot never lands on unknown rows.
//
// When resuming, existing tables are kept (their DDL history is in the
// stream after the checkpoint) and missing ones created.
//
// Both connections should use a utf8mb4 session (not charset=binary) so
// default values in the DDL keep their characters.
func Create(ctx context.Context, src, tgt *sql.DB, tables []change.TableID, resume bool, pos PositionFunc, log *slog.Logger) (map[change.TableID]string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	made := map[string]bool{}
	at := map[change.TableID]string{}
	for _, t := range tables {
		if !made[t.Schema] {
			if err := createDatabase(ctx, src, tgt, t.Schema); err != nil {
				return nil, err
			}
			made[t.Schema] = true
		}
		exists, rows, err := targetTable(ctx, tgt, t)
		if err != nil {
			return nil, err
		}
		if exists && resume {
			continue
		}
		if rows {
			return nil, fmt.Errorf("target table %s already has rows and evac has no record of copying it: drop or empty it on the target (evac copies into empty tables), or exclude it", t)
		}
		ddl, p, err := definitionAt(ctx, src, t, pos)
		if err != nil {
			return nil, err
		}
		if err := createTable(ctx, tgt, t, ddl, exists); err != nil {
			return nil, err
		}
		at[t] = p
		log.Info("created table on target", "table", t.String(), "pos", p)
	}
	return at, nil
}

// definitionAt reads SHOW CREATE TABLE and the source position while a
// shared metadata lock on the table keeps DDL out.
func definitionAt(ctx context.Context, src *sql.DB, t change.TableID, pos PositionFunc) (string, string, error) {
	conn, err := src.Conn(ctx)
	if err != nil {
		return "", "", fmt.Errorf("source: connect: %w", err)
	}
	defer conn.Close()
	qt := quote(t.Schema) + "." + quote(t.Name)
	for _, q := range []string{"SET SESSION lock_wait_timeout = 30", "BEGIN", "SELECT 1 FROM " + qt + " WHERE 1=0"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return "", "", fmt.Errorf("source: lock the definition of %s (%s; a long ALTER TABLE may hold it: retry when it is done): %w", t, q, err)
		}
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") }()
	var name, ddl string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+qt).Scan(&name, &ddl); err != nil {
		return "", "", fmt.Errorf("source: SHOW CREATE TABLE %s: %w", t, err)
	}
	p := ""
	if pos != nil {
		if p, err = pos(ctx); err != nil {
			return "", "", err
		}
	}
	return ddl, p, nil
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

// createTable runs a source definition on the target, in the table's
// database (so unqualified REFERENCES resolve the same way).
func createTable(ctx context.Context, tgt *sql.DB, t change.TableID, ddl string, replace bool) error {
	conn, err := tgt.Conn(ctx)
	if err != nil {
		return fmt.Errorf("target: connect: %w", err)
	}
	defer conn.Close()
	if replace { // an empty leftover of an earlier run: its definition may be stale
		q := fmt.Sprintf("DROP TABLE %s.%s", quote(t.Schema), quote(t.Name))
		for _, s := range []string{"SET SESSION foreign_key_checks = 0", q, "SET SESSION foreign_key_checks = 1"} {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("target: re-create empty table %s: %w", t, err)
			}
		}
	}
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
