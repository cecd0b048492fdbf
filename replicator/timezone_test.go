package replicator

import "testing"

func TestOffsetZone(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "+00:00"}, {"00:00", "+00:00"}, {"01:00", "+01:00"}, {"-05:30", "-05:30"}, {"13:45", "+13:45"},
	} {
		if got := offsetZone(c.in); got != c.want {
			t.Errorf("offsetZone(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
