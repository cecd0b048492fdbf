package testenv

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
		wantErr  string
	}{
		{"quoted", "# c\nEVAC_TEST_SOURCE_DSN='root:pw@tcp(127.0.0.1:1)/'\n", map[string]string{"EVAC_TEST_SOURCE_DSN": "root:pw@tcp(127.0.0.1:1)/"}, ""},
		{"double quoted and export", "export A=\"x y\"\n\nB=plain\n", map[string]string{"A": "x y", "B": "plain"}, ""},
		{"empty value", "A=''\n", map[string]string{"A": ""}, ""},
		{"bad line", "A=1\nnonsense\n", nil, `line 2: want KEY=value, got "nonsense"`},
		{"empty file", "# only a comment\n", nil, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEnv(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestUniqueName(t *testing.T) {
	tests := []struct {
		test, prefix, sep string
		max               int
		want              string // regexp
	}{
		{"TestCopy/small_table", "evac_", "_", 64, `^evac_testcopy_small_table_[0-9a-f]{8}$`},
		{"TestX/Ünïcode--and spaces", "evac-", "-", 63, `^evac-testx-n-code-and-spaces-[0-9a-f]{8}$`},
		{"///", "evac_", "_", 64, `^evac_t_[0-9a-f]{8}$`},
		{strings.Repeat("TestVeryLongName", 10), "evac-", "-", 63, `^evac-(testverylongname)+t?e?s?t?v?e?r?y?-[0-9a-f]{8}$`},
	}
	for _, tt := range tests {
		got := uniqueName(tt.test, tt.prefix, tt.sep, tt.max)
		if !regexp.MustCompile(tt.want).MatchString(got) || len(got) > tt.max {
			t.Errorf("uniqueName(%q) = %q (len %d), want match %s and len <= %d", tt.test, got, len(got), tt.want, tt.max)
		}
	}
	if a, b := uniqueName("T", "x", "_", 64), uniqueName("T", "x", "_", 64); a == b {
		t.Errorf("two names are equal: %s", a)
	}
}

func TestCheckMySQLNeverShowsPassword(t *testing.T) {
	const pw = "s3cr3t-Pw-for-testenv"
	for _, dsn := range []string{
		"root:" + pw + "@tcp(127.0.0.1:1)/",    // nothing listens on port 1
		"root:" + pw + "@tcp(127.0.0.1:1/oops", // malformed
	} {
		err := CheckMySQL(context.Background(), SourceName, dsn)
		if err == nil {
			t.Fatalf("CheckMySQL(%q) = nil, want an error", dsn)
		}
		t.Log(err)
		if msg := err.Error(); strings.Contains(msg, pw) || !strings.HasPrefix(msg, SourceName) || !strings.HasSuffix(msg, Fix) {
			t.Errorf("error %q: want it to start with %q, end with the fix, and hide the password", msg, SourceName)
		}
	}
}
