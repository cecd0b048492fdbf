package apply

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/sqlbuild"
)

// alreadyApplied are errors a DDL gives when it already ran (after a crash
// between running it and advancing the checkpoint).
var alreadyApplied = map[uint16]string{
	1007: "database exists", 1008: "database does not exist", 1050: "table exists", 1051: "unknown table",
	1054: "unknown column", 1060: "duplicate column", 1061: "duplicate key name", 1091: "cannot drop: does not exist",
	1146: "table does not exist",
}

// CrashHook, when set (tests only), is called at named points of the DDL
// protocol and of Apply; returning an error aborts there as a crash would.
var CrashHook func(point string) error

func crash(point string) error {
	if CrashHook != nil {
		return CrashHook(point)
	}
	return nil
}

// applyDDL runs the DDL protocol for a batch holding one DDL transaction:
//  1. record the DDL as pending (checkpoint position unchanged) and commit;
//  2. run the DDL with the source session's sql_mode, charset, time zone;
//  3. in one transaction: the transaction's rows (CREATE ... SELECT),
//     extras, and the checkpoint advanced past the DDL, pending cleared.
//
// On resume the stream re-delivers the DDL (the checkpoint is before it);
// a DDL that already ran fails with an "already applied" error code, which
// is then taken as done.
func (a *Applier) applyDDL(ctx context.Context, b Batch) error {
	t := &b.Txns[0]
	cp, ok, err := a.LoadCheckpoint(ctx)
	if err != nil {
		return err
	}
	resumed := ok && cp.PendingDDL != "" && cp.PendingPos == t.Pos
	run, tolerate := true, false
	if resumed {
		var recorded bool
		if run, recorded, err = a.pendingNotRun(ctx, t); err != nil {
			return err
		}
		// With the schema recorded before the first attempt, an unchanged
		// schema proves the DDL never ran: an "already applied" error then
		// means the target drifted, and must stop the run. Only without a
		// record (older checkpoint) is such an error taken as done.
		tolerate = !recorded
	} else if err := a.markPending(ctx, cp, ok, t); err != nil {
		return err
	}
	if run {
		if err := a.runDDL(ctx, t.DDL, tolerate); err != nil {
			return err
		}
	} else {
		a.log.Warn("pending DDL already applied before the restart (target schema changed since it was recorded)", "statement", t.DDL.Statement, "pos", t.Pos)
	}
	if err := crash("ddl-before-checkpoint"); err != nil {
		return err
	}
	tx, err := a.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := a.applyBody(ctx, tx, b); err != nil {
		return err
	}
	if err := a.finish(ctx, tx, b, ""); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit checkpoint after DDL at %s: %w", t.Pos, err)
	}
	return nil
}

// markPending records the DDL as pending, keeping the previous position.
func (a *Applier) markPending(ctx context.Context, prev Checkpoint, ok bool, t *change.Txn) error {
	tx, err := a.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	pos := prev.Pos
	if !ok {
		pos = "" // first event ever: nothing before it is applied
	}
	cp := Checkpoint{Pos: pos, CommitTS: prev.CommitTS, PendingDDL: t.DDL.Statement, PendingPos: t.Pos}
	if err := a.writeCheckpoint(ctx, tx, cp); err != nil {
		return err
	}
	before, err := a.schemaOf(ctx, t.DDL.Tables)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO evac_meta.ddl_pending (stream_id, pos, schema_before) VALUES (?, ?, ?)
		ON DUPLICATE KEY UPDATE pos = VALUES(pos), schema_before = VALUES(schema_before)`, a.cfg.StreamID, t.Pos, before); err != nil {
		return fmt.Errorf("record schema before DDL at %s: %w", t.Pos, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("record pending DDL at %s: %w", t.Pos, err)
	}
	return nil
}

// runDDL runs the statement on one connection with the source session's
// settings. tolerate takes "already applied" errors as done.
func (a *Applier) runDDL(ctx context.Context, d *change.DDL, tolerate bool) error {
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("target connection for DDL: %w", err)
	}
	defer conn.Close()
	dd := *d
	dd.SQLMode = PortableSQLMode(d.SQLMode, a.mariadb)
	for _, s := range ddlSession(&dd, a.cfg.SourceTimeZone) {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("DDL session setting %q: %w", s, err)
		}
	}
	defer a.restoreSession(context.WithoutCancel(ctx), conn)
	if d.Schema != "" {
		if _, err := conn.ExecContext(ctx, "USE "+sqlbuild.Quote(d.Schema)); err != nil && mysqlErrno(err) != 1049 {
			return fmt.Errorf("DDL default database %s: %w", d.Schema, err)
		}
	}
	_, err = conn.ExecContext(ctx, d.Statement)
	if err == nil {
		return nil
	}
	if why, ok := alreadyApplied[mysqlErrno(err)]; ok && tolerate {
		a.log.Warn("pending DDL already applied before the restart", "statement", d.Statement, "reason", why)
		return nil
	}
	return fmt.Errorf("replay DDL %.200q on the target: %w", d.Statement, err)
}

// ddlSession returns the SET statements reproducing the source session.
func ddlSession(d *change.DDL, defaultTZ string) []string {
	var out []string
	out = append(out, "SET SESSION sql_mode='"+strings.ReplaceAll(d.SQLMode, "'", "")+"'")
	tz := d.TimeZone
	if tz == "" || strings.EqualFold(tz, "SYSTEM") { // SYSTEM is the source host's zone, not the target's
		tz = defaultTZ
	}
	out = append(out, "SET SESSION time_zone='"+strings.ReplaceAll(tz, "'", "")+"'")
	if ids := strings.Split(d.Charset, ","); len(ids) == 3 {
		out = append(out, fmt.Sprintf("SET SESSION character_set_client=%s, collation_connection=%s, collation_server=%s",
			num(ids[0]), num(ids[1]), num(ids[2])))
	}
	return out
}

func num(s string) string {
	for _, c := range s {
		if c < '0' || c > '9' {
			return "0"
		}
	}
	return s
}

// restoreSession puts evac's session settings back on a connection the DDL
// changed; a connection that cannot be restored is discarded, never
// returned to the pool with the source session's settings.
func (a *Applier) restoreSession(ctx context.Context, conn *sql.Conn) {
	for _, q := range []string{"SET NAMES binary", "SET SESSION time_zone='+00:00'",
		"SET SESSION sql_mode='" + addMode(a.cfg.SourceSQLMode, "NO_AUTO_VALUE_ON_ZERO") + "'"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			return
		}
	}
}

// pendingNotRun compares the target's current definitions of the DDL's
// tables with those recorded just before it was first attempted: unchanged
// means it has not run yet. Without a record (older checkpoint), it runs and
// "already applied" errors are tolerated.
func (a *Applier) pendingNotRun(ctx context.Context, t *change.Txn) (run, recorded bool, err error) {
	var pos, before string
	err = a.db.QueryRowContext(ctx, "SELECT pos, schema_before FROM evac_meta.ddl_pending WHERE stream_id = ?", a.cfg.StreamID).Scan(&pos, &before)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && pos != t.Pos) {
		return true, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read evac_meta.ddl_pending: %w", err)
	}
	now, err := a.schemaOf(ctx, t.DDL.Tables)
	if err != nil {
		return false, true, err
	}
	return now == before, true, nil
}

var autoIncRe = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// schemaOf renders the target's definitions of tables (SHOW CREATE, without
// the AUTO_INCREMENT counter; "absent" for a missing one) as one text.
func (a *Applier) schemaOf(ctx context.Context, ids []change.TableID) (string, error) {
	var b strings.Builder
	for _, id := range ids {
		q := "SHOW CREATE TABLE " + sqlbuild.Table(id)
		if id.Name == "" {
			q = "SHOW CREATE DATABASE " + sqlbuild.Quote(id.Schema)
		}
		var name, def string
		err := a.db.QueryRowContext(ctx, q).Scan(&name, &def)
		switch code := mysqlErrno(err); {
		case err == nil:
		case code == 1146 || code == 1049:
			def = "absent"
		default:
			return "", fmt.Errorf("read target definition of %s: %w", id, err)
		}
		fmt.Fprintf(&b, "%s\n%s\n", id, autoIncRe.ReplaceAllString(def, ""))
	}
	return b.String(), nil
}
