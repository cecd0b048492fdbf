package snapshot

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/evac-dev/evac/replicator/chunk"
)

// encodeKey turns a normalized key tuple into a map key: equal tuples
// (byte-for-byte) give equal strings.
func encodeKey(vals []any) string {
	var b []byte
	for _, v := range vals {
		switch x := v.(type) {
		case int64:
			b = append(b, 'i')
			b = binary.BigEndian.AppendUint64(b, uint64(x))
		case uint64:
			b = append(b, 'u')
			b = binary.BigEndian.AppendUint64(b, x)
		case []byte:
			b = append(b, 's')
			b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
			b = append(b, x...)
		default:
			b = append(b, 'x')
			b = append(b, fmt.Sprint(x)...)
		}
	}
	return string(b)
}

// columnIndex maps lower-cased column names to positions.
func columnIndex(cols []string) map[string]int {
	m := make(map[string]int, len(cols))
	for i, c := range cols {
		m[strings.ToLower(c)] = i
	}
	return m
}

// keyOf extracts and normalizes the key tuple of a row image whose columns
// are cols.
func keyOf(k chunk.Key, cols []string, vals []any) ([]any, error) {
	idx := columnIndex(cols)
	out := make([]any, len(k.Columns))
	for i, c := range k.Columns {
		j, ok := idx[strings.ToLower(c.Name)]
		if !ok || j >= len(vals) {
			return nil, fmt.Errorf("table %s: row has no key column %s", k.QualifiedTable(), c.Name)
		}
		v, err := chunk.Normalize(c, vals[j])
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", k.QualifiedTable(), err)
		}
		out[i] = v
	}
	return out, nil
}

// A persisted key tuple: JSON array of {"i":..}|{"u":..}|{"b":base64}.
type jsonVal struct {
	I *int64  `json:"i,omitempty"`
	U *uint64 `json:"u,omitempty"`
	B []byte  `json:"b,omitempty"`
}

// marshalKey encodes a key tuple for evac_meta (nil: open bound).
func marshalKey(vals []any) (any, error) {
	if vals == nil {
		return nil, nil
	}
	out := make([]jsonVal, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case int64:
			out[i].I = &x
		case uint64:
			out[i].U = &x
		case []byte:
			out[i].B = append([]byte{}, x...)
		default:
			return nil, fmt.Errorf("key value of type %T cannot be persisted", v)
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// unmarshalKey decodes marshalKey's output (NULL: open bound).
func unmarshalKey(s []byte) ([]any, error) {
	if s == nil {
		return nil, nil
	}
	var in []jsonVal
	if err := json.Unmarshal(s, &in); err != nil {
		return nil, fmt.Errorf("decode chunk bound %q: %w", s, err)
	}
	out := make([]any, len(in))
	for i, v := range in {
		switch {
		case v.I != nil:
			out[i] = *v.I
		case v.U != nil:
			out[i] = *v.U
		default:
			if v.B == nil {
				v.B = []byte{}
			}
			out[i] = v.B
		}
	}
	return out, nil
}
