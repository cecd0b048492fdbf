// Package logging builds evac's slog loggers: text on a terminal, JSON with
// --log-format json, every message and string attribute passed through
// redact.String so no secret reaches a log line.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/evac-dev/evac/internal/redact"
)

// Options configure New.
type Options struct {
	Format string     // "text" (default) or "json"
	Level  slog.Level // default Info
}

// ParseLevel maps "debug", "info", "warn", "error" to a slog.Level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("log level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// New returns a logger writing to w.
func New(w io.Writer, o Options) (*slog.Logger, error) {
	ho := &slog.HandlerOptions{Level: o.Level, ReplaceAttr: redactAttr}
	var h slog.Handler
	switch strings.ToLower(o.Format) {
	case "", "text":
		h = slog.NewTextHandler(w, ho)
	case "json":
		h = slog.NewJSONHandler(w, ho)
	default:
		return nil, fmt.Errorf("log format %q: use text or json", o.Format)
	}
	return slog.New(&redactHandler{h}), nil
}

// Discard is a logger that drops everything (tests, library callers).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(redact.String(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			a.Value = slog.StringValue(redact.String(err.Error()))
		} else if s, ok := a.Value.Any().(fmt.Stringer); ok {
			a.Value = slog.StringValue(redact.String(s.String()))
		}
	}
	return a
}

// redactHandler masks secrets in the message itself (attributes are handled
// by ReplaceAttr).
type redactHandler struct{ slog.Handler }

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	if m := redact.String(r.Message); m != r.Message {
		nr := slog.NewRecord(r.Time, r.Level, m, r.PC)
		r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(a); return true })
		r = nr
	}
	return h.Handler.Handle(ctx, r)
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &redactHandler{h.Handler.WithAttrs(as)}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h.Handler.WithGroup(name)}
}
