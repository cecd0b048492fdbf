package binlog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/google/uuid"

	"github.com/evac-dev/evac/replicator/change"
	"github.com/evac-dev/evac/replicator/position"
)

// handle processes one event; done is true when txn is complete.
func (s *Stream) handle(ctx context.Context, ev *replication.BinlogEvent) (change.Txn, bool, error) {
	h := ev.Header
	if s.txn != nil {
		s.txn.bytes += int64(h.EventSize)
	}
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		s.file = string(e.NextLogName)
		if s.kind == position.FilePos {
			s.pos = position.NewFilePos(s.file, e.Position)
		}
	case *replication.MariadbGTIDEvent:
		s.begin(e.GTID.String(), h)
		s.txn.standalone = e.IsStandalone()
		s.txn.begun = !e.IsStandalone() // MariaDB: a non-standalone group implies BEGIN
		s.txn.xaPrepared = e.Flags&flPreparedXA != 0
	case *replication.GTIDEvent:
		u, err := uuid.FromBytes(e.SID)
		if err != nil {
			return change.Txn{}, false, fmt.Errorf("GTID event at %s:%d: %w", s.file, h.LogPos, err)
		}
		g := u.String() + ":" + fmt.Sprint(e.GNO)
		if t := e.Tag.String(); t != "" {
			g = u.String() + ":" + t + ":" + fmt.Sprint(e.GNO)
		}
		if h.EventType == replication.ANONYMOUS_GTID_EVENT {
			g = ""
		}
		s.begin(g, h)
		if ct := e.ImmediateCommitTimestamp; ct != 0 { // MySQL 8: microsecond commit time
			s.txn.ts = time.UnixMicro(int64(ct)).UTC()
			s.txn.exactTS = true
		}
	case *replication.TableMapEvent:
		return change.Txn{}, false, s.tableMap(e)
	case *replication.RowsEvent:
		return change.Txn{}, false, s.rows(e, h)
	case *replication.QueryEvent:
		return s.query(ctx, e, h)
	case *replication.XIDEvent:
		return s.commit(h)
	case *replication.TransactionPayloadEvent:
		for _, inner := range e.Events {
			inner.Header.LogPos = h.LogPos
			if t, done, err := s.handle(ctx, inner); err != nil || done {
				return t, done, err
			}
		}
	case *replication.GenericEvent:
		if h.EventType == replication.XA_PREPARE_LOG_EVENT {
			return s.xaPrepare(e.Data, h)
		}
	}
	return change.Txn{}, false, nil
}

// MariaDB Gtid_log_event flags2 for XA.
const (
	flPreparedXA  = 64
	flCompletedXA = 128
)

func (s *Stream) begin(gtid string, h *replication.EventHeader) {
	s.txn = &pending{gtid: gtid, ts: time.Unix(int64(h.Timestamp), 0).UTC(), bytes: int64(h.EventSize)}
}

func (s *Stream) cur(h *replication.EventHeader) *pending {
	if s.txn == nil { // file/pos MySQL without GTIDs: BEGIN starts it
		s.begin("", h)
	}
	return s.txn
}

func (s *Stream) tableMap(e *replication.TableMapEvent) error {
	id := change.TableID{Schema: string(e.Schema), Name: string(e.Table)}
	if !s.wanted(id) {
		delete(s.tables, e.TableID)
		return nil
	}
	t, _ := s.hist.Get(id)
	info, err := bind(e, t)
	if err != nil {
		return fmt.Errorf("decode %s at %s: %w", id, s.pos, err)
	}
	s.tables[e.TableID] = info
	return nil
}

func (s *Stream) rows(e *replication.RowsEvent, h *replication.EventHeader) error {
	info, ok := s.tables[e.TableID]
	if !ok {
		return nil // filtered out
	}
	rows, err := rowsOf(e, h.EventType, info)
	if err != nil {
		return fmt.Errorf("decode rows at %s:%d: %w", s.file, h.LogPos, err)
	}
	t := s.cur(h)
	t.rows = append(t.rows, rows...)
	return nil
}

// commit ends the current transaction at the event whose header is h.
func (s *Stream) commit(h *replication.EventHeader) (change.Txn, bool, error) {
	t := s.cur(h)
	if !t.exactTS && h.Timestamp != 0 { // the commit event's own time
		t.ts = time.Unix(int64(h.Timestamp), 0).UTC()
	}
	s.txn = nil
	if err := s.advance(t.gtid, h); err != nil {
		return change.Txn{}, false, err
	}
	return change.Txn{Pos: s.pos.String(), GTID: t.gtid, CommitTS: t.ts, Rows: t.rows, DDL: t.ddl, Bytes: t.bytes}, true, nil
}

// advance moves the stream position past a committed group.
func (s *Stream) advance(gtid string, h *replication.EventHeader) error {
	if s.kind == position.FilePos {
		s.pos = position.NewFilePos(s.file, uint64(h.LogPos))
		return nil
	}
	if gtid == "" {
		return fmt.Errorf("transaction ending at %s:%d has no GTID while streaming by GTID", s.file, h.LogPos)
	}
	return s.pos.AddGTID(gtid)
}

func (s *Stream) query(ctx context.Context, e *replication.QueryEvent, h *replication.EventHeader) (change.Txn, bool, error) {
	q := string(e.Query)
	switch classify(q) {
	case qBegin:
		s.cur(h).begun = true
	case qCommit:
		return s.commit(h)
	case qRollback:
		s.txn = nil // a non-transactional group rolled back: nothing to apply
		return s.skipGroup(h)
	case qXAStart, qXAEnd, qSavepoint:
	case qXAPrepare:
		x, err := parseXID(q)
		if err != nil {
			return change.Txn{}, false, err
		}
		return s.prepared(x, h)
	case qXACommit, qXARollback:
		return s.xaEnd(q, h)
	case qDML:
		if !s.statementWanted(q, string(e.Schema)) {
			return change.Txn{}, false, nil // another schema's statement: not ours
		}
		return change.Txn{}, false, fmt.Errorf("source wrote DML as a statement at %s:%d (%.80q): evac needs binlog_format=ROW: SET GLOBAL binlog_format=ROW, restart the writers, and re-snapshot the affected tables", s.file, h.LogPos, q)
	case qDDL:
		return s.ddl(ctx, e, h)
	default:
		if s.txn == nil || s.txn.standalone || !s.txn.begun {
			return s.skipGroup(h)
		}
	}
	return change.Txn{}, false, nil
}

// skipGroup ends a group that carries nothing to apply but still moves
// the position (so the checkpoint advances).
func (s *Stream) skipGroup(h *replication.EventHeader) (change.Txn, bool, error) {
	t := s.cur(h)
	s.txn = nil
	if err := s.advance(t.gtid, h); err != nil {
		return change.Txn{}, false, err
	}
	return change.Txn{Pos: s.pos.String(), GTID: t.gtid, CommitTS: t.ts, Bytes: t.bytes}, true, nil
}

func (s *Stream) ddl(ctx context.Context, e *replication.QueryEvent, h *replication.EventHeader) (change.Txn, bool, error) {
	q := string(e.Query)
	sv := parseStatusVars(e.StatusVars)
	d := &change.DDL{Schema: string(e.Schema), Statement: q, TimeZone: sv.TimeZone, Charset: sv.Charset,
		Tables: tableNames(q, string(e.Schema))}
	if sv.HasMode {
		d.SQLMode = sqlModeString(sv.SQLMode, s.mysqlFl)
	}
	t := s.cur(h)
	var keep []change.TableID
	for _, id := range d.Tables {
		if s.wanted(id) {
			keep = append(keep, id)
		}
	}
	if len(keep) > 0 {
		t.ddl = d
	}
	if len(d.Tables) == 0 {
		s.log.Warn("DDL not replicated (views, routines, triggers and users wait for cutover)", "statement", q)
	}
	endsGroup := t.standalone || !t.begun
	var txn change.Txn
	var done bool
	if endsGroup {
		var err error
		if txn, done, err = s.commit(h); err != nil {
			return txn, done, err
		}
	}
	if err := s.refreshSchema(ctx, d.Tables, s.pos.String()); err != nil {
		return change.Txn{}, false, err
	}
	return txn, done, nil
}

// refreshSchema records the definitions of tables a DDL touched, read from
// the source right after the DDL event (see docs/REPLICATION.md for the
// limits of this when several DDLs on one table are behind the stream).
func (s *Stream) refreshSchema(ctx context.Context, ids []change.TableID, pos string) error {
	if s.db == nil {
		return nil // no source connection (event fixtures): keep the history as is
	}
	for _, id := range ids {
		if id.Name == "" {
			all, err := ListTables(ctx, s.db, []string{id.Schema})
			if err != nil {
				return err
			}
			if err := s.refreshSchema(ctx, all, pos); err != nil {
				return err
			}
			continue
		}
		if !s.wanted(id) {
			continue
		}
		t, err := LoadTable(ctx, s.db, id)
		if err != nil {
			return err
		}
		if err := s.hist.Set(ctx, id, pos, t); err != nil {
			return err
		}
	}
	return nil
}

// prepared parks an XA PREPARE group until its XA COMMIT/ROLLBACK; the
// prepare group itself is delivered empty so the position advances.
func (s *Stream) prepared(x xid, h *replication.EventHeader) (change.Txn, bool, error) {
	t := s.cur(h)
	t.xid = x
	held := &pending{rows: t.rows, xid: x, bytes: t.bytes}
	s.xa[x.key()] = held
	t.rows = nil
	txn, done, err := s.skipGroup(h)
	txn.XAPrepare = &change.XAHeld{XID: x.key(), Rows: held.rows}
	return txn, done, err
}

func (s *Stream) xaPrepare(data []byte, h *replication.EventHeader) (change.Txn, bool, error) {
	x, err := parseXAPrepareEvent(data)
	if err != nil {
		return change.Txn{}, false, err
	}
	return s.prepared(x, h)
}

func (s *Stream) xaEnd(q string, h *replication.EventHeader) (change.Txn, bool, error) {
	x, err := parseXID(q)
	if err != nil {
		return change.Txn{}, false, err
	}
	held, ok := s.xa[x.key()]
	delete(s.xa, x.key())
	t := s.cur(h)
	commit := strings.HasPrefix(strings.ToUpper(strings.Join(tokens(q, 2), " ")), "XA COMMIT")
	if commit && strings.Contains(strings.ToUpper(q), "ONE PHASE") {
		return s.commit(h) // one-phase: rows are in this group
	}
	if commit && !ok {
		return change.Txn{}, false, fmt.Errorf("XA COMMIT %q at %s:%d: its XA PREPARE is before the stream's start position; re-snapshot (start the stream before the prepare)", x.Gtrid, s.file, h.LogPos)
	}
	var txn change.Txn
	var done bool
	if commit {
		t.rows = append(held.rows, t.rows...)
		t.bytes += held.bytes
		txn, done, err = s.commit(h)
	} else {
		t.rows = nil
		txn, done, err = s.skipGroup(h)
	}
	if ok {
		txn.XAEnd = x.key()
	}
	return txn, done, err
}
