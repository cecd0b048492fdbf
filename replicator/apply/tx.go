package apply

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	mysql "github.com/go-sql-driver/mysql"
)

// tx is one target transaction on one connection, opened with BEGIN (not
// sql.Tx) so the raw driver connection can run multi-statement pipelines
// and report each statement's affected rows.
type tx struct {
	conn  *sql.Conn
	done  bool
	dirty bool // session settings changed: never return the connection to the pool
}

func (a *Applier) begin(ctx context.Context) (*tx, error) {
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("target connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("begin target transaction: %w", err)
	}
	return &tx{conn: conn}, nil
}

func (t *tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.conn.ExecContext(ctx, q, args...)
}

func (t *tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.conn.QueryRowContext(ctx, q, args...)
}

// Commit commits and releases the connection.
func (t *tx) Commit(ctx context.Context) error {
	_, err := t.conn.ExecContext(ctx, "COMMIT")
	if err != nil {
		t.Rollback()
		return err
	}
	t.done = true
	return t.conn.Close()
}

// Rollback rolls back (if not committed) and releases the connection; a
// connection whose rollback failed is discarded, not reused.
func (t *tx) Rollback() {
	if t.done {
		return
	}
	t.done = true
	if _, err := t.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil || t.dirty {
		_ = t.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = t.conn.Close()
}

// errNoPipeline means the driver could not run the statements as one
// multi-statement request; the caller runs them one by one.
var errNoPipeline = errors.New("multi-statement pipeline unavailable")

// execMulti runs several statements (joined with ';') in one round trip and
// returns each one's affected rows.
func (t *tx) execMulti(ctx context.Context, q string, args []any) ([]int64, error) {
	var out []int64
	err := t.conn.Raw(func(dc any) error {
		ex, ok := dc.(driver.ExecerContext)
		if !ok {
			return errNoPipeline
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		res, err := ex.ExecContext(ctx, q, named)
		if errors.Is(err, driver.ErrSkip) {
			return errNoPipeline
		}
		if err != nil {
			return err
		}
		r, ok := res.(mysql.Result)
		if !ok {
			return errNoPipeline
		}
		out = r.AllRowsAffected()
		return nil
	})
	return out, err
}
