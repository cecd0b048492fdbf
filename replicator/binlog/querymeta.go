package binlog

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// statusVars are the Query event status variables evac replays DDL with.
type statusVars struct {
	SQLMode  uint64
	HasMode  bool
	Charset  string // "client,connection,server" collation ids
	TimeZone string
}

// parseStatusVars reads the Query event status variable block; it stops at
// the first code it does not know (the ones evac needs come first).
func parseStatusVars(b []byte) statusVars {
	var v statusVars
	fixed := map[byte]int{0: 4, 3: 4, 7: 2, 8: 2, 9: 8, 10: 4, 13: 3, 14: 8, 16: 1, 17: 8, 18: 2, 19: 1, 20: 1, 128: 3, 129: 8, 130: 1}
	for i := 0; i < len(b); {
		code := b[i]
		i++
		switch code {
		case 1:
			if i+8 > len(b) {
				return v
			}
			v.SQLMode, v.HasMode = binary.LittleEndian.Uint64(b[i:]), true
			i += 8
		case 4:
			if i+6 > len(b) {
				return v
			}
			v.Charset = fmt.Sprintf("%d,%d,%d", binary.LittleEndian.Uint16(b[i:]),
				binary.LittleEndian.Uint16(b[i+2:]), binary.LittleEndian.Uint16(b[i+4:]))
			i += 6
		case 5, 6:
			if i >= len(b) || i+1+int(b[i]) > len(b) {
				return v
			}
			if code == 5 {
				v.TimeZone = string(b[i+1 : i+1+int(b[i])])
			}
			i += 1 + int(b[i])
		case 2:
			if i >= len(b) {
				return v
			}
			i += 2 + int(b[i])
		case 11:
			if i >= len(b) {
				return v
			}
			i += 1 + int(b[i])
			if i >= len(b) {
				return v
			}
			i += 1 + int(b[i])
		case 12:
			if i >= len(b) {
				return v
			}
			n := int(b[i])
			i++
			if n == 254 {
				n = 0
			}
			for ; n > 0 && i < len(b); n-- {
				for i < len(b) && b[i] != 0 {
					i++
				}
				i++
			}
		default:
			n, ok := fixed[code]
			if !ok {
				return v
			}
			i += n
		}
	}
	return v
}

var sqlModeNames = []string{
	"REAL_AS_FLOAT", "PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE", "IGNORE_BAD_TABLE_OPTIONS",
	"ONLY_FULL_GROUP_BY", "NO_UNSIGNED_SUBTRACTION", "NO_DIR_IN_CREATE", "POSTGRESQL", "ORACLE",
	"MSSQL", "DB2", "MAXDB", "NO_KEY_OPTIONS", "NO_TABLE_OPTIONS", "NO_FIELD_OPTIONS", "MYSQL323",
	"MYSQL40", "ANSI", "NO_AUTO_VALUE_ON_ZERO", "NO_BACKSLASH_ESCAPES", "STRICT_TRANS_TABLES",
	"STRICT_ALL_TABLES", "NO_ZERO_IN_DATE", "NO_ZERO_DATE", "ALLOW_INVALID_DATES",
	"ERROR_FOR_DIVISION_BY_ZERO", "TRADITIONAL", "NO_AUTO_CREATE_USER", "HIGH_NOT_PRECEDENCE",
	"NO_ENGINE_SUBSTITUTION", "PAD_CHAR_TO_FULL_LENGTH", "EMPTY_STRING_IS_NULL",
	"SIMULTANEOUS_ASSIGNMENT", "TIME_ROUND_FRACTIONAL",
}

// sqlModeString renders a MariaDB sql_mode bit set as names. Compound modes
// (ANSI, TRADITIONAL, ...) are left out: their parts are set as bits too.
func sqlModeString(mode uint64, mysqlFlavor bool) string {
	var names []string
	for i, n := range sqlModeNames {
		if mode&(1<<uint(i)) == 0 {
			continue
		}
		switch n {
		case "ANSI", "TRADITIONAL", "POSTGRESQL", "ORACLE", "MSSQL", "DB2", "MAXDB", "MYSQL323", "MYSQL40":
			continue
		case "IGNORE_BAD_TABLE_OPTIONS":
			if mysqlFlavor {
				continue // bit 4 is unused on MySQL
			}
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

// xid is an XA transaction id in canonical form.
type xid struct {
	FormatID    int64
	Gtrid, Bqal string
}

func (x xid) key() string {
	return fmt.Sprintf("%d:%s:%s", x.FormatID, hex.EncodeToString([]byte(x.Gtrid)), hex.EncodeToString([]byte(x.Bqal)))
}

// parseXID reads the xid after "XA <verb>" ('g'[,'b'[,fmt]] or X'..' forms).
func parseXID(sql string) (xid, error) {
	toks := tokens(sql, 0)
	// skip XA and the verb(s)
	i := 0
	for i < len(toks) && (toks[i] == "XA" || toks[i] == "START" || toks[i] == "BEGIN" || toks[i] == "END" ||
		toks[i] == "PREPARE" || toks[i] == "COMMIT" || toks[i] == "ROLLBACK") {
		i++
	}
	var parts []string
	for ; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t == "," || t == "ONE" || t == "PHASE" || t == "SUSPEND" || t == "FOR" || t == "MIGRATE":
			continue
		case t == "X" && i+1 < len(toks) && strings.HasPrefix(toks[i+1], "'"):
			b, err := hex.DecodeString(strings.Trim(toks[i+1], "'"))
			if err != nil {
				return xid{}, fmt.Errorf("xid in %q: %w", sql, err)
			}
			parts = append(parts, string(b))
			i++
		case strings.HasPrefix(t, "X'"):
			b, err := hex.DecodeString(strings.Trim(t[1:], "'"))
			if err != nil {
				return xid{}, fmt.Errorf("xid in %q: %w", sql, err)
			}
			parts = append(parts, string(b))
		case strings.HasPrefix(t, "'") || strings.HasPrefix(t, "\""):
			parts = append(parts, unquote(t))
		default:
			parts = append(parts, t)
		}
	}
	if len(parts) == 0 {
		return xid{}, fmt.Errorf("no xid in %q", sql)
	}
	x := xid{FormatID: 1, Gtrid: parts[0]}
	if len(parts) > 1 {
		x.Bqal = parts[1]
	}
	if len(parts) > 2 {
		if _, err := fmt.Sscan(parts[2], &x.FormatID); err != nil {
			return xid{}, fmt.Errorf("xid format id in %q: %w", sql, err)
		}
	}
	return x, nil
}

func unquote(t string) string {
	q := t[0]
	t = strings.TrimSuffix(t[1:], string(q))
	r := strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\"`, `"`, `\0`, "\x00", `\n`, "\n", string(q)+string(q), string(q))
	return r.Replace(t)
}

// parseXAPrepareEvent reads a binary XA_PREPARE_LOG_EVENT body.
func parseXAPrepareEvent(b []byte) (xid, error) {
	if len(b) < 13 {
		return xid{}, fmt.Errorf("XA_PREPARE event too short (%d bytes)", len(b))
	}
	fmtID := int64(int32(binary.LittleEndian.Uint32(b[1:])))
	gl := int(binary.LittleEndian.Uint32(b[5:]))
	bl := int(binary.LittleEndian.Uint32(b[9:]))
	if 13+gl+bl > len(b) {
		return xid{}, fmt.Errorf("XA_PREPARE event xid lengths %d+%d exceed body", gl, bl)
	}
	return xid{FormatID: fmtID, Gtrid: string(b[13 : 13+gl]), Bqal: string(b[13+gl : 13+gl+bl])}, nil
}
