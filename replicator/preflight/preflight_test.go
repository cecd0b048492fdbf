package preflight

import (
	"strings"
	"testing"
)

func TestGrantPattern(t *testing.T) {
	cases := []struct {
		pattern, schema string
		want            bool
	}{
		{"shop", "shop", true},
		{"shop", "shop2", false},
		{`evac\_x`, "evac_x", true},
		{`evac\_x`, "evacXx", false},
		{"evac_x", "evacXx", true}, // unescaped _ is a wildcard
		{"app%", "app_eu", true},
		{"app%", "ap", false},
	}
	for _, c := range cases {
		if got := grantPattern(c.pattern).MatchString(c.schema); got != c.want {
			t.Errorf("grant %q matches %q = %v, want %v", c.pattern, c.schema, got, c.want)
		}
	}
}

func TestMariaPurged(t *testing.T) {
	cases := []struct {
		pos, list string
		purged    bool
	}{
		{"0-1-100", "0-1-50", false},
		{"0-1-100", "0-1-100", false},
		{"0-1-100", "0-1-101", true},
		{"0-1-100,1-2-5", "0-1-90,1-2-6", true},
		{"0-1-100", "0-1-90,1-2-6", true}, // a domain the checkpoint never saw, partly purged
		{"0-1-100", "", false},
	}
	for _, c := range cases {
		if got := mariaPurged(c.pos, c.list) != ""; got != c.purged {
			t.Errorf("mariaPurged(%q, %q) = %v, want %v", c.pos, c.list, got, c.purged)
		}
	}
}

func TestErrorListsEveryProblem(t *testing.T) {
	var r Result
	r.fail("a", "first fix")
	r.fail("b", "second fix")
	r.warn("c", "just a warning")
	err := r.Err()
	if err == nil || !strings.Contains(err.Error(), "preflight found 2 problems:\n  - first fix\n  - second fix") {
		t.Fatalf("Err() = %v", err)
	}
	if (&Result{}).Err() != nil {
		t.Fatal("no errors must give nil")
	}
}

func TestMaxDeclared(t *testing.T) {
	if maxDeclared("longblob", 0) != 4<<30 || maxDeclared("varchar", 400) != 400 || maxDeclared("int", 0) != 8 {
		t.Fatal("maxDeclared")
	}
}
