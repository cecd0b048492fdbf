// Package preflight checks, before evac writes anything, that the source,
// the target and the selected tables can be replicated exactly. Every
// problem is collected (not just the first) and each message names the
// fix, so one run shows the operator everything to change.
package preflight

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/evac-dev/evac/replicator/change"
)

// Problem is one failed (or doubtful) check.
type Problem struct {
	Check   string // short name: "binlog_format", "privileges", "primary-key", ...
	Message string // what is wrong and how to fix it
}

func (p Problem) String() string { return p.Check + ": " + p.Message }

// Result holds every error (evac refuses to start) and warning.
type Result struct {
	Errors   []Problem
	Warnings []Problem
	// Notes are informational (e.g. the foreign-key strategy chosen).
	Notes []Problem
}

func (r *Result) fail(check, format string, a ...any) {
	r.Errors = append(r.Errors, Problem{check, fmt.Sprintf(format, a...)})
}

func (r *Result) warn(check, format string, a ...any) {
	r.Warnings = append(r.Warnings, Problem{check, fmt.Sprintf(format, a...)})
}

func (r *Result) note(check, format string, a ...any) {
	r.Notes = append(r.Notes, Problem{check, fmt.Sprintf(format, a...)})
}

// Err returns nil when there is no error, else one error listing them all.
func (r Result) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	if len(r.Errors) == 1 {
		return &Error{r.Errors}
	}
	return &Error{r.Errors}
}

// Error is the preflight failure: every problem found.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "preflight: " + e.Problems[0].Message
	}
	var b strings.Builder
	fmt.Fprintf(&b, "preflight found %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.Message)
	}
	return b.String()
}

// Options say what will be replicated.
type Options struct {
	Source, Target *sql.DB
	Tables         []change.TableID // the selected tables (after filters)
	Snapshot       bool             // a snapshot will run (watermarks need writes on the source)
	NoHeartbeat    bool             // no heartbeat writes on the source
	ResumePos      string           // checkpoint position when resuming ("" on a fresh start)
}

// Run runs every check. The returned error is only for checks that could
// not run at all (connection lost); problems are in the Result.
func Run(ctx context.Context, o Options) (Result, error) {
	var r Result
	src, err := readServer(ctx, o.Source)
	if err != nil {
		return r, fmt.Errorf("preflight: source: %w", err)
	}
	tgt, err := readServer(ctx, o.Target)
	if err != nil {
		return r, fmt.Errorf("preflight: target: %w", err)
	}
	checks := []func(context.Context, Options, *server, *server, *Result) error{
		checkBinlog, checkSourcePrivileges, checkTables, checkTarget, checkTargetPrivileges, checkCompat, checkResume,
	}
	for _, c := range checks {
		if err := c(ctx, o, src, tgt, &r); err != nil {
			if errors.Is(err, context.Canceled) {
				return r, err
			}
			return r, fmt.Errorf("preflight: %w", err)
		}
	}
	return r, nil
}

// server is what preflight reads of one server's globals.
type server struct {
	version string
	mariadb bool
	vars    map[string]string // lower-case name -> value ("" when missing)
}

var wantVars = []string{
	"log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata", "gtid_mode", "gtid_strict_mode",
	"binlog_order_commits", "read_only", "super_read_only", "innodb_read_only", "max_allowed_packet", "gtid_domain_id",
}

func readServer(ctx context.Context, db *sql.DB) (*server, error) {
	s := &server{vars: map[string]string{}}
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&s.version); err != nil {
		return nil, err
	}
	s.mariadb = strings.Contains(strings.ToLower(s.version), "mariadb")
	q := "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('" + strings.Join(wantVars, "','") + "')"
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		s.vars[strings.ToLower(k)] = v
	}
	return s, rows.Err()
}

func (s *server) on(name string) bool {
	v := strings.ToUpper(s.vars[name])
	return v == "ON" || v == "1"
}

// checkBinlog checks the source's binlog settings.
func checkBinlog(_ context.Context, _ Options, src, _ *server, r *Result) error {
	if !src.on("log_bin") {
		r.fail("log_bin", "source log_bin is OFF; evac reads the binlog: start the source with log_bin (e.g. --log-bin=mysql-bin; on RDS enable automated backups) and restart")
	}
	if f := src.vars["binlog_format"]; !strings.EqualFold(f, "ROW") {
		r.fail("binlog_format", "source binlog_format is %s; evac needs ROW: SET GLOBAL binlog_format=ROW (and restart writers; on RDS set it in the parameter group)", f)
	}
	if v := src.vars["binlog_row_image"]; !strings.EqualFold(v, "FULL") {
		r.fail("binlog_row_image", "source binlog_row_image is %s; evac needs FULL: SET GLOBAL binlog_row_image=FULL (and restart writers)", v)
	}
	if v, ok := src.vars["binlog_row_metadata"]; ok && !strings.EqualFold(v, "FULL") {
		r.warn("binlog_row_metadata", "source binlog_row_metadata is %s; FULL is recommended (column names and signedness in the binlog): SET GLOBAL binlog_row_metadata=FULL", v)
	}
	if src.mariadb {
		if !src.on("gtid_strict_mode") {
			r.warn("gtid", "source gtid_strict_mode is OFF; evac tracks positions by GTID per domain (gtid_domain_id=%s) and works without it, but SET GLOBAL gtid_strict_mode=ON guards against out-of-order GTIDs", src.vars["gtid_domain_id"])
		}
		return nil
	}
	if !src.on("gtid_mode") {
		r.warn("gtid_mode", "source gtid_mode is %s; evac falls back to binlog file/position (a failover to another source then needs a re-snapshot): gtid_mode=ON is preferred", src.vars["gtid_mode"])
	}
	if v, ok := src.vars["binlog_order_commits"]; ok && !src.on("binlog_order_commits") {
		r.fail("binlog_order_commits", "source binlog_order_commits is %s; evac's snapshot pairing needs commits in binlog order: SET GLOBAL binlog_order_commits=ON", v)
	}
	return nil
}
