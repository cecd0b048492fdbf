// Package position holds replication positions behind one type: a binlog
// file/offset (the END of an event: resuming there replays nothing of it),
// a MariaDB GTID list (one GTID per replication domain: "0-1-100,1-2-7") or
// a MySQL GTID set ("uuid:1-100,uuid2:1-5").
package position

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// Kind tells what a Position holds.
type Kind uint8

const (
	// None is the zero position (nothing known).
	None Kind = iota
	// FilePos is a binlog file name and the offset of an event's end.
	FilePos
	// MariaDBGTID is a MariaDB GTID list, one GTID per domain.
	MariaDBGTID
	// MySQLGTID is a MySQL GTID set (executed intervals per server uuid).
	MySQLGTID
)

func (k Kind) String() string {
	switch k {
	case FilePos:
		return "file/pos"
	case MariaDBGTID:
		return "mariadb-gtid"
	case MySQLGTID:
		return "mysql-gtid"
	}
	return "none"
}

// Flavor returns the go-mysql flavor name for a GTID kind ("" otherwise).
func (k Kind) Flavor() string {
	switch k {
	case MariaDBGTID:
		return mysql.MariaDBFlavor
	case MySQLGTID:
		return mysql.MySQLFlavor
	}
	return ""
}

// Position is a point in a source's binlog. The zero value is None.
type Position struct {
	Kind   Kind
	File   string        // FilePos only
	Offset uint64        // FilePos only: end of the last event included
	GTID   mysql.GTIDSet // GTID kinds only
}

var (
	mariaRe = regexp.MustCompile(`^\d+-\d+-\d+(,\d+-\d+-\d+)*$`)
	mysqlRe = regexp.MustCompile(`(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}:`)
)

// Detect tells which kind a position text is, without validating it fully.
func Detect(s string) Kind {
	s = strings.Join(strings.Fields(s), "")
	switch {
	case s == "":
		return None
	case mariaRe.MatchString(s):
		return MariaDBGTID
	case mysqlRe.MatchString(s):
		return MySQLGTID
	case strings.Contains(s, ":"):
		return FilePos
	}
	return None
}

// Parse reads a position text in any of the three forms, detecting the kind.
// The empty string is the zero Position.
func Parse(s string) (Position, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Position{}, nil
	}
	k := Detect(s)
	if k == None {
		return Position{}, fmt.Errorf("position %q is neither a MariaDB GTID list (0-1-100), a MySQL GTID set (uuid:1-100) nor file:offset", s)
	}
	return ParseKind(k, s)
}

// ParseKind reads a position of a known kind; an empty GTID text gives an
// empty set of that kind.
func ParseKind(k Kind, s string) (Position, error) {
	s = strings.TrimSpace(s)
	switch k {
	case FilePos:
		i := strings.LastIndexByte(s, ':')
		if i <= 0 {
			return Position{}, fmt.Errorf("position %q: want binlog file:offset (e.g. mysql-bin.000003:1234)", s)
		}
		off, err := strconv.ParseUint(s[i+1:], 10, 64)
		if err != nil {
			return Position{}, fmt.Errorf("position %q: offset is not a number: %w", s, err)
		}
		return Position{Kind: FilePos, File: s[:i], Offset: off}, nil
	case MariaDBGTID, MySQLGTID:
		g, err := mysql.ParseGTIDSet(k.Flavor(), strings.Join(strings.Fields(s), ""))
		if err != nil {
			return Position{}, fmt.Errorf("position %q is not a valid %s: %w", s, k, err)
		}
		return Position{Kind: k, GTID: g}, nil
	case None:
		if s == "" {
			return Position{}, nil
		}
	}
	return Position{}, fmt.Errorf("position %q: unknown kind %s", s, k)
}

// MustParse is Parse for constants in tests; it returns the zero Position on error.
func MustParse(s string) Position {
	p, _ := Parse(s)
	return p
}

// NewFilePos returns a file/offset position.
func NewFilePos(file string, offset uint64) Position {
	return Position{Kind: FilePos, File: file, Offset: offset}
}

// IsZero reports whether p is the zero position or an empty GTID set.
func (p Position) IsZero() bool {
	switch p.Kind {
	case FilePos:
		return p.File == ""
	case MariaDBGTID, MySQLGTID:
		return p.GTID == nil || p.GTID.IsEmpty()
	}
	return true
}

// String is the canonical text: "file:offset", "0-1-100,1-2-7" (domains in
// ascending order) or "uuid:1-100,uuid2:1-5" (as MySQL prints it).
func (p Position) String() string {
	switch p.Kind {
	case FilePos:
		return p.File + ":" + strconv.FormatUint(p.Offset, 10)
	case MariaDBGTID, MySQLGTID:
		if p.GTID == nil {
			return ""
		}
		return p.GTID.String()
	}
	return ""
}

// Clone returns a deep copy (GTID sets are mutable).
func (p Position) Clone() Position {
	if p.GTID != nil {
		p.GTID = p.GTID.Clone()
	}
	return p
}

// AddGTID adds one transaction's GTID ("0-1-101" or "uuid:101") to a GTID
// position in place (MariaDB: the domain's entry moves forward).
func (p *Position) AddGTID(gtid string) error {
	if p.Kind != MariaDBGTID && p.Kind != MySQLGTID {
		return fmt.Errorf("add GTID %q to a %s position", gtid, p.Kind)
	}
	if p.GTID == nil {
		g, err := mysql.ParseGTIDSet(p.Kind.Flavor(), "")
		if err != nil {
			return err
		}
		p.GTID = g
	}
	if err := p.GTID.Update(gtid); err != nil {
		return fmt.Errorf("add GTID %q: %w", gtid, err)
	}
	return nil
}
