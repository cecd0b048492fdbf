package apply_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/replicator/apply"
)

// TestApplyThroughput is a rough measurement (EVAC_APPLY_PERF=1): rows/s of
// stream+apply for single-row UPDATE transactions, batched 200 per target
// transaction.
func TestApplyThroughput(t *testing.T) {
	if os.Getenv("EVAC_APPLY_PERF") != "1" {
		t.Skip("set EVAC_APPLY_PERF=1")
	}
	p := newPipe(t, "CREATE TABLE t (id INT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60), KEY (k))")
	const n = 5000
	var vals []string
	for i := 0; i < n; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, REPEAT('c', 120), REPEAT('p', 60))", i, i))
	}
	p.both("INSERT INTO t VALUES " + strings.Join(vals, ","))
	p.start = p.sourcePos()
	var stmts []string
	for i := 0; i < n; i++ {
		stmts = append(stmts, fmt.Sprintf("UPDATE t SET k = k + 1 WHERE id = %d", i))
	}
	p.source(stmts...)
	p.batch = 200
	for _, depth := range []int{1, 100} {
		old := apply.SetMaxPipeline(depth)
		if _, err := p.tgt.Exec("UPDATE `" + p.db + "`.t SET k = id"); err != nil { // the target's start state again
			t.Fatal(err)
		}
		_, _ = p.tgt.Exec("DELETE FROM evac_meta.checkpoint WHERE stream_id = ?", p.streamID)
		start := time.Now()
		p.mustRun()
		el := time.Since(start)
		apply.SetMaxPipeline(old)
		t.Logf("pipeline depth %d: applied %d single-row update transactions in %v: %.0f rows/s", depth, n, el, float64(n)/el.Seconds())
		p.same("t")
	}
}
