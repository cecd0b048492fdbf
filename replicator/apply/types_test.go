package apply_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
)

// typeTable is one type family: its columns and rows of SQL literals.
type typeTable struct {
	name string
	cols string // column definitions after "id INT PRIMARY KEY,"
	set  []string
	rows [][]string
}

var typeMatrix = []typeTable{
	{"ints", "a TINYINT, b TINYINT UNSIGNED, c SMALLINT, d SMALLINT UNSIGNED, e MEDIUMINT, f MEDIUMINT UNSIGNED, g INT, h INT UNSIGNED, i BIGINT, j BIGINT UNSIGNED",
		[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
		[][]string{
			{"-128", "255", "-32768", "65535", "-8388608", "16777215", "-2147483648", "4294967295", "-9223372036854775808", "18446744073709551615"},
			{"127", "0", "32767", "0", "8388607", "0", "2147483647", "0", "9223372036854775807", "0"},
			{"NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
			{"-1", "128", "-1", "32768", "-1", "8388608", "-1", "2147483648", "-1", "9223372036854775808"},
		}},
	{"decimals", "a DECIMAL(65,30), b DECIMAL(10,2), c DECIMAL(5,0) UNSIGNED",
		[]string{"a", "b", "c"},
		[][]string{
			{"99999999999999999999999999999999999.999999999999999999999999999999", "-12345678.90", "99999"},
			{"-99999999999999999999999999999999999.999999999999999999999999999999", "0.00", "0"},
			{"0.000000000000000000000000000001", "-0.01", "NULL"},
			{"1.100000000000000000000000000000", "NULL", "1"},
		}},
	{"floats", "f FLOAT, d DOUBLE",
		[]string{"f", "d"},
		[][]string{
			{"0", "0"}, {"-0e0", "-0e0"}, {"1.5", "0.1"}, {"3.40282e38", "1.7976931348623157e308"},
			{"1.17549435e-38", "2.2250738585072014e-308"}, {"1.4e-45", "4.9e-324"}, {"-3.3333333", "-1e-310"},
			{"NULL", "NULL"},
		}},
	{"temporal", "d DATE, dt DATETIME(6), ts TIMESTAMP(6) NULL, t TIME(6), y YEAR, dt0 DATETIME, t3 TIME(3)",
		[]string{"d", "dt", "ts", "t", "y", "dt0", "t3"},
		[][]string{
			{"'1000-01-01'", "'1000-01-01 00:00:00.000000'", "FROM_UNIXTIME(1)", "'-838:59:59.000000'", "1901", "'1000-01-01 00:00:00'", "'-00:00:00.001'"},
			{"'9999-12-31'", "'9999-12-31 23:59:59.999999'", "FROM_UNIXTIME(2147483647.999999)", "'838:59:59.000000'", "2155", "'9999-12-31 23:59:59'", "'12:34:56.789'"},
			{"'0000-00-00'", "'0000-00-00 00:00:00.000000'", "NULL", "'-00:00:01.500000'", "0", "'0000-00-00 00:00:00'", "'00:00:00'"},
			// DST in Europe/Berlin: 02:30 local exists twice on 2021-10-31 and never on 2021-03-28.
			{"'2021-10-31'", "'2021-10-31 02:30:00.123456'", "FROM_UNIXTIME(1635640200.123456)", "'-12:00:00.000001'", "2021", "'2021-03-28 02:30:00'", "NULL"},
			{"'2021-03-28'", "'2021-03-28 02:30:00.000001'", "FROM_UNIXTIME(1635643800.5)", "'00:00:00.000000'", "NULL", "NULL", "'-838:59:59.000'"},
			{"NULL", "NULL", "FROM_UNIXTIME(1616895000)", "NULL", "1970", "'2038-01-19 03:14:08'", "'838:59:59.999'"},
		}},
	{"strings", "a VARCHAR(20) CHARACTER SET utf8mb4, b CHAR(5) CHARACTER SET utf8mb4, c TEXT CHARACTER SET utf8mb4, l VARCHAR(10) CHARACTER SET latin1, lt TEXT CHARACTER SET latin1",
		[]string{"a", "b", "c", "l", "lt"},
		[][]string{
			{"'😀 emoji'", "'ab'", "'𝄞 clef ✓'", "_latin1 x'e9e8ff'", "_latin1 x'a3a9'"},
			{"''", "''", "''", "''", "''"},
			{"'trail  '", "'x'", "REPEAT('é',1000)", "'a '", "_latin1 x'00'"},
			{"NULL", "NULL", "NULL", "NULL", "NULL"},
		}},
	{"binaries", "a BINARY(4), b VARBINARY(10), c BLOB, d LONGBLOB",
		[]string{"a", "b", "c", "d"},
		[][]string{
			{"x'00'", "x'ff00fe00'", "x'00ff80'", "x'c328'"},
			{"x'61000000'", "x''", "x''", "x'00000000'"},
			{"x'ffffffff'", "x'00'", "x'e282'", "REPEAT(x'ff00',5000)"},
			{"NULL", "NULL", "NULL", "NULL"},
		}},
	{"enumsets", "e ENUM('a','b','c','é'), s SET('x','y','z'), bt1 BIT(1), bt64 BIT(64), bt5 BIT(5)",
		[]string{"e", "s", "bt1", "bt64", "bt5"},
		[][]string{
			{"'a'", "'x,z'", "b'1'", "x'ffffffffffffffff'", "b'10101'"},
			{"'c'", "''", "b'0'", "0", "0"},
			{"'é'", "'x,y,z'", "NULL", "x'8000000000000001'", "b'11111'"},
			{"NULL", "NULL", "b'1'", "NULL", "NULL"},
		}},
	{"json", "j JSON, k JSON",
		[]string{"j", "k"},
		[][]string{
			{`'{"a": [1, 2.50, "x"], "b": null}'`, `'[]'`},
			{`'"😀"'`, `'{"n": 1.0e2, "big": 18446744073709551615}'`},
			{"NULL", "'null'"},
		}},
	{"generated", "a INT, g INT AS (a * 2) VIRTUAL, s VARCHAR(20) AS (CONCAT('v', a)) STORED, inv INT INVISIBLE DEFAULT 7, b VARCHAR(5)",
		[]string{"a", "inv", "b"},
		[][]string{{"1", "10", "'x'"}, {"NULL", "NULL", "NULL"}, {"-5", "0", "''"}}},
	{"spatial", "p POINT, g GEOMETRY, pg POLYGON",
		[]string{"p", "g", "pg"},
		[][]string{
			{"ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0,1 1,2 5)', 4326)", "ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 0))')"},
			{"ST_GeomFromText('POINT(-1.5 1e300)')", "ST_GeomFromText('POINT(0 0)')", "NULL"},
			{"NULL", "NULL", "NULL"},
		}},
}

func (tt typeTable) create() string {
	return fmt.Sprintf("CREATE TABLE `%s` (id INT PRIMARY KEY, %s) ENGINE=InnoDB", tt.name, tt.cols)
}

func (tt typeTable) insert(id int, row []string) string {
	return fmt.Sprintf("INSERT INTO `%s` (id,%s) VALUES (%d,%s)", tt.name, strings.Join(tt.set, ","), id, strings.Join(row, ","))
}

func (tt typeTable) update(id int, row []string) string {
	sets := make([]string, len(tt.set))
	for i, c := range tt.set {
		sets[i] = c + "=" + row[i]
	}
	return fmt.Sprintf("UPDATE `%s` SET %s WHERE id=%d", tt.name, strings.Join(sets, ","), id)
}

// TestTypeMatrix inserts, updates and deletes edge values of every type
// family on a source whose time_zone is Europe/Berlin, streams and applies
// them, and compares every column's HEX() (FLOAT/DOUBLE also as text,
// TIMESTAMP as UNIX_TIMESTAMP) on both sides.
func TestTypeMatrix(t *testing.T) {
	priv := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true,
		ExtraArgs: []string{"--default-time-zone=Europe/Berlin", "--sql-mode=NO_ENGINE_SUBSTITUTION"}})
	var schema []string
	for _, tt := range typeMatrix {
		schema = append(schema, tt.create())
	}
	p := newPipeOn(t, priv, schema...)
	p.batch = 64 // many source transactions per target transaction: merged INSERTs across them
	// TIMESTAMP literals are written in UTC so both DST-ambiguous 02:30s
	// keep their own instants; the server's zone stays Europe/Berlin.
	stmts := []string{"SET SESSION time_zone='+00:00'"}
	for _, tt := range typeMatrix {
		n := len(tt.rows)
		for i, r := range tt.rows {
			stmts = append(stmts, tt.insert(i+1, r))
		}
		stmts = append(stmts, tt.update(1, tt.rows[n-1]), tt.update(n, tt.rows[0]),
			tt.update(2, tt.rows[2]), fmt.Sprintf("DELETE FROM `%s` WHERE id=3", tt.name),
			fmt.Sprintf("UPDATE `%s` SET id=id+100 WHERE id=2", tt.name))
		// the same values again, in one multi-row insert
		var vals []string
		for i, r := range tt.rows {
			vals = append(vals, fmt.Sprintf("(%d,%s)", 200+i, strings.Join(r, ",")))
		}
		stmts = append(stmts, fmt.Sprintf("INSERT INTO `%s` (id,%s) VALUES %s", tt.name, strings.Join(tt.set, ","), strings.Join(vals, ",")))
	}
	p.source(stmts...)
	p.mustRun()
	for _, tt := range typeMatrix {
		p.same(tt.name)
		if got := len(testenv.DumpTable(t, p.tgt, p.db, tt.name)); got != 2*len(tt.rows)-1 {
			t.Errorf("%s: %d rows on the target, want %d", tt.name, got, 2*len(tt.rows)-1)
		}
	}
	var ts string
	if err := p.tgt.QueryRow("SELECT UNIX_TIMESTAMP(ts) FROM `" + p.db + "`.temporal WHERE id=204").Scan(&ts); err != nil || ts != "1635643800.500000" {
		t.Errorf("second DST 02:30 instant on the target: %q, %v; want 1635643800.500000", ts, err)
	}
}

// typesWithoutRowMetadata: with binlog_row_metadata=NO_LOG the events
// carry neither column names nor signedness; both come from the schema
// history (seeded from information_schema at the start position).
func typesWithoutRowMetadata(t *testing.T, priv *testenv.MariaDB) {
	fams := typeMatrix // every family, names and signedness from the history
	var schema []string
	for _, tt := range fams {
		schema = append(schema, tt.create())
	}
	p := newPipeOn(t, priv, schema...)
	var stmts []string
	for _, tt := range fams {
		for i, r := range tt.rows {
			stmts = append(stmts, tt.insert(i+1, r))
		}
		stmts = append(stmts, tt.update(1, tt.rows[len(tt.rows)-1]), fmt.Sprintf("DELETE FROM `%s` WHERE id=2", tt.name))
	}
	p.source(stmts...)
	p.mustRun()
	for _, tt := range fams {
		p.same(tt.name)
	}
}
