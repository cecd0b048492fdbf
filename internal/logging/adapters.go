package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	smithylogging "github.com/aws/smithy-go/logging"
)

// Libraries that log on their own (the AWS SDK, go-sql-driver) are routed
// through slog.Default(), which the CLI sets to its redacting logger, so
// their lines are redacted and follow --log-format like evac's own.

// Smithy adapts the AWS SDK's logger: SDK warnings at WARN, debug at DEBUG.
func Smithy() smithylogging.Logger { return smithyLogger{} }

type smithyLogger struct{}

func (smithyLogger) Logf(c smithylogging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == smithylogging.Warn {
		level = slog.LevelWarn
	}
	slog.Default().Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
}

// MySQLDriver adapts go-sql-driver's logger (mysql.SetLogger).
type MySQLDriver struct{}

// Print logs one driver message at WARN.
func (MySQLDriver) Print(v ...any) {
	slog.Default().Warn("mysql driver: " + strings.TrimSpace(fmt.Sprint(v...)))
}
