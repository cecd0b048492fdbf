package position

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// ErrIncomparable is returned when neither position includes the other
// (GTID sets that diverged, or positions of different kinds).
var ErrIncomparable = errors.New("positions are incomparable")

// Contains reports whether everything up to o is included in p: for GTIDs,
// p's set contains o's; for file/pos, p is at or after o.
func (p Position) Contains(o Position) bool {
	if o.IsZero() {
		return true
	}
	if p.Kind != o.Kind {
		return false
	}
	switch p.Kind {
	case FilePos:
		return compareFilePos(p, o) >= 0
	case MariaDBGTID, MySQLGTID:
		return p.GTID != nil && p.GTID.Contain(o.GTID)
	}
	return false
}

// Compare returns -1, 0 or 1 when p is before, equal to or after o. GTID
// sets where neither contains the other return ErrIncomparable.
func (p Position) Compare(o Position) (int, error) {
	if p.Kind == FilePos && o.Kind == FilePos {
		return compareFilePos(p, o), nil
	}
	pc, oc := p.Contains(o), o.Contains(p)
	switch {
	case pc && oc:
		return 0, nil
	case pc:
		return 1, nil
	case oc:
		return -1, nil
	}
	return 0, fmt.Errorf("compare %s (%s) with %s (%s): %w", p, p.Kind, o, o.Kind, ErrIncomparable)
}

func compareFilePos(p, o Position) int {
	if c := compareFileName(p.File, o.File); c != 0 {
		return c
	}
	switch {
	case p.Offset < o.Offset:
		return -1
	case p.Offset > o.Offset:
		return 1
	}
	return 0
}

// compareFileName orders binlog files by their numeric suffix
// (mysql-bin.000999 < mysql-bin.1000000), then by name.
func compareFileName(a, b string) int {
	ab, an := splitFile(a)
	bb, bn := splitFile(b)
	if ab == bb && an >= 0 && bn >= 0 {
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func splitFile(f string) (string, int64) {
	i := strings.LastIndexByte(f, '.')
	if i < 0 {
		return f, -1
	}
	n, err := strconv.ParseInt(f[i+1:], 10, 64)
	if err != nil {
		return f, -1
	}
	return f[:i], n
}

// Behind counts the transactions in p that are not in o (p minus o), for
// RPO reporting: how many transactions the holder of o still lacks. For
// MariaDB it is the sequence-number gap per domain (sequence numbers are
// per domain and increase by one per transaction). File/pos positions
// cannot count transactions: ok is false.
func Behind(p, o Position) (n int64, ok bool) {
	switch {
	case p.Kind == MySQLGTID && (o.Kind == MySQLGTID || o.IsZero()):
		return mysqlMinus(p.GTID, o.GTID), true
	case p.Kind == MariaDBGTID && (o.Kind == MariaDBGTID || o.IsZero()):
		return mariaMinus(p.GTID, o.GTID), true
	}
	return 0, false
}

func mariaMinus(a, b mysql.GTIDSet) int64 {
	as, _ := a.(*mysql.MariadbGTIDSet)
	bs, _ := b.(*mysql.MariadbGTIDSet)
	if as == nil {
		return 0
	}
	var n int64
	for d, g := range as.Sets {
		var have uint64
		if bs != nil {
			if bg, ok := bs.Sets[d]; ok {
				have = bg.SequenceNumber
			}
		}
		if g.SequenceNumber > have {
			n += int64(g.SequenceNumber - have)
		}
	}
	return n
}

func mysqlMinus(a, b mysql.GTIDSet) int64 {
	as, _ := a.(*mysql.MysqlGTIDSet)
	bs, _ := b.(*mysql.MysqlGTIDSet)
	if as == nil {
		return 0
	}
	var n int64
	for sid, tags := range *as {
		for tag, ivs := range tags {
			var other mysql.IntervalSlice
			if bs != nil {
				if bt, ok := (*bs)[sid]; ok {
					other = bt[tag]
				}
			}
			n += countMinus(ivs, other)
		}
	}
	return n
}

// countMinus counts integers in the half-open intervals a not covered by b.
func countMinus(a, b mysql.IntervalSlice) int64 {
	var n int64
	for _, x := range a {
		n += x.Stop - x.Start
		for _, y := range b {
			lo, hi := max(x.Start, y.Start), min(x.Stop, y.Stop)
			if hi > lo {
				n -= hi - lo
			}
		}
	}
	return n
}
