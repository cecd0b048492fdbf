package binlog

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/evac-dev/evac/internal/redact"
)

func TestLibraryLoggerDebugAndNoPassword(t *testing.T) {
	redact.Register("s3cr3t-pw")
	cases := []struct {
		level   slog.Level
		visible bool
	}{{slog.LevelInfo, false}, {slog.LevelDebug, true}}
	for _, c := range cases {
		var buf bytes.Buffer
		l := libraryLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: c.level})))
		cfg := replication.BinlogSyncerConfig{User: "repl", Password: "pw1", Host: "127.0.0.1"}
		l.Info("create BinlogSyncer", slog.Any("config", cfg))
		l.Error("kill connection", slog.Any("error", errors.New("dial repl:s3cr3t-pw@tcp")))
		out := buf.String()
		if got := strings.Contains(out, "create BinlogSyncer"); got != c.visible {
			t.Fatalf("level %v: go-mysql line visible=%v, want %v:\n%s", c.level, got, c.visible, out)
		}
		if strings.Contains(out, "pw1") || strings.Contains(out, "s3cr3t-pw") {
			t.Fatalf("password in log:\n%s", out)
		}
		if c.visible && (!strings.Contains(out, "level=DEBUG") || strings.Contains(out, "level=INFO") || strings.Contains(out, "level=ERROR")) {
			t.Fatalf("go-mysql lines must be DEBUG:\n%s", out)
		}
	}
}
