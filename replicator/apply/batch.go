// Package apply writes source transactions to the target: whole source
// transactions batched into one target transaction together with the
// checkpoint (and any extra statements the snapshot coordinator needs), so a
// crash never leaves rows without their checkpoint or the reverse.
package apply

import (
	"time"

	"github.com/evac-dev/evac/replicator/change"
)

// Stmt is one extra statement run inside the batch's target transaction,
// after the batch's rows and before the checkpoint (e.g. the snapshot
// coordinator's "chunk done" record).
type Stmt struct {
	SQL  string
	Args []any
}

// ChunkRows are rows copied by the snapshot for one table, inserted with
// plain INSERTs (never REPLACE) in the batch's transaction at the batch's
// position in the stream: after Txns, before Extra and the checkpoint.
type ChunkRows struct {
	Table   change.TableID
	Columns []string // explicit column list (generated columns excluded)
	Rows    [][]any  // values bound as database/sql args ([]byte for strings)
}

// Batch is one target transaction. It carries whole source transactions
// (never a part of one) in commit order, snapshot chunk rows, extra
// statements, and the checkpoint position reached after all of them.
//
// Order inside the target transaction:
//
//	Txns rows (in order) -> Chunks (in order) -> Extra (in order) -> checkpoint
//
// A Txn with DDL must be alone in its batch (Txns has length 1 and Chunks is
// empty): the applier commits it with the DDL crash protocol.
type Batch struct {
	Txns   []change.Txn
	Chunks []ChunkRows
	Extra  []Stmt

	// Pos is the checkpoint written with the batch; when empty the last
	// Txn's Pos is used. It must be set when Txns is empty.
	Pos string
	// CommitTS is the source commit time at Pos (zero: the last Txn's).
	CommitTS time.Time
	// HeartbeatTS is the newest source heartbeat value applied so far
	// (zero: keep the stored one). The applier also takes it from
	// evac_meta.heartbeat rows seen in Txns.
	HeartbeatTS time.Time
}

// Rows counts the row changes and chunk rows in the batch.
func (b *Batch) Rows() int {
	n := 0
	for i := range b.Txns {
		n += len(b.Txns[i].Rows)
	}
	for i := range b.Chunks {
		n += len(b.Chunks[i].Rows)
	}
	return n
}

// Checkpoint returns the position and commit time the batch checkpoints.
func (b *Batch) Checkpoint() (pos string, ts time.Time) {
	pos, ts = b.Pos, b.CommitTS
	if n := len(b.Txns); n > 0 {
		if pos == "" {
			pos = b.Txns[n-1].Pos
		}
		if ts.IsZero() {
			ts = b.Txns[n-1].CommitTS
		}
	}
	return pos, ts
}
