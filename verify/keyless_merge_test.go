package verify

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestMergeHashCounts(t *testing.T) {
	hc := func(pairs ...any) []hashCount {
		var out []hashCount
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, hashCount{pairs[i].(string), int64(pairs[i+1].(int))})
		}
		return out
	}
	h := func(i int) string { return fmt.Sprintf("%032x", i) } // lower-case hex of equal length, as the server prints
	var big []hashCount
	for i := 0; i < 100; i++ {
		big = append(big, hashCount{h(i), 1})
	}
	onlyOdd := func(d RowDiff) bool { return d.RowHash[31]%2 == 1 }
	cases := []struct {
		name     string
		src, dst []hashCount
		limit    int
		keep     func(RowDiff) bool
		want     string
		total    int64
	}{
		{"both empty", nil, nil, 10, nil, "", 0},
		{"equal", hc(h(1), 1, h(2), 2), hc(h(1), 1, h(2), 2), 10, nil, "", 0},
		{"target empty", hc(h(1), 1, h(2), 2), nil, 10, nil, "missing_on_target 1 1 1 0|missing_on_target 2 1 2 0", 2},
		{"source empty", nil, hc(h(1), 3), 10, nil, "extra_on_target 1 1 0 3", 1},
		{"missing row", hc(h(1), 1, h(2), 1, h(3), 1), hc(h(1), 1, h(3), 1), 10, nil, "missing_on_target 2 1 1 0", 1},
		{"extra row", hc(h(1), 1, h(3), 1), hc(h(1), 1, h(2), 1, h(3), 1), 10, nil, "extra_on_target 2 1 0 1", 1},
		{"duplicated row", hc(h(1), 1, h(2), 4), hc(h(1), 1, h(2), 5), 10, nil, "extra_on_target 2 1 4 5", 1},
		{"lost copy", hc(h(2), 4, h(3), 1), hc(h(2), 3, h(3), 1), 10, nil, "missing_on_target 2 1 4 3", 1},
		{"interleaved", hc(h(1), 1, h(3), 2, h(5), 1), hc(h(2), 1, h(3), 1, h(6), 1), 10, nil,
			"missing_on_target 1 1 1 0|extra_on_target 2 1 0 1|missing_on_target 3 1 2 1|missing_on_target 5 1 1 0|extra_on_target 6 1 0 1", 5},
		{"capped, count exact", big, nil, 3, nil, "missing_on_target 0 1 1 0|missing_on_target 1 1 1 0|missing_on_target 2 1 1 0", 100},
		{"capped at zero", nil, big, 0, nil, "", 100},
		{"keep filter counts only kept", big, nil, 2, onlyOdd, "missing_on_target 1 1 1 0|missing_on_target 3 1 1 0", 50},
		{"no cap", hc(h(1), 1), hc(h(1), 2), -1, nil, "extra_on_target 1 1 1 2", 1},
	}
	for _, c := range cases {
		diffs, total, err := mergeHashCounts(sliceStream(c.src), sliceStream(c.dst), c.limit, c.keep)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, d := range diffs {
			got = append(got, fmt.Sprint(d.Kind, " ", short(d.RowHash), " ", len(d.RowHash)/32, " ", d.SourceCount, " ", d.TargetCount))
		}
		if g := strings.Join(got, "|"); g != c.want || total != c.total {
			t.Errorf("%s: got %q (total %d), want %q (total %d)", c.name, g, total, c.want, c.total)
		}
	}
}

// short prints a 32-digit hex hash as its number ("0000...0a" -> "a").
func short(h string) string {
	if s := strings.TrimLeft(h, "0"); s != "" {
		return s
	}
	return "0"
}

func TestMergeHashCountsErrors(t *testing.T) {
	ok := []hashCount{{"0a", 1}, {"0b", 1}}
	unordered := []hashCount{{"0b", 1}, {"0a", 1}}
	upper := []hashCount{{"0a", 1}, {"0B", 1}} // 'B' < 'a': not the byte order of lower-case hex
	boom := errors.New("connection lost")
	failing := func() (hashCount, bool, error) { return hashCount{}, false, boom }
	cases := []struct {
		name     string
		src, dst hashStream
		want     string
	}{
		{"source out of order", sliceStream(unordered), sliceStream(ok), "source row hashes are not in ascending byte order"},
		{"target out of order", sliceStream(ok), sliceStream(upper), "target row hashes are not in ascending byte order"},
		{"duplicate hash", sliceStream(ok), sliceStream([]hashCount{{"0a", 1}, {"0a", 1}}), "target row hashes are not in ascending"},
		{"source error", failing, sliceStream(ok), "source: connection lost"},
		{"target error", sliceStream(ok), failing, "target: connection lost"},
	}
	for _, c := range cases {
		_, _, err := mergeHashCounts(c.src, c.dst, 10, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
		if strings.HasSuffix(c.name, "error") && !errors.Is(err, boom) {
			t.Errorf("%s: %v does not wrap the stream error", c.name, err)
		}
	}
}
