package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestNoSecretsInLogLines(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := New(&buf, Options{Format: format})
		if err != nil {
			t.Fatal(err)
		}
		log.With("source", "evac:P4ssw0rd!@tcp(10.0.0.1:3306)/").
			Info("connecting with key AKIAIOSFODNN7EXAMPLE to root:P4ssw0rd!@tcp(h:1)/",
				"err", errors.New("dial evac:P4ssw0rd!@tcp(h:3306)/ refused"),
				"secret", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
		out := buf.String()
		for _, s := range []string{"P4ssw0rd", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI"} {
			if strings.Contains(out, s) {
				t.Errorf("%s log leaks %q: %s", format, s, out)
			}
		}
		if !strings.Contains(out, "evac:xxxxx@tcp(10.0.0.1:3306)/") {
			t.Errorf("%s log lost the redacted DSN: %s", format, out)
		}
		if format == "json" {
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
		}
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, Options{Format: "xml"}); err == nil || err.Error() != `log format "xml": use text or json` {
		t.Fatalf("err=%v", err)
	}
	if _, err := ParseLevel("loud"); err == nil || err.Error() != `log level "loud": use debug, info, warn or error` {
		t.Fatalf("err=%v", err)
	}
	if l, _ := ParseLevel("debug"); l != slog.LevelDebug {
		t.Fatal(l)
	}
}
