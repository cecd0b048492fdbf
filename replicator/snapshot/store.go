package snapshot

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/evac-dev/evac/replicator/apply"
	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/chunk"
	"github.com/evac-dev/evac/replicator/position"
)

// Target-side bookkeeping: a chunk is recorded done in the same target
// transaction as its rows (apply.Batch.Extra), so a killed snapshot resumes
// at the next chunk and never copies a chunk twice.
var targetDDL = []string{
	"CREATE DATABASE IF NOT EXISTS `evac_meta`",
	"CREATE TABLE IF NOT EXISTS `evac_meta`.`snapshot_chunk` (" +
		"`stream_id` VARCHAR(64) NOT NULL, `db` VARCHAR(64) NOT NULL, `tbl` VARCHAR(64) NOT NULL," +
		"`ord` VARBINARY(255) NOT NULL, `lo` LONGTEXT NULL, `hi` LONGTEXT NULL," +
		"`rows_copied` BIGINT NOT NULL, `pos` VARCHAR(4096) NOT NULL, `done_at` DATETIME(6) NOT NULL," +
		"PRIMARY KEY (`stream_id`, `db`, `tbl`, `ord`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	"CREATE TABLE IF NOT EXISTS `evac_meta`.`snapshot_table` (" +
		"`stream_id` VARCHAR(64) NOT NULL, `db` VARCHAR(64) NOT NULL, `tbl` VARCHAR(64) NOT NULL," +
		"`rows_copied` BIGINT NOT NULL, `done_at` DATETIME(6) NOT NULL," +
		"PRIMARY KEY (`stream_id`, `db`, `tbl`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
}

// sourceDDL creates the watermark table on the source.
var sourceDDL = []string{
	"CREATE DATABASE IF NOT EXISTS `evac_meta`",
	"CREATE TABLE IF NOT EXISTS `evac_meta`.`watermark` (" +
		"`slot` VARCHAR(128) NOT NULL PRIMARY KEY, `token` VARCHAR(255) NOT NULL, `updated_at` DATETIME(6) NOT NULL" +
		") ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin",
}

// EnsureTargetTables creates evac_meta's snapshot tables on the target.
func EnsureTargetTables(ctx context.Context, db *sql.DB) error {
	for _, q := range targetDDL {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("target: create snapshot bookkeeping (%s): %w", q[:40], err)
		}
	}
	return nil
}

// EnsureSourceTables creates evac_meta.watermark on the source.
func EnsureSourceTables(ctx context.Context, db *sql.DB) error {
	for _, q := range sourceDDL {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("source: create evac_meta.watermark (grant INSERT, UPDATE, CREATE on evac_meta.* to the source user): %w", err)
		}
	}
	return nil
}

// doneChunk is one chunk recorded done on the target.
type doneChunk struct {
	ord    string
	lo, hi []any
	pos    string // high-watermark position the chunk was emitted at
}

// tableProgress is what the target says about one table's snapshot.
type tableProgress struct {
	finished bool
	chunks   []doneChunk // sorted by ord (= key order)
}

// loadProgress reads the snapshot bookkeeping of one table.
func loadProgress(ctx context.Context, db *sql.DB, stream string, id change.TableID) (tableProgress, error) {
	var tp tableProgress
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `evac_meta`.`snapshot_table` WHERE stream_id=? AND db=? AND tbl=?",
		stream, id.Schema, id.Name).Scan(&n)
	if err != nil {
		return tp, fmt.Errorf("target: read snapshot state of %s: %w", id, err)
	}
	if tp.finished = n > 0; tp.finished {
		return tp, nil
	}
	rows, err := db.QueryContext(ctx, "SELECT ord, lo, hi, pos FROM `evac_meta`.`snapshot_chunk` WHERE stream_id=? AND db=? AND tbl=? ORDER BY ord",
		stream, id.Schema, id.Name)
	if err != nil {
		return tp, fmt.Errorf("target: read snapshot chunks of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ord, pos string
		var lo, hi []byte
		if err := rows.Scan(&ord, &lo, &hi, &pos); err != nil {
			return tp, err
		}
		d := doneChunk{ord: ord, pos: pos}
		if d.lo, err = unmarshalKey(lo); err != nil {
			return tp, err
		}
		if d.hi, err = unmarshalKey(hi); err != nil {
			return tp, err
		}
		tp.chunks = append(tp.chunks, d)
	}
	return tp, rows.Err()
}

// chunkDoneStmt records a chunk as copied (runs in the chunk's batch).
func chunkDoneStmt(stream string, pc *planChunk, rows int, pos string) (apply.Stmt, error) {
	lo, err := marshalKey(pc.ch.Lo)
	if err != nil {
		return apply.Stmt{}, err
	}
	hi, err := marshalKey(pc.ch.Hi)
	if err != nil {
		return apply.Stmt{}, err
	}
	return apply.Stmt{
		SQL: "INSERT INTO `evac_meta`.`snapshot_chunk` (stream_id, db, tbl, ord, lo, hi, rows_copied, pos, done_at) " +
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))",
		Args: []any{stream, pc.ch.Key.Schema, pc.ch.Key.Table, []byte(pc.ord), lo, hi, rows, pos},
	}, nil
}

// tableDoneStmt records a table as completely copied.
func tableDoneStmt(stream string, id change.TableID, rows int64) apply.Stmt {
	return apply.Stmt{
		SQL:  "INSERT INTO `evac_meta`.`snapshot_table` (stream_id, db, tbl, rows_copied, done_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6))",
		Args: []any{stream, id.Schema, id.Name, rows},
	}
}

// resumePlan rebuilds a table's plan from its done chunks: done chunks keep
// their ranges; each gap between them becomes a pending range to re-chunk.
// It returns the gaps as [lo, hi) with the ord prefix for their chunks.
type gap struct {
	lo, hi []any
	prefix string
}

func resumePlan(p *tablePlan, tp tableProgress) []gap {
	var gaps []gap
	for i, d := range tp.chunks {
		pc := &planChunk{ch: chunk.Chunk{Key: p.key, Lo: d.lo, Hi: d.hi}, ord: d.ord, state: done, committed: true}
		pc.donePos, _ = position.Parse(d.pos) // unparsable: treated as done at the checkpoint
		switch {
		case i == 0 && d.lo != nil:
			gaps = append(gaps, gap{lo: nil, hi: d.lo, prefix: "."})
		case i > 0 && encodeKey(tp.chunks[i-1].hi) != encodeKey(d.lo):
			gaps = append(gaps, gap{lo: tp.chunks[i-1].hi, hi: d.lo, prefix: tp.chunks[i-1].ord + "."})
		}
		p.chunks = append(p.chunks, pc)
	}
	if n := len(tp.chunks); n > 0 && tp.chunks[n-1].hi != nil {
		gaps = append(gaps, gap{lo: tp.chunks[n-1].hi, hi: nil, prefix: tp.chunks[n-1].ord + "."})
	}
	return gaps
}
