package verify

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// waiter lets a re-check wait until the target has applied everything the
// source had committed when its chunk was read (a high mark taken right
// after the source read).
type waiter interface {
	Name() string
	Mark(ctx context.Context) (string, error)
	Wait(ctx context.Context, mark string) error
}

// detectWaiter picks how to wait for the target: evac's checkpoint, native
// replication (GTID or file/pos), or a bounded re-check loop.
func detectWaiter(ctx context.Context, src, dst *sql.DB, opt TableOptions) (waiter, error) {
	if opt.Rechecks <= 0 {
		return noWait{}, nil
	}
	if w, ok := detectCheckpoint(ctx, src, dst, opt); ok {
		return w, nil
	}
	status := slaveStatus(ctx, dst)
	if len(status) == 0 {
		// Not a replica, or no REPLICATION CLIENT grant (e.g. an RDS user): loop.
		return loopWait{delay: opt.RecheckDelay}, nil
	}
	nw := nativeWait{src: src, dst: dst, timeout: opt.WaitTimeout}
	switch {
	case status["Using_Gtid"] != "" && status["Using_Gtid"] != "No":
		nw.mode = "mariadb-gtid"
	case status["Auto_Position"] == "1":
		nw.mode = "mysql-gtid"
	default:
		nw.mode = "file-pos"
	}
	return nw, nil
}

type noWait struct{}

func (noWait) Name() string                         { return "none (re-checks disabled)" }
func (noWait) Mark(context.Context) (string, error) { return "", nil }
func (noWait) Wait(context.Context, string) error   { return nil }

// loopWait is for a target whose applied position evac cannot read (filled
// by DMS or another tool): it waits a fixed delay between re-checks.
type loopWait struct{ delay time.Duration }

func (l loopWait) Name() string {
	return fmt.Sprintf("bounded re-check loop (%s between re-reads; target position unknown)", l.delay)
}
func (loopWait) Mark(context.Context) (string, error) { return "", nil }
func (l loopWait) Wait(ctx context.Context, _ string) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(l.delay):
		return nil
	}
}

// nativeWait uses the target's own replication: MASTER_GTID_WAIT (MariaDB),
// WAIT_FOR_EXECUTED_GTID_SET (MySQL) or MASTER_POS_WAIT (file/pos).
type nativeWait struct {
	src, dst *sql.DB
	mode     string
	timeout  time.Duration
}

func (n nativeWait) Name() string { return "native replica, " + n.mode + " wait" }

func (n nativeWait) Mark(ctx context.Context) (string, error) {
	var mark string
	var err error
	switch n.mode {
	case "mariadb-gtid":
		err = n.src.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&mark)
	case "mysql-gtid":
		err = n.src.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&mark)
	default:
		mark, err = masterStatus(ctx, n.src)
	}
	if err != nil {
		return "", fmt.Errorf("read source position (high mark): %w", err)
	}
	return mark, nil
}

func (n nativeWait) Wait(ctx context.Context, mark string) error {
	secs := int(n.timeout.Seconds())
	var res sql.NullInt64
	var err error
	switch n.mode {
	case "mariadb-gtid":
		err = n.dst.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, ?)", mark, secs).Scan(&res)
	case "mysql-gtid":
		err = n.dst.QueryRowContext(ctx, "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)", mark, secs).Scan(&res)
		if err == nil && res.Valid && res.Int64 == 1 {
			res.Int64 = -1
		}
	default:
		file, pos, _ := strings.Cut(mark, ":")
		err = n.dst.QueryRowContext(ctx, "SELECT MASTER_POS_WAIT(?, ?, ?)", file, pos, secs).Scan(&res)
	}
	if err != nil {
		return fmt.Errorf("wait for target to apply source position %s: %w", mark, err)
	}
	if !res.Valid || res.Int64 < 0 {
		return fmt.Errorf("target did not apply source position %s within %s: is replication running? (SHOW SLAVE STATUS on the target); raise the wait timeout for a lagging target", mark, n.timeout)
	}
	return nil
}

func masterStatus(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return "", fmt.Errorf("SHOW MASTER STATUS is empty: binary logging is off on the source")
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", err
	}
	return vals[0].String + ":" + vals[1].String, nil
}
