package verify

import (
	"fmt"
	"strings"

	"github.com/evac-dev/evac/replicator/chunk"
)

// FixHeader starts a --fix-sql file: the session the literals assume.
const FixHeader = "-- evac verify: statements that would make the target equal to the source.\n" +
	"-- Review before running; evac never applies them. TIMESTAMP literals are UTC.\n" +
	"SET NAMES binary;\nSET time_zone = '+00:00';\n"

// literal renders a normalised value (see normExpr) as a SQL literal for
// a column of type c.
func literal(c column, v []byte) string {
	if v == nil {
		return "NULL"
	}
	s := string(v)
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "bit", "year":
		return s
	case "float", "double", "real", "double precision":
		if strings.HasSuffix(s, "-") { // negative zero marker
			return "-0e0"
		}
		return s
	case "decimal", "numeric", "date", "datetime", "timestamp", "time":
		return "'" + s + "'"
	}
	if cs := charsetOf(c.Collation); cs != "" && cs != "binary" {
		return fmt.Sprintf("CONVERT(X'%X' USING %s)", v, cs)
	}
	if c.DataType == "json" {
		return fmt.Sprintf("CONVERT(X'%X' USING utf8mb4)", v)
	}
	return fmt.Sprintf("X'%X'", v)
}

func charsetOf(collation string) string {
	cs, _, _ := strings.Cut(collation, "_")
	return cs
}

func colByName(j *tableJob, name string) (int, column) {
	for i, c := range j.cols {
		if c.Name == name {
			return i, c
		}
	}
	return -1, column{Name: name, DataType: "varbinary"}
}

// keyWhere renders "k1 = lit AND k2 = lit" from raw key bytes.
func keyWhere(j *tableJob, key []string) string {
	parts := make([]string, len(key))
	for i, kc := range j.key.Columns {
		_, c := colByName(j, kc.Name)
		lit := literal(c, []byte(key[i]))
		if kc.Kind == chunk.KindString {
			lit += " COLLATE " + kc.Collation
		}
		parts[i] = chunk.QuoteIdent(kc.Name) + " = " + lit
	}
	return strings.Join(parts, " AND ")
}

func insertSQL(j *tableJob, r leafRow) string {
	names := make([]string, len(j.cols))
	vals := make([]string, len(j.cols))
	for i, c := range j.cols {
		names[i] = chunk.QuoteIdent(c.Name)
		vals[i] = literal(c, r.vals[i])
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s);", j.qname, strings.Join(names, ", "), strings.Join(vals, ", "))
}

func updateSQL(j *tableJob, r leafRow, cols []string) string {
	set := make([]string, 0, len(cols))
	for _, name := range cols {
		i, c := colByName(j, name)
		set = append(set, chunk.QuoteIdent(name)+" = "+literal(c, r.vals[i]))
	}
	return fmt.Sprintf("UPDATE %s SET %s WHERE %s;", j.qname, strings.Join(set, ", "), keyWhere(j, r.key))
}

func deleteSQL(j *tableJob, key []string) string {
	return fmt.Sprintf("DELETE FROM %s WHERE %s;", j.qname, keyWhere(j, key))
}
