package change

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// wireRow is Row with values tagged by kind, so gob keeps int64/uint64/
// float32/float64 apart and an empty []byte does not come back as nil
// (which would bind as NULL).
type wireRow struct {
	Op        Op
	Table     TableID
	Columns   []string
	Before    []wireVal
	After     []wireVal
	HasBefore bool
	HasAfter  bool
	Key       []int
	Generated []bool
	NoFK      bool
}

type wireVal struct {
	K uint8 // 0 nil, 1 int64, 2 uint64, 3 float32, 4 float64, 5 bytes
	I int64
	U uint64
	F float64
	B []byte
}

func toWire(vals []any) ([]wireVal, error) {
	out := make([]wireVal, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
		case int64:
			out[i] = wireVal{K: 1, I: x}
		case uint64:
			out[i] = wireVal{K: 2, U: x}
		case float32:
			out[i] = wireVal{K: 3, F: float64(x)}
		case float64:
			out[i] = wireVal{K: 4, F: x}
		case []byte:
			out[i] = wireVal{K: 5, B: x}
		default:
			return nil, fmt.Errorf("encode rows: unsupported value %T", v)
		}
	}
	return out, nil
}

func fromWire(vals []wireVal) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		switch v.K {
		case 1:
			out[i] = v.I
		case 2:
			out[i] = v.U
		case 3:
			out[i] = float32(v.F)
		case 4:
			out[i] = v.F
		case 5:
			out[i] = append([]byte{}, v.B...)
		}
	}
	return out
}

// EncodeRows serializes rows (values keep their Go types) for storage.
func EncodeRows(rows []Row) ([]byte, error) {
	w := make([]wireRow, len(rows))
	for i, r := range rows {
		b, err := toWire(r.Before)
		if err != nil {
			return nil, err
		}
		a, err := toWire(r.After)
		if err != nil {
			return nil, err
		}
		w[i] = wireRow{Op: r.Op, Table: r.Table, Columns: r.Columns, Before: b, After: a,
			HasBefore: r.Before != nil, HasAfter: r.After != nil, Key: r.Key, Generated: r.Generated, NoFK: r.NoFKChecks}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(w); err != nil {
		return nil, fmt.Errorf("encode rows: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeRows is the inverse of EncodeRows.
func DecodeRows(data []byte) ([]Row, error) {
	var w []wireRow
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&w); err != nil {
		return nil, fmt.Errorf("decode rows: %w", err)
	}
	rows := make([]Row, len(w))
	for i, r := range w {
		rows[i] = Row{Op: r.Op, Table: r.Table, Columns: r.Columns, Key: r.Key, Generated: r.Generated, NoFKChecks: r.NoFK}
		if r.HasBefore {
			rows[i].Before = fromWire(r.Before)
		}
		if r.HasAfter {
			rows[i].After = fromWire(r.After)
		}
	}
	return rows, nil
}
