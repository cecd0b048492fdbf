package testenv

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// DumpTable returns every row of schema.table as one text line, sorted:
// each column as HEX of its bytes (NULL distinct from empty), TIMESTAMP as
// UNIX_TIMESTAMP (independent of the session time zone), FLOAT/DOUBLE also
// at full precision with the sign of zero. Two tables hold the same data
// exactly when their dumps are equal; tests compare source and target with it.
func DumpTable(t testing.TB, db *sql.DB, schema, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA=? AND TABLE_NAME=? ORDER BY ORDINAL_POSITION`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for rows.Next() {
		var c, dt string
		if err := rows.Scan(&c, &dt); err != nil {
			t.Fatal(err)
		}
		q := "`" + c + "`"
		e := "COALESCE(HEX(" + q + "),'NULL')"
		if dt == "timestamp" {
			e = "COALESCE(UNIX_TIMESTAMP(" + q + "),'NULL')"
		}
		if dt == "float" || dt == "double" {
			e = "CONCAT(" + e + ",'/',COALESCE(CAST(" + q + " AS CHAR),'NULL'),'/',COALESCE(" + q + "=0 AND CAST(" + q + " AS CHAR) LIKE '-%','x'))"
		}
		exprs = append(exprs, e)
	}
	rows.Close()
	q := fmt.Sprintf("SELECT CONCAT_WS('|',%s) r FROM `%s`.`%s` ORDER BY r", strings.Join(exprs, ","), schema, table)
	rs, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var r string
		if err := rs.Scan(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
