package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evac-dev/evac/internal/testenv"
	"github.com/evac-dev/evac/verify"
)

func TestVerifyTablesCLI(t *testing.T) {
	testenv.Require(t)
	db := testenv.FreshDatabase(t)
	for _, conn := range []*sql.DB{testenv.SourceDB(t), testenv.TargetDB(t)} {
		testenv.Exec(t, conn, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY, v VARCHAR(20))")
		testenv.Exec(t, conn, "INSERT INTO `"+db+"`.t SELECT seq, CONCAT('v', seq) FROM `"+db+"`.seq_1_to_3000")
	}
	dir := t.TempDir()
	report, fix := filepath.Join(dir, "r.json"), filepath.Join(dir, "fix.sql")
	args := []string{"verify", "tables", "--source", testenv.SourceDSN(t), "--target", testenv.TargetDSN(t),
		"--databases", db, "--rechecks", "0", "--report", report, "--fix-sql", fix}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("identical tables: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.HasPrefix(out.String(), "evac verify: PASS") {
		t.Fatalf("summary: %s", out.String())
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.CheckDigest(raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), testenv.Getenv("EVAC_TEST_MYSQL_PASSWORD")) {
		t.Fatal("report contains the password")
	}

	testenv.Exec(t, testenv.TargetDB(t), "UPDATE `"+db+"`.t SET v = 'changed' WHERE id = 1234")
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), args, &out, &errOut); code != 1 {
		t.Fatalf("planted difference: exit %d, want 1\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "different          id=1234  columns: v") {
		t.Fatalf("summary does not name the key:\n%s", out.String())
	}
	sql, _ := os.ReadFile(fix)
	if !strings.Contains(string(sql), "UPDATE `"+db+"`.`t` SET `v` = CONVERT(X'7631323334' USING utf8mb4) WHERE `id` = 1234;") {
		t.Fatalf("fix SQL:\n%s", sql)
	}
	if code := run(context.Background(), []string{"verify", "tables", "--source", "x"}, &out, &errOut); code != 2 {
		t.Fatalf("missing --target: exit %d, want 2", code)
	}
}
