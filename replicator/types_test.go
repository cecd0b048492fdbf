package replicator_test

import (
	"context"
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
)

// TestSnapshotTypes copies edge values of every type family through the
// snapshot path (chunk reads in the binary protocol, charset=binary, UTC)
// and compares HEX() of every column; then changes them through the stream.
func TestSnapshotTypes(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source(
		`CREATE TABLE {db}.ty (
		  id INT UNSIGNED PRIMARY KEY,
		  i8 TINYINT, u64 BIGINT UNSIGNED, dec65 DECIMAL(65,30),
		  f FLOAT, d DOUBLE,
		  dt DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME(6), y YEAR, da DATE,
		  l1 VARCHAR(20) CHARACTER SET latin1, u8 VARCHAR(20) CHARACTER SET utf8mb4, tx TEXT,
		  bn BINARY(4), vb VARBINARY(10), bl BLOB,
		  en ENUM('a','b','c'), st SET('x','y','z'), b1 BIT(1), b64 BIT(64),
		  js JSON, inv INT INVISIBLE DEFAULT 7, gen INT AS (i8 + 1) VIRTUAL, pt POINT NULL
		) ENGINE=InnoDB`,
		`INSERT INTO {db}.ty (id, i8, u64, dec65, f, d, dt, ts, tm, y, da, l1, u8, tx, bn, vb, bl, en, st, b1, b64, js, inv, pt) VALUES
		 (1, -128, 18446744073709551615, '-12345678901234567890123456789012345.123456789012345678901234567891', -0.0, 4.9e-324,
		  '1000-01-01 00:00:00.000001', '2038-01-19 03:14:07.999999', '-838:59:59.000000', 1901, '9999-12-31',
		  CONCAT('caf', CHAR(233 USING latin1)), 'emoji 😀', '', UNHEX('00010000'), UNHEX('FF00'), UNHEX('00FE00'),
		  'c', 'x,z', b'1', b'1111111111111111111111111111111111111111111111111111111111111111', '{"a": [1, 2.5, "x"]}', 9, ST_GeomFromText('POINT(1 2)')),
		 (2, NULL, 0, 0, 3.40282e38, -1.7976931348623157e308, NULL, NULL, '00:00:00', 2155, NULL,
		  '', '', NULL, UNHEX('00000000'), '', NULL, NULL, '', b'0', b'0', NULL, DEFAULT, NULL),
		 (3, 127, 1, 0.000000000000000000000000000001, 1.17549435e-38, 2.2250738585072014e-308, '2024-03-31 02:30:00.5', '1970-01-01 00:00:01', '838:59:59.999999', 2000, '2024-02-29',
		  'x', 'ü', REPEAT('t', 1000), UNHEX('FFFFFFFF'), UNHEX('00'), REPEAT(UNHEX('00'), 100), 'a', 'x,y,z', b'1', b'1000000000000000000000000000000000000000000000000000000000000000', '[]', 0, NULL)`,
	)
	if err := e.run(context.Background(), e.config()); err != nil {
		t.Fatal(err)
	}
	e.same("ty")
	e.source(
		"UPDATE {db}.ty SET d = d / 3, f = -f, u8 = CONCAT(u8, '🎉'), b64 = b64 >> 1, ts = '2001-02-03 04:05:06.7' WHERE id IN (1, 3)",
		"DELETE FROM {db}.ty WHERE id = 2",
	)
	if err := e.run(context.Background(), e.config()); err != nil {
		t.Fatal(err)
	}
	e.same("ty")
}
