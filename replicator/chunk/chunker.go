package chunk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Chunk is the key range [Lo, Hi) of one table; Lo nil means open below,
// Hi nil open above. Seq numbers the chunks of a table from 0.
type Chunk struct {
	Key Key
	Seq int
	Lo  []any
	Hi  []any
}

// Last reports whether the chunk is open above (the table's last chunk).
func (c Chunk) Last() bool { return c.Hi == nil }

// Where returns the server-evaluated condition selecting the chunk's rows.
func (c Chunk) Where() (string, []any) { return RangeWhere(c.Key, c.Lo, c.Hi) }

// String is for logs: table#seq[lo,hi).
func (c Chunk) String() string {
	return fmt.Sprintf("%s.%s#%d[%s,%s)", c.Key.Schema, c.Key.Table, c.Seq, fmtVals(c.Lo, "-inf"), fmtVals(c.Hi, "+inf"))
}

func fmtVals(v []any, open string) string {
	if v == nil {
		return open
	}
	s := make([]string, len(v))
	for i, x := range v {
		if b, ok := x.([]byte); ok {
			s[i] = strconv.Quote(string(b))
		} else {
			s[i] = fmt.Sprint(x)
		}
	}
	return strings.Join(s, ",")
}

// Options size the chunks.
type Options struct {
	TargetRows int           // rows per chunk (default 1000)
	TargetTime time.Duration // if set, Feedback adapts the row count so a chunk takes about this long
	MinRows    int           // floor for adaptation (default 10)
	MaxRows    int           // ceiling for adaptation (default 100000)
}

func (o Options) withDefaults() Options {
	if o.TargetRows <= 0 {
		o.TargetRows = 1000
	}
	if o.MinRows <= 0 {
		o.MinRows = 10
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 100000
	}
	if o.MinRows > o.TargetRows {
		o.MinRows = o.TargetRows
	}
	return o
}

// Chunker yields the chunks of one table in key order. It is not safe for
// concurrent use: one goroutine computes boundaries, workers read chunks.
type Chunker struct {
	db   *sql.DB
	key  Key
	opt  Options
	rows int
	lo   []any
	end  []any // exclusive upper bound of the range being chunked (nil: +inf)
	seq  int
	done bool
}

// New returns a chunker starting at the beginning of the table.
func New(db *sql.DB, key Key, opt Options) *Chunker {
	opt = opt.withDefaults()
	return &Chunker{db: db, key: key, opt: opt, rows: opt.TargetRows}
}

// Resume returns a chunker whose next chunk starts at lo (inclusive) with
// sequence number seq: used to continue a persisted chunk plan.
func Resume(db *sql.DB, key Key, opt Options, lo []any, seq int) *Chunker {
	c := New(db, key, opt)
	c.lo, c.seq = lo, seq
	return c
}

// ResumeRange returns a chunker over [lo, end) only (nil: open), numbering
// chunks from seq: used to re-chunk a gap left by a killed run. Its last
// chunk has Hi == end.
func ResumeRange(db *sql.DB, key Key, opt Options, lo, end []any, seq int) *Chunker {
	c := Resume(db, key, opt, lo, seq)
	c.end = end
	return c
}

// Rows is the current target row count per chunk.
func (c *Chunker) Rows() int { return c.rows }

// Next returns the next chunk, or io.EOF after the last one (open above).
func (c *Chunker) Next(ctx context.Context) (Chunk, error) {
	if c.done {
		return Chunk{}, io.EOF
	}
	hi, err := c.boundary(ctx, c.lo, c.rows)
	if err != nil {
		return Chunk{}, err
	}
	if hi == nil {
		hi = c.end
		c.done = true
	}
	ch := Chunk{Key: c.key, Seq: c.seq, Lo: c.lo, Hi: hi}
	c.seq++
	c.lo = hi
	return ch, nil
}

// Feedback adapts the chunk size to Options.TargetTime from one chunk's
// row count and duration (no-op without a TargetTime).
func (c *Chunker) Feedback(rows int, took time.Duration) {
	if c.opt.TargetTime <= 0 || rows <= 0 || took <= 0 {
		return
	}
	want := int(float64(rows) * float64(c.opt.TargetTime) / float64(took))
	// Move halfway to damp noise.
	next := (c.rows + want) / 2
	c.rows = max(c.opt.MinRows, min(c.opt.MaxRows, next))
}

// boundary returns the key n rows at or after lo, nil past the end.
func (c *Chunker) boundary(ctx context.Context, lo []any, n int) ([]any, error) {
	q, args := boundaryQuery(c.key, lo, c.end, n)
	row := make([]sql.RawBytes, len(c.key.Columns))
	ptrs := make([]any, len(row))
	for i := range row {
		ptrs[i] = &row[i]
	}
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("chunk boundary of %s: %w", c.key.QualifiedTable(), err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	vals := make([]any, len(row))
	for i, col := range c.key.Columns {
		v, err := Normalize(col, []byte(row[i]))
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, rows.Err()
}

// Normalize converts one key value as read from the server (raw bytes, text
// protocol, or the decoded binlog value) to its canonical Go form: int64,
// uint64 or []byte.
func Normalize(c Column, v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, fmt.Errorf("key column %s is NULL", c.Name)
	case []byte:
		switch c.Kind {
		case KindInt:
			return strconv.ParseInt(string(x), 10, 64)
		case KindUint:
			return strconv.ParseUint(string(x), 10, 64)
		}
		out := append([]byte(nil), x...)
		if c.DataType == "binary" { // BINARY(n): the binlog drops trailing zero bytes
			out = pad(out, int(c.Length))
		}
		return out, nil
	case string:
		return Normalize(c, []byte(x))
	}
	switch c.Kind {
	case KindInt:
		return toInt64(v)
	case KindUint:
		return toUint64(v)
	}
	return nil, fmt.Errorf("key column %s: unexpected value type %T", c.Name, v)
}

func toInt64(v any) (any, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	}
	return nil, fmt.Errorf("integer key: unexpected value type %T", v)
}

func toUint64(v any) (any, error) {
	switch x := v.(type) {
	case uint64:
		return x, nil
	case uint32:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint8:
		return uint64(x), nil
	case uint:
		return uint64(x), nil
	case int64:
		return uint64(x), nil // binlog decoders without unsigned metadata
	case int:
		return uint64(x), nil
	case int32:
		return uint64(uint32(x)), nil
	}
	return nil, fmt.Errorf("unsigned key: unexpected value type %T", v)
}

// SessionDSN adds the session settings every chunk reader needs to a
// go-sql-driver DSN: charset=binary (values round-trip byte-exact) and
// time_zone='+00:00' (TIMESTAMP values in UTC).
func SessionDSN(dsn string) (string, error) {
	base, query, _ := strings.Cut(dsn, "?")
	vals, err := url.ParseQuery(query)
	if err != nil {
		return "", errors.New("DSN parameters are not a valid query string")
	}
	vals.Set("charset", "binary")
	vals.Set("time_zone", "'+00:00'")
	return base + "?" + vals.Encode(), nil
}
