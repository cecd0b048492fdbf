package main

import (
	"strings"
	"testing"
)

func TestReplicateBadUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"replicate", "--target", "u:p@tcp(h:3306)/"}, "source"},
		{[]string{"replicate", "--source", "u:p@tcp(h:3306)/", "--target", "u:p@tcp(t:3306)/", "--snapshot", "sometimes"}, "sometimes"},
		{[]string{"replicate", "--source", "u:p@tcp(h:3306)/", "--target", "u:p@tcp(t:3306)/", "--tables", "nodot"}, "nodot"},
	}
	for _, c := range cases {
		code, _, errOut := runEvac(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("evac %v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, errOut, c.want)
		}
		if strings.Contains(errOut, ":p@") {
			t.Errorf("password printed: %q", errOut)
		}
	}
}
