package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/evac-dev/evac/replicator/position"
)

// StartPosition is CurrentPosition taken at a moment when no XA transaction
// is prepared on the source. A transaction prepared before the start
// position and committed after it would reach the stream as a bare
// XA COMMIT whose rows (written at PREPARE) it never saw, and no snapshot
// read before the commit sees them either. It waits up to wait for
// prepared XA transactions to finish. When the user may not run
// XA RECOVER, the position is returned as is.
func StartPosition(ctx context.Context, db *sql.DB, flavor string, wait time.Duration) (position.Position, error) {
	deadline := time.Now().Add(wait)
	for {
		pos, err := CurrentPosition(ctx, db, flavor)
		if err != nil {
			return pos, err
		}
		xids, err := preparedXA(ctx, db)
		if err != nil || len(xids) == 0 {
			return pos, nil
		}
		if time.Now().After(deadline) {
			return position.Position{}, fmt.Errorf("source has XA transactions prepared for over %s (%s): "+
				"evac cannot start its stream while one is pending; commit or roll them back (XA RECOVER; XA COMMIT/ROLLBACK 'xid') and retry",
				wait, strings.Join(xids, ", "))
		}
		select {
		case <-ctx.Done():
			return position.Position{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// preparedXA lists the gtrids of prepared XA transactions (XA RECOVER).
func preparedXA(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "XA RECOVER")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var format, gl, bl int64
		var data []byte
		if err := rows.Scan(&format, &gl, &bl, &data); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%q", data[:min(int(gl), len(data))]))
	}
	return out, rows.Err()
}
