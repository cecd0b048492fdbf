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
	// Key holds the indexes into Columns of the primary key (or the
	// non-null unique key) the applier addresses the row by. Filled by the
	// stream from the event metadata or the schema history; nil means the
	// table has no such key and the applier refuses the row.
	Key []int
	// Generated marks columns (by index) the applier must not write:
	// generated (virtual/stored) columns. Nil means none.
	Generated []bool
	// NoFKChecks is set when the source session ran with
	// foreign_key_checks=0 (rows event flag): no cascades happened on the
	// source, so the applier writes the row with checks off too.
	NoFKChecks bool
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
	// XAPrepare is set on the (row-less) Txn of an XA PREPARE group: the
	// rows held until the XA COMMIT. The applier persists them with the
	// checkpoint so a restart between PREPARE and COMMIT keeps them.
	XAPrepare *XAHeld
	// XAEnd names the XA transaction (XAHeld.XID) this Txn commits (its
	// held rows are then in Rows) or rolls back; the applier drops the
	// persisted copy in the same target transaction.
	XAEnd string
}

// XAHeld is a prepared XA transaction's rows, keyed by a canonical xid.
type XAHeld struct {
	XID  string
	Rows []Row
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
