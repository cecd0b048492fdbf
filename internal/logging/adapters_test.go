package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	smithylogging "github.com/aws/smithy-go/logging"
)

func TestLibraryLoggersAreRedacted(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, Options{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	old := slog.Default()
	slog.SetDefault(l)
	defer slog.SetDefault(old)
	Smithy().Logf(smithylogging.Warn, "retrying with key %s", "AKIAIOSFODNN7EXAMPLE")
	MySQLDriver{}.Print("closing bad idle connection to evac:S3cretPw!@tcp(db:3306)/")
	out := buf.String()
	for _, leak := range []string{"AKIAIOSFODNN7EXAMPLE", "S3cretPw"} {
		if strings.Contains(out, leak) {
			t.Fatalf("leaked %q: %s", leak, out)
		}
	}
	for _, want := range []string{`"level":"WARN","msg":"aws sdk: retrying with key AKIAxxxxx"`, `"msg":"mysql driver: closing bad idle connection to evac:xxxxx@tcp(db:3306)/"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %s in %s", want, out)
		}
	}
}
