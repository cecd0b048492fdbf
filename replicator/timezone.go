package replicator

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/evac-dev/evac/internal/redact"
)

// sourceTimeZone is the zone DDL is replayed in when its event carries no
// time zone or SYSTEM: the source's @@global.time_zone when the target
// knows that name (a named zone needs the target's tz tables), else the
// source's current UTC offset (SYSTEM is the source host's zone, never the
// target's).
func sourceTimeZone(ctx context.Context, src, tgt *sql.DB) (string, error) {
	var global, diff string
	err := src.QueryRowContext(ctx, "SELECT @@GLOBAL.time_zone, "+
		"TIME_FORMAT(TIMEDIFF(CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', @@GLOBAL.time_zone), UTC_TIMESTAMP()), '%H:%i')").Scan(&global, &diff)
	if err != nil {
		return "", fmt.Errorf("source: read time_zone: %w", redact.Error(err))
	}
	if !strings.EqualFold(global, "SYSTEM") {
		var ok sql.NullString
		if tgt.QueryRowContext(ctx, "SELECT CONVERT_TZ('2000-01-01 00:00:00', '+00:00', ?)", global).Scan(&ok) == nil && ok.Valid {
			return global, nil
		}
	}
	return offsetZone(diff), nil
}

// offsetZone turns TIMEDIFF text ("01:00", "-05:30") into a time_zone
// value ("+01:00", "-05:30").
func offsetZone(diff string) string {
	if diff == "" {
		return "+00:00"
	}
	if strings.HasPrefix(diff, "-") {
		return diff
	}
	return "+" + diff
}
