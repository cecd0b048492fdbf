// Package change holds the types that flow from the binlog stream to the
// snapshot coordinator and the applier: one source transaction at a time,
// in commit order, with the position that follows it.
//
// It is the seam between replicator's parts (stream, snapshot, applier) and
// is imported by verify for positions; it imports nothing of evac's.
package change

import "time"

// Op is the kind of a row change.
type Op uint8

const (
	Insert Op = iota + 1
	Update
	Delete
)

func (o Op) String() string {
	switch o {
	case Insert:
		return "insert"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return "unknown"
}

// TableID names a table.
type TableID struct{ Schema, Name string }

func (t TableID) String() string { return t.Schema + "." + t.Name }

// Row is one row change, decoded with the schema that was current at its
// position. Before is nil for inserts, After is nil for deletes. Values are
// in the table's column order (Columns), as database/sql would bind them:
// nil, int64, uint64, float32, float64, []byte (strings, blobs, decimals as
// exact text, JSON as text, temporal values as MySQL literal text in UTC).
type Row struct {
	Op      Op
	Table   TableID
	Columns []string // names, in order, matching Before/After
	Before  []any
	After   []any
}

// Txn is one committed source transaction (or one DDL statement), delivered
// in binlog order. Pos is the position right after its commit: resuming from
// Pos replays nothing of it and misses nothing after it.
type Txn struct {
	Pos      string    // canonical position text: GTID set ("0-1-5,1-2-7" / "uuid:1-5") or "file:pos"
	GTID     string    // this transaction's own GTID, empty in file/pos mode
	CommitTS time.Time // source commit timestamp (second resolution from the event header)
	Rows     []Row
	// DDL is set for a DDL statement (Rows is then empty): the statement as
	// the source ran it, with the session settings it must be replayed with.
	DDL *DDL
	// Bytes is the size of the transaction's events in the binlog.
	Bytes int64
}

// DDL is a schema change from a Query event.
type DDL struct {
	Schema    string // session default database
	Statement string
	SQLMode   string // from the Query event status variables
	TimeZone  string
	Charset   string
	Tables    []TableID // tables the statement names (parsed), for filtering
}
