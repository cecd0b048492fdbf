package position

import (
	"errors"
	"testing"
)

const (
	u1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	u2 = "4e11fa47-71ca-11e1-9e33-c80aa9429562"
)

func TestParseDetectString(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind
		out  string
	}{
		{"", None, ""},
		{"0-1-100", MariaDBGTID, "0-1-100"},
		{"1-2-7,0-1-100", MariaDBGTID, "0-1-100,1-2-7"},
		{" 0-1-100, 1-2-7 ", MariaDBGTID, "0-1-100,1-2-7"},
		{u1 + ":1-100", MySQLGTID, u1 + ":1-100"},
		{u2 + ":1-5," + u1 + ":1-100", MySQLGTID, u1 + ":1-100," + u2 + ":1-5"},
		{u1 + ":1-5:7-9", MySQLGTID, u1 + ":1-5:7-9"},
		{"mysql-bin.000003:1234", FilePos, "mysql-bin.000003:1234"},
		{"/var/lib/mysql/bin.000001:4", FilePos, "/var/lib/mysql/bin.000001:4"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if p.Kind != tt.kind || p.String() != tt.out {
			t.Errorf("Parse(%q) = %s %q, want %s %q", tt.in, p.Kind, p.String(), tt.kind, tt.out)
		}
		if Detect(tt.in) != tt.kind {
			t.Errorf("Detect(%q) = %s", tt.in, Detect(tt.in))
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"garbage", "mysql-bin.000001:abc", "0-1", u1 + ":5-1"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q): want error", in)
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
		err  bool
	}{
		{"bin.000001:100", "bin.000001:200", -1, false},
		{"bin.000002:4", "bin.000001:900", 1, false},
		{"bin.999999:4", "bin.1000000:4", -1, false},
		{"bin.000001:100", "bin.000001:100", 0, false},
		{"0-1-100", "0-1-99", 1, false},
		{"0-1-100,1-2-7", "0-1-100", 1, false},
		{"0-1-100,1-2-7", "0-1-100,1-2-7", 0, false},
		{"0-1-100,1-2-5", "0-1-99,1-2-7", 0, true},
		{"0-1-5", "0-2-5", 0, false}, // MariaDB: same domain+seq, server id is not ordering
		{u1 + ":1-100", u1 + ":1-99", 1, false},
		{u1 + ":1-100", u1 + ":1-100," + u2 + ":1", -1, false},
		{u1 + ":1-10", u2 + ":1-10", 0, true},
		{"0-1-5", u1 + ":1-5", 0, true},
	}
	for _, tt := range tests {
		got, err := MustParse(tt.a).Compare(MustParse(tt.b))
		if tt.err {
			if !errors.Is(err, ErrIncomparable) {
				t.Errorf("Compare(%s, %s): err %v, want ErrIncomparable", tt.a, tt.b, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Compare(%s, %s) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"0-1-100,1-2-7", "1-2-7", true},
		{"0-1-100", "1-2-7", false},
		{u1 + ":1-100", u1 + ":50", true},
		{u1 + ":1-49:51-100", u1 + ":50", false},
		{"bin.000002:4", "bin.000001:999", true},
		{"0-1-1", "", true},
	}
	for _, tt := range tests {
		if got := MustParse(tt.a).Contains(MustParse(tt.b)); got != tt.want {
			t.Errorf("%s.Contains(%s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestBehind(t *testing.T) {
	tests := []struct {
		a, b string
		want int64
		ok   bool
	}{
		{"0-1-100,1-2-7", "0-1-90,1-2-7", 10, true},
		{"0-1-100,1-2-7", "0-1-100", 7, true},
		{"0-1-100", "", 100, true},
		{"0-1-90", "0-1-100", 0, true},
		{u1 + ":1-100," + u2 + ":1-5", u1 + ":1-60", 45, true},
		{u1 + ":1-100", u1 + ":1-10:20-30", 79, true},
		{"bin.000001:4", "bin.000001:4", 0, false},
	}
	for _, tt := range tests {
		got, ok := Behind(MustParse(tt.a), MustParse(tt.b))
		if got != tt.want || ok != tt.ok {
			t.Errorf("Behind(%s, %s) = %d,%v; want %d,%v", tt.a, tt.b, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAddGTID(t *testing.T) {
	p := MustParse("0-1-100,1-2-7")
	c := p.Clone()
	if err := p.AddGTID("1-2-8"); err != nil {
		t.Fatal(err)
	}
	if err := p.AddGTID("2-3-1"); err != nil {
		t.Fatal(err)
	}
	if p.String() != "0-1-100,1-2-8,2-3-1" || c.String() != "0-1-100,1-2-7" {
		t.Fatalf("got %s (clone %s)", p, c)
	}
	m := MustParse(u1 + ":1-5")
	if err := m.AddGTID(u1 + ":6"); err != nil {
		t.Fatal(err)
	}
	if m.String() != u1+":1-6" {
		t.Fatalf("got %s", m)
	}
	f := NewFilePos("b.000001", 4)
	if err := f.AddGTID("0-1-1"); err == nil {
		t.Fatal("want error adding GTID to file/pos")
	}
}
