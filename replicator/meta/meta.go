// Package meta defines the evac_meta tables the stream, applier and
// heartbeat own (columns documented in docs/REPLICATION.md), and creates
// them. The snapshot coordinator's tables (watermark, chunks) are its own.
package meta

import (
	"context"
	"database/sql"
	"fmt"
)

// Schema is evac's metadata schema, on both servers.
const Schema = "evac_meta"

// Target tables.
const (
	// CheckpointDDL: one row per stream, written in the same target
	// transaction as the rows it covers.
	CheckpointDDL = `CREATE TABLE IF NOT EXISTS evac_meta.checkpoint (
  stream_id VARCHAR(64) NOT NULL,
  position TEXT NOT NULL,
  source_commit_ts DATETIME(6) NULL,
  heartbeat_ts DATETIME(6) NULL,
  pending_ddl LONGTEXT NULL,
  pending_position TEXT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (stream_id)
) ENGINE=InnoDB`

	// SchemaHistoryDDL: every table definition the stream decoded with,
	// keyed by the position from which it was current.
	SchemaHistoryDDL = `CREATE TABLE IF NOT EXISTS evac_meta.schema_history (
  stream_id VARCHAR(64) NOT NULL,
  seq BIGINT NOT NULL,
  pos TEXT NOT NULL,
  table_schema VARCHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  definition LONGTEXT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (stream_id, seq)
) ENGINE=InnoDB`
)

// XAPendingDDL: rows of XA transactions prepared but not yet committed on
// the source (gob-encoded []change.Row), written with the checkpoint.
const XAPendingDDL = `CREATE TABLE IF NOT EXISTS evac_meta.xa_pending (
  stream_id VARCHAR(64) NOT NULL,
  xid VARCHAR(400) NOT NULL,
  pos TEXT NOT NULL,
  rows_gob LONGBLOB NOT NULL,
  PRIMARY KEY (stream_id, xid)
) ENGINE=InnoDB`

// DDLPendingDDL: the target's definitions of the tables a pending DDL
// names, taken just before running it; on resume they tell whether the DDL
// already ran (definitions changed) or not (unchanged).
const DDLPendingDDL = `CREATE TABLE IF NOT EXISTS evac_meta.ddl_pending (
  stream_id VARCHAR(64) NOT NULL,
  pos TEXT NOT NULL,
  schema_before LONGTEXT NOT NULL,
  PRIMARY KEY (stream_id)
) ENGINE=InnoDB`

// Source tables.
const (
	// HeartbeatDDL: one row (id=1) updated with NOW(6) every 250 ms, in a
	// session with time_zone='+00:00' (so the value is UTC).
	HeartbeatDDL = `CREATE TABLE IF NOT EXISTS evac_meta.heartbeat (
  id TINYINT UNSIGNED NOT NULL,
  ts DATETIME(6) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB`
)

// EnsureTarget creates evac_meta and the target tables.
func EnsureTarget(ctx context.Context, db *sql.DB) error {
	return ensure(ctx, db, "target", CheckpointDDL, SchemaHistoryDDL, XAPendingDDL, DDLPendingDDL)
}

// EnsureSource creates evac_meta and the heartbeat table on the source.
func EnsureSource(ctx context.Context, db *sql.DB) error {
	return ensure(ctx, db, "source", HeartbeatDDL)
}

func ensure(ctx context.Context, db *sql.DB, side string, ddls ...string) error {
	stmts := append([]string{"CREATE DATABASE IF NOT EXISTS evac_meta"}, ddls...)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create evac_meta tables on the %s (grant CREATE on evac_meta.* to evac's user): %w", side, err)
		}
	}
	return nil
}
