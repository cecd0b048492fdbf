package binlog

import (
	"testing"

	"go.uber.org/goleak"
)

// The stream starts go-mysql's reader goroutines; Close must join them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
