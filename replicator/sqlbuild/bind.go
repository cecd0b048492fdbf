package sqlbuild

import "math"

// Bindable converts a decoded row value into what the driver binds exactly:
// a negative zero keeps its sign (text interpolation prints -0 as 0), and a
// float32 is widened so the driver does not round-trip it through text.
func Bindable(v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 && math.Signbit(x) {
			return []byte("-0e0")
		}
	case float32:
		if x == 0 && math.Signbit(float64(x)) {
			return []byte("-0e0")
		}
		return float64(x)
	}
	return v
}
