package binlog

import (
	"context"
	"log/slog"

	"github.com/evac-dev/evac/internal/redact"
)

// libraryLogger wraps l for go-mysql's own log lines ("create BinlogSyncer",
// "syncer is closing...", "kill last connection"): they are library
// details, so every one is logged at DEBUG (a user at INFO sees only evac's
// messages; evac reports stream errors itself), and the syncer's "config"
// attribute, which holds the replication password, is never logged.
func libraryLogger(l *slog.Logger) *slog.Logger {
	return slog.New(&libraryHandler{h: l.Handler()})
}

type libraryHandler struct{ h slog.Handler }

func (d *libraryHandler) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d *libraryHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, slog.LevelDebug, "go-mysql: "+redact.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(libraryAttr(a))
		return true
	})
	return d.h.Handle(ctx, nr)
}

// libraryAttr drops the syncer config (it holds the password) and masks
// registered secrets in everything else.
func libraryAttr(a slog.Attr) slog.Attr {
	if a.Key == "config" {
		return slog.String("config", "(not logged: holds credentials)")
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact.String(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, redact.String(err.Error()))
		}
	}
	return a
}

func (d *libraryHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = libraryAttr(a)
	}
	return &libraryHandler{h: d.h.WithAttrs(out)}
}

func (d *libraryHandler) WithGroup(name string) slog.Handler {
	return &libraryHandler{h: d.h.WithGroup(name)}
}
