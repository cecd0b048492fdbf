package redact

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"root:s3cr3t!@tcp(127.0.0.1:3306)/db", "root:xxxxx@tcp(127.0.0.1:3306)/db"},
		{"dial evac:hunter22@tcp(db:3306)/?tls=true failed", "dial evac:xxxxx@tcp(db:3306)/?tls=true failed"},
		{"user:p@ss:w0rd@tcp(h)/", "user:xxxxx@tcp(h)/"},
		{"mysql://admin:pa55@db.internal:3306/x", "mysql://admin:xxxxx@db.internal:3306/x"},
		{"https://u:pw@s3.example.com/bucket", "https://u:xxxxx@s3.example.com/bucket"},
		{"key AKIAIOSFODNN7EXAMPLE used", "key AKIAxxxxx used"},
		{"secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end", "secret xxxxx end"},
		{"aws_secret_access_key=abcdEFGH1234", "aws_secret_access_key=xxxxx"},
		{`password: "hunter2"`, `password: "xxxxx"`},
		{"no secrets in s3://bucket/prefix", "no secrets in s3://bucket/prefix"},
		{"root@tcp(127.0.0.1:3306)/", "root@tcp(127.0.0.1:3306)/"},
		{"table db.t key (1,2)", "table db.t key (1,2)"},
		{"Error 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: YES)", "Error 1045 (28000): Access denied for user 'root'@'127.0.0.1' (using password: YES)"},
		{"open /tmp/TestConfigErrorRedacted773526580/001/evac.yaml: no such file", "open /tmp/TestConfigErrorRedacted773526580/001/evac.yaml: no such file"},
		{"s3://bucket/a/very/long/prefix/with/many/segments/x1", "s3://bucket/a/very/long/prefix/with/many/segments/x1"},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRegister(t *testing.T) {
	Register("Tr0ub4dor&3", "ab")
	got := String("login failed for pw Tr0ub4dor&3 (ab)")
	if strings.Contains(got, "Tr0ub4dor") || !strings.Contains(got, "(ab)") {
		t.Fatalf("got %q", got)
	}
}

func TestError(t *testing.T) {
	base := errors.New("boom")
	err := Error(fmt.Errorf("connect root:topsecret@tcp(h:1)/: %w", base))
	if !errors.Is(err, base) {
		t.Fatal("errors.Is lost")
	}
	if want := "connect root:xxxxx@tcp(h:1)/: boom"; err.Error() != want {
		t.Fatalf("got %q want %q", err.Error(), want)
	}
	if Error(nil) != nil {
		t.Fatal("nil")
	}
}
