package chunk

import (
	"fmt"
	"strings"
)

// Placeholder returns the SQL expression that binds one value of column c
// so the server compares it with the column's own type and collation.
func Placeholder(c Column) string {
	switch c.Kind {
	case KindString:
		// Values travel as raw bytes (charset=binary); relabel them with the
		// column charset and collation so the server orders them as the index does.
		return fmt.Sprintf("CONVERT(? USING %s) COLLATE %s", c.Charset, c.Collation)
	case KindDecimal:
		return fmt.Sprintf("CAST(? AS DECIMAL(%d,%d))", c.Precision, c.Scale)
	case KindTemporal:
		if c.DataType == "date" {
			return "CAST(? AS DATE)"
		}
		return fmt.Sprintf("CAST(? AS DATETIME(%d))", c.Scale)
	}
	return "?"
}

// cmpExpr builds "cols OP vals" lexicographically for a key, expanded into
// ORs of equalities (range-optimizable on MariaDB, unlike row constructors).
// final is the operator on the last column (">=", "<", ">"...), strict the
// operator on the leading ones (">" or "<").
func cmpExpr(cols []Column, vals []any, strict, final string, colExpr func(Column) string, valExpr func(Column) string) (string, []any) {
	n := len(cols)
	var b strings.Builder
	var args []any
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(")
		for j := 0; j < i; j++ {
			fmt.Fprintf(&b, "%s = %s AND ", colExpr(cols[j]), valExpr(cols[j]))
			args = append(args, vals[j])
		}
		op := strict
		if i == n-1 {
			op = final
		}
		fmt.Fprintf(&b, "%s %s %s)", colExpr(cols[i]), op, valExpr(cols[i]))
		args = append(args, vals[i])
	}
	return "(" + b.String() + ")", args
}

func colIdent(c Column) string { return QuoteIdent(c.Name) }

// GreaterEq returns "key >= vals" for the key's columns.
func GreaterEq(k Key, vals []any) (string, []any) {
	return cmpExpr(k.Columns, vals, ">", ">=", colIdent, Placeholder)
}

// Less returns "key < vals" for the key's columns.
func Less(k Key, vals []any) (string, []any) {
	return cmpExpr(k.Columns, vals, "<", "<", colIdent, Placeholder)
}

// RangeWhere returns the condition selecting rows of [lo, hi) (nil = open)
// and its arguments; "1=1" for a chunk open on both sides.
func RangeWhere(k Key, lo, hi []any) (string, []any) {
	var parts []string
	var args []any
	if lo != nil {
		s, a := GreaterEq(k, lo)
		parts, args = append(parts, s), append(args, a...)
	}
	if hi != nil {
		s, a := Less(k, hi)
		parts, args = append(parts, s), append(args, a...)
	}
	if len(parts) == 0 {
		return "1=1", nil
	}
	return strings.Join(parts, " AND "), args
}

// OrderBy returns the key's column list for ORDER BY / SELECT.
func OrderBy(k Key) string {
	q := make([]string, len(k.Columns))
	for i, c := range k.Columns {
		q[i] = QuoteIdent(c.Name)
	}
	return strings.Join(q, ", ")
}

// boundaryQuery returns the query finding the key n rows after lo.
func boundaryQuery(k Key, lo, end []any, n int) (string, []any) {
	where, args := RangeWhere(k, lo, end)
	q := fmt.Sprintf("SELECT %s FROM %s FORCE INDEX (%s) WHERE %s ORDER BY %s LIMIT 1 OFFSET %d",
		OrderBy(k), k.QualifiedTable(), QuoteIdent(k.Index), where, OrderBy(k), n)
	return q, args
}
