package verify

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
)

// A keyless table with more differing row hashes than MaxKeys: both sides
// are streamed and merged, the first MaxKeys differences are listed and
// the count stays exact.
func TestKeylessStreamCapsListedKeepsCount(t *testing.T) {
	testenv.Require(t)
	srcRoot, dstRoot := testenv.SourceDB(t), testenv.TargetDB(t)
	db := testenv.FreshDatabase(t)
	const rows, doubled, missing = 20000, 1200, 300
	for _, r := range []*struct {
		name string
		do   func(q string)
	}{
		{"source", func(q string) { testenv.Exec(t, srcRoot, q) }},
		{"target", func(q string) { testenv.Exec(t, dstRoot, q) }},
	} {
		r.do(fmt.Sprintf("CREATE TABLE `%s`.k (a INT NOT NULL, b VARCHAR(20) NULL) ENGINE=InnoDB", db))
		r.do(fmt.Sprintf("INSERT INTO `%s`.k SELECT seq, CONCAT('v', seq) FROM `%s`.seq_1_to_%d", db, db, rows))
	}
	// Target: rows 1..doubled have a second copy; the last `missing` rows are gone.
	testenv.Exec(t, dstRoot, fmt.Sprintf("INSERT INTO `%s`.k SELECT seq, CONCAT('v', seq) FROM `%s`.seq_1_to_%d", db, db, doubled))
	testenv.Exec(t, dstRoot, fmt.Sprintf("DELETE FROM `%s`.k WHERE a > %d", db, rows-missing))

	src, err := OpenDB(testenv.SourceDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := OpenDB(testenv.TargetDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	opt := TableOptions{Databases: []string{db}, Rechecks: -1, MaxKeys: 50, MaxThreadsRunning: 1000}
	res, _, err := Tables(context.Background(), src, dst, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	r := res[0]
	if !r.Keyless || r.Status != StatusDiffer || r.DifferingKeys != doubled+missing || len(r.Diffs) != 50 || !r.Truncated {
		t.Fatalf("keyless=%v status=%s differing=%d listed=%d truncated=%v; want keyless differ %d listed 50 truncated",
			r.Keyless, r.Status, r.DifferingKeys, len(r.Diffs), r.Truncated, doubled+missing)
	}
	for _, d := range r.Diffs {
		ok := (d.Kind == Extra && d.SourceCount == 1 && d.TargetCount == 2) || (d.Kind == Missing && d.SourceCount == 1 && d.TargetCount == 0)
		if !ok || len(d.RowHash) != 32 {
			t.Errorf("unexpected diff %+v", d)
		}
	}
	fix := r.FixSQL()
	if last := fix[len(fix)-1]; !strings.HasPrefix(last, fmt.Sprintf("-- %d more rows", doubled+missing-50)) {
		t.Errorf("last fix statement %q, want a note of the %d unlisted rows", last, doubled+missing-50)
	}
}
