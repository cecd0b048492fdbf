package apply_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Streams and appliers started by the tests must release every goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
