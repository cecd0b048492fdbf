package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/evac-dev/evac/internal/redact"
	"log/slog"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/evac-dev/evac/replicator/chunk"
)

// systemSchemas are never verified.
var systemSchemas = map[string]bool{
	"mysql": true, "information_schema": true, "performance_schema": true, "sys": true, "evac_meta": true,
}

// Tables verifies tables of src against dst and returns one result per table.
// src and dst must come from OpenDB. fix receives repair statements for the
// target (may be nil).
func Tables(ctx context.Context, src, dst *sql.DB, opt TableOptions, log *slog.Logger) ([]TableResult, []string, error) {
	opt.defaults()
	if err := opt.Validate(); err != nil {
		return nil, nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	names, err := listTables(ctx, src, opt)
	if err != nil {
		return nil, nil, err
	}
	w, err := detectWaiter(ctx, src, dst, opt)
	if err != nil {
		return nil, nil, err
	}
	v := &tableVerifier{src: src, dst: dst, opt: opt, log: log, wait: w}
	log.Info("verifying tables", "tables", len(names), "target_wait", w.Name())
	ptrs := make([]*TableResult, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opt.Workers)
	for i, name := range names {
		ptrs[i] = v.table(gctx, g, name)
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	results := make([]TableResult, len(ptrs))
	for i, r := range ptrs {
		finishTable(r, opt.MaxKeys)
		results[i] = *r
	}
	return results, []string{"target re-check: " + w.Name()}, nil
}

type tableVerifier struct {
	src, dst *sql.DB
	opt      TableOptions
	log      *slog.Logger
	wait     waiter
	rateMu   gosync.Mutex
	rate     float64 // source checksum rate, bytes (rows x average row length) per second
}

// listTables returns "db.table" names on the source, sorted.
func listTables(ctx context.Context, db *sql.DB, opt TableOptions) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE='BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME`)
	if err != nil {
		return nil, fmt.Errorf("list source tables: %w", err)
	}
	defer rows.Close()
	dbs := setOf(opt.Databases)
	tbls := setOf(opt.Tables)
	skip := setOf(opt.Exclude)
	var out []string
	seen := map[string]bool{}
	for rows.Next() {
		var s, t string
		if err := rows.Scan(&s, &t); err != nil {
			return nil, err
		}
		full := s + "." + t
		seen[full], seen[s] = true, true
		switch {
		case systemSchemas[s] || skip[full]:
		case len(tbls) > 0 && !tbls[full]:
		case len(tbls) == 0 && len(dbs) > 0 && !dbs[s]:
		default:
			out = append(out, full)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := missingNames(seen, opt.Databases, opt.Tables); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tables to verify on the source (databases %v, tables %v): check --databases/--tables and the user's SELECT grants", opt.Databases, opt.Tables)
	}
	return out, nil
}

// missingNames fails on every requested database or table that the source
// does not have: a typo must not shrink the verification silently to the
// names that happen to exist.
func missingNames(seen map[string]bool, databases, tables []string) error {
	var missing []string
	for _, group := range [][]string{databases, tables} {
		for name := range setOf(group) {
			if !seen[name] {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("not on the source: %s; check the spelling in --databases/--tables (tables as db.table) and the user's SELECT grants",
		strings.Join(missing, ", "))
}

func setOf(list []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range list {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				m[p] = true
			}
		}
	}
	return m
}

// tableJob is the shared state of one table's chunks.
type tableJob struct {
	schema, name string
	qname        string
	cols         []column
	key          chunk.Key
	size         atomic.Int64 // current chunk size in rows
	rowLen       int64        // source AVG_ROW_LENGTH estimate (0 = unknown)
	estRows      int64        // source TABLE_ROWS estimate (-1 = unknown)
	mu           gosync.Mutex
	res          *TableResult
	start        time.Time
}

func (j *tableJob) add(f func(r *TableResult)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(j.res)
	j.res.DurationS = time.Since(j.start).Seconds()
}

// table prepares one table and schedules its chunks on g. The returned
// result is filled in by the chunk jobs (it is shared by pointer).
func (v *tableVerifier) table(ctx context.Context, g *errgroup.Group, full string) *TableResult {
	schema, name, _ := strings.Cut(full, ".")
	res := &TableResult{Table: full, Status: StatusMatch, Key: []string{}, Diffs: []RowDiff{}}
	j := &tableJob{schema: schema, name: name, qname: chunk.QuoteIdent(schema) + "." + chunk.QuoteIdent(name), res: res, start: time.Now()}
	if err := v.prepare(ctx, j); err != nil {
		var se schemaError
		if errors.As(err, &se) {
			res.Status = se.status
		} else {
			res.Status = StatusError
		}
		res.Error = redact.String(err.Error())
		return res
	}
	if res.Keyless {
		g.Go(func() error { return v.keyless(ctx, j) })
	} else if err := v.chunks(ctx, g, j); err != nil {
		res.Status, res.Error = StatusError, redact.String(err.Error())
	}
	return res
}
