package replicator_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
)

// TestSnapshotCollatedKeysUnderWriters: case-insensitive string and
// composite keys are ordered by the server (Locator), including case-only
// primary-key changes ('a' -> 'A'), while writers run.
func TestSnapshotCollatedKeysUnderWriters(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source(
		"CREATE TABLE {db}.s (code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB",
		"INSERT INTO {db}.s SELECT CONCAT(CHAR(97 + seq % 26), 'k', seq), seq FROM {db}.seq_1_to_1500",
		"CREATE TABLE {db}.m (g VARCHAR(10) CHARACTER SET latin1 NOT NULL, n BIGINT UNSIGNED NOT NULL, v INT, PRIMARY KEY (g, n)) ENGINE=InnoDB",
		"INSERT INTO {db}.m SELECT CHAR(65 + seq % 5), seq * 1000003, seq FROM {db}.seq_1_to_1500",
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 5))
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(1+r.IntN(4)) * time.Millisecond):
				}
				n := 1 + r.IntN(1500)
				var q string
				switch r.IntN(5) {
				case 0: // case-only key change: same key for the collation, other bytes
					q = fmt.Sprintf("UPDATE `%s`.s SET code = UPPER(code) WHERE code = '%ck%d'", e.db, 'a'+n%26, n)
				case 1:
					q = fmt.Sprintf("DELETE FROM `%s`.s WHERE code = '%ck%d'", e.db, 'a'+n%26, n)
				case 2:
					q = fmt.Sprintf("INSERT IGNORE INTO `%s`.s VALUES ('%c%d', %d)", e.db, 'A'+r.IntN(30), n, n)
				case 3:
					q = fmt.Sprintf("UPDATE `%s`.m SET g = '%c', v = v + 1 WHERE g = '%c' AND n = %d", e.db, 'a'+r.IntN(6), 'A'+n%5, uint64(n)*1000003)
				default:
					q = fmt.Sprintf("INSERT IGNORE INTO `%s`.m VALUES ('%c', %d, 0)", e.db, 'a'+r.IntN(7), r.Uint64())
				}
				_, _ = e.src.Exec(q)
			}
		}(uint64(w + 11))
	}
	c := e.config()
	c.ChunkRows = 25
	err := e.run(context.Background(), c)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.run(context.Background(), e.config()); err != nil {
		t.Fatal(err)
	}
	e.same("s", "m")
}
