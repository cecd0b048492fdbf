package verify

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/evac-dev/evac/internal/testenv"
)

// pair is a private source and a native MariaDB replica of it (GTID,
// slave_pos): a target that evac did not write.
type pair struct {
	srcDSN, dstDSN string
	src, dst       *sql.DB // verify sessions (OpenDB)
	srcRoot        *sql.DB // plain sessions for writing
	dstRoot        *sql.DB
}

func startPair(t *testing.T) *pair {
	t.Helper()
	testenv.Require(t)
	ms := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true})
	mr := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true})
	p := &pair{srcDSN: ms.DSN, dstDSN: mr.DSN}
	p.srcRoot = testenv.OpenDB(t, "private source", ms.DSN)
	p.dstRoot = testenv.OpenDB(t, "private replica", mr.DSN)
	cfg, err := mysql.ParseDSN(ms.DSN)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Exec(t, p.dstRoot, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos",
		ms.Port, cfg.User, cfg.Passwd))
	testenv.Exec(t, p.dstRoot, "START SLAVE")
	t.Cleanup(func() { _, _ = p.dstRoot.Exec("STOP SLAVE") })
	for _, x := range []struct {
		dsn string
		db  **sql.DB
	}{{ms.DSN, &p.src}, {mr.DSN, &p.dst}} {
		db, err := OpenDB(x.dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		*x.db = db
	}
	return p
}

// sync waits until the replica applied everything the source committed.
func (p *pair) sync(t *testing.T) {
	t.Helper()
	var pos string
	if err := p.srcRoot.QueryRow("SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	var res sql.NullInt64
	if err := p.dstRoot.QueryRow("SELECT MASTER_GTID_WAIT(?, 60)", pos).Scan(&res); err != nil || res.Int64 != 0 {
		var st string
		_ = p.dstRoot.QueryRow("SELECT CONCAT(@@gtid_slave_pos)").Scan(&st)
		t.Fatalf("replica did not reach %s (at %s): %v %v", pos, st, err, res)
	}
}

const schemaSQL = `CREATE DATABASE vt;
CREATE TABLE vt.t1 (id INT PRIMARY KEY, name VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci,
  val INT, d DATETIME(6), j JSON, b BLOB, f FLOAT, dbl DOUBLE, dec1 DECIMAL(20,6), ts TIMESTAMP(6) NULL, e ENUM('x','y'), bits BIT(8));
CREATE TABLE vt.k (a INT, b VARCHAR(10));
CREATE TABLE vt.c (a VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, b BIGINT UNSIGNED, v TEXT, PRIMARY KEY (a, b));
INSERT INTO vt.t1 SELECT seq, IF(seq % 10 = 0, 'abc', CONCAT('n', seq)), seq * 3, '2024-01-02 03:04:05.000006' + INTERVAL seq SECOND,
  '{"a": 1, "b": 2}', UNHEX(MD5(seq)), IF(seq = 80, 1, seq / 7), seq / 3, seq / 9, '2024-06-01 00:00:00' + INTERVAL seq MINUTE, IF(seq % 2, 'x', 'y'), seq % 256
  FROM vt.seq_1_to_6000;
UPDATE vt.t1 SET name = CONCAT('caf', CONVERT(X'C3A9' USING utf8mb4)) WHERE id = 90;
INSERT INTO vt.k SELECT seq % 50, CONCAT('v', seq % 50) FROM vt.seq_1_to_200;
INSERT INTO vt.c SELECT CONCAT('key', seq % 40), seq, REPEAT('z', seq % 17) FROM vt.seq_1_to_2000;`

func load(t *testing.T, db *sql.DB, script string) {
	t.Helper()
	for _, q := range splitSQL(script) {
		testenv.Exec(t, db, q)
	}
}

func splitSQL(s string) []string {
	var out []string
	cur := ""
	for _, r := range s {
		if r == ';' {
			out = append(out, cur)
			cur = ""
			continue
		}
		cur += string(r)
	}
	return out
}

func testOptions() TableOptions {
	return TableOptions{Databases: []string{"vt"}, MinChunkRows: 2500, MaxChunkRows: 5000, Workers: 3, RecheckDelay: 50 * time.Millisecond}
}

func TestTablesNativeReplicaPlantedDifferences(t *testing.T) {
	p := startPair(t)
	load(t, p.srcRoot, schemaSQL)
	p.sync(t)
	ctx := context.Background()

	res, _, err := Tables(ctx, p.src, p.dst, testOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != StatusMatch || len(r.Diffs) != 0 {
			t.Fatalf("matching replica: %s is %s (%+v)", r.Table, r.Status, r.Diffs)
		}
	}
	if res[2].SourceRows != 6000 || res[2].Chunks < 2 {
		t.Fatalf("t1: %d rows in %d chunks, want 6000 rows in several chunks", res[2].SourceRows, res[2].Chunks)
	}

	// Plant differences directly on the replica (its replication keeps running).
	load(t, p.dstRoot, `UPDATE vt.t1 SET val = val + 1 WHERE id = 10;
DELETE FROM vt.t1 WHERE id = 20;
INSERT INTO vt.t1 (id, name) VALUES (100000, 'extra');
UPDATE vt.t1 SET b = CONCAT(LEFT(b, 5), CHAR(ASCII(SUBSTR(b, 6, 1)) ^ 1), SUBSTR(b, 7)) WHERE id = 30;
UPDATE vt.t1 SET name = 'Abc' WHERE id = 40;
UPDATE vt.t1 SET name = 'abc ' WHERE id = 50;
UPDATE vt.t1 SET d = d + INTERVAL 1 MICROSECOND WHERE id = 60;
UPDATE vt.t1 SET j = '{"b": 2, "a": 1}' WHERE id = 70;
UPDATE vt.t1 SET f = 1.0000001 WHERE id = 80;
UPDATE vt.t1 SET name = CONCAT('cafe', CONVERT(X'CC81' USING utf8mb4)) WHERE id = 90;
UPDATE vt.c SET v = CONCAT(v, 'Q') WHERE a = 'key7' AND b = 1447;
INSERT INTO vt.k VALUES (3, 'v3');
DELETE FROM vt.k WHERE a = 4 LIMIT 1;`)

	opt := testOptions()
	res, _, err = Tables(ctx, p.src, p.dst, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res {
		for _, d := range r.Diffs {
			got[r.Table+" "+fmt.Sprint(d.Key)+d.RowHash] = d.Kind + fmt.Sprint(d.Columns) + fmt.Sprint(d.SourceCount, d.TargetCount)
		}
	}
	want := map[string]string{
		"vt.t1 map[id:10]":        "different[val]0 0",
		"vt.t1 map[id:20]":        "missing_on_target[]0 0",
		"vt.t1 map[id:100000]":    "extra_on_target[]0 0",
		"vt.t1 map[id:30]":        "different[b]0 0",
		"vt.t1 map[id:40]":        "different[name]0 0",
		"vt.t1 map[id:50]":        "different[name]0 0",
		"vt.t1 map[id:60]":        "different[d]0 0",
		"vt.t1 map[id:70]":        "different[j]0 0",
		"vt.t1 map[id:80]":        "different[f]0 0",
		"vt.t1 map[id:90]":        "different[name]0 0",
		"vt.c map[a:key7 b:1447]": "different[v]0 0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
		delete(got, k)
	}
	keyless := map[string]bool{}
	for k, v := range got {
		if k[:5] != "vt.k " {
			t.Errorf("unexpected diff %s = %s", k, v)
		}
		keyless[v] = true
	}
	if len(got) != 2 || !keyless["extra_on_target[]4 5"] || !keyless["missing_on_target[]4 3"] {
		t.Errorf("keyless diffs %v, want one duplicated row (4 -> 5 copies) and one lost copy (4 -> 3)", got)
	}
	for _, r := range res {
		want := StatusDiffer
		if r.Table == "vt.k" && !r.Keyless {
			t.Errorf("vt.k not marked keyless")
		}
		if r.Status != want {
			t.Errorf("%s status %s, want %s", r.Table, r.Status, want)
		}
	}
	validateReport(t, res, nil)
	checkFixSQL(t, p, res)
}

// checkFixSQL applies the generated repair statements to the replica (a
// test-only step: evac never applies them) and expects a PASS afterwards.
func checkFixSQL(t *testing.T, p *pair, res []TableResult) {
	t.Helper()
	conn, err := p.dst.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, r := range res {
		for _, q := range r.FixSQL() {
			if q[0] == '-' {
				t.Fatalf("fix SQL left a row to repair by hand: %s", q)
			}
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				t.Fatalf("fix SQL %s: %v", q, err)
			}
		}
	}
	res, _, err = Tables(context.Background(), p.src, p.dst, testOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != StatusMatch {
			t.Errorf("after fix SQL: %s is %s: %+v", r.Table, r.Status, r.Diffs)
		}
	}
}
