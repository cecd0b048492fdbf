package apply_test

import (
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
)

// TestWithoutRowMetadata runs the cases that need a private source with
// binlog_row_metadata=NO_LOG (events without column names or signedness)
// on one server.
func TestWithoutRowMetadata(t *testing.T) {
	priv := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true,
		ExtraArgs: []string{"--binlog-row-metadata=NO_LOG", "--sql-mode=NO_ENGINE_SUBSTITUTION"}})
	t.Run("types", func(t *testing.T) { typesWithoutRowMetadata(t, priv) })
	t.Run("binary-and-char-keys", func(t *testing.T) { binaryAndCharKeys(t, priv) })
	t.Run("stale-history", func(t *testing.T) { staleHistoryWithoutRowMetadata(t, priv) })
	t.Run("heartbeat-recorded", func(t *testing.T) { heartbeatRecorded(t, priv) })
}
