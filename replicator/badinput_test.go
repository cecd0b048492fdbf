package replicator_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evac-dev/evac/internal/testenv"
)

// refused runs evac and asserts it fails with every message in want and
// wrote nothing to the target.
func (e *env) refused(c func() error, want ...string) {
	e.t.Helper()
	err := c()
	if err == nil {
		e.t.Fatal("evac accepted bad input")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			e.t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
	var n int
	if err := e.tgt.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=?", e.db).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	if n != 0 {
		e.t.Errorf("database %s was created on the target before refusing", e.db)
	}
	if err := e.tgt.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='evac_meta' AND TABLE_NAME='checkpoint'").Scan(&n); err == nil && n > 0 {
		_ = e.tgt.QueryRow("SELECT COUNT(*) FROM evac_meta.checkpoint WHERE stream_id=?", e.db).Scan(&n)
		if n != 0 {
			e.t.Errorf("a checkpoint was written before refusing")
		}
	}
}

func TestRefuseTableWithoutKeyAndMyISAM(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source(
		"CREATE TABLE {db}.ok (id INT PRIMARY KEY) ENGINE=InnoDB",
		"CREATE TABLE {db}.nokey (a INT, b INT) ENGINE=InnoDB",
		"CREATE TABLE {db}.nullkey (a INT NULL, UNIQUE KEY (a)) ENGINE=InnoDB",
		"CREATE TABLE {db}.my (id INT PRIMARY KEY) ENGINE=MyISAM",
	)
	e.refused(func() error { return e.run(context.Background(), e.config()) },
		"preflight found 2 problems",
		fmt.Sprintf("tables not using InnoDB: %s.my (MyISAM); evac needs transactional, consistent-snapshot reads: ALTER TABLE t ENGINE=InnoDB, or exclude them with --exclude-tables", e.db),
		fmt.Sprintf("tables without a primary key or NOT NULL unique key: %s.nokey, %s.nullkey; evac applies changes by key", e.db, e.db),
	)
}

func TestRefuseMissingPrivilege(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source("CREATE TABLE {db}.t (id INT PRIMARY KEY) ENGINE=InnoDB")
	user := "evac_np_" + e.db[len(e.db)-8:] // FreshDatabase names end in a random suffix
	e.source(
		"CREATE USER '"+user+"'@'%' IDENTIFIED BY 'pw'",
		"GRANT SELECT ON {db}.* TO '"+user+"'@'%'",
	)
	t.Cleanup(func() { _, _ = e.src.Exec("DROP USER '" + user + "'@'%'") })
	c := e.config()
	c.SourceDSN = withUser(t, e.srcDSN, user, "pw")
	e.refused(func() error { return e.run(context.Background(), c) },
		"source user lacks REPLICATION SLAVE (needed to read the binlog): GRANT REPLICATION SLAVE ON *.* TO <user>",
		"source user lacks REPLICATION CLIENT (needed for the binlog position): GRANT REPLICATION CLIENT ON *.* TO <user>",
		"source user lacks INSERT, UPDATE, CREATE on evac_meta: the snapshot commits watermark rows",
	)
}

// TestTargetUserWithoutSuper replicates with a target user that has only
// SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES.
func TestTargetUserWithoutSuper(t *testing.T) {
	testenv.Require(t)
	e := newEnv(t)
	e.source(
		"CREATE TABLE {db}.p (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB",
		"CREATE TABLE {db}.c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB",
		"INSERT INTO {db}.p SELECT seq, 'x' FROM {db}.seq_1_to_100",
		"INSERT INTO {db}.c SELECT seq, seq FROM {db}.seq_1_to_100",
	)
	user := "evac_tu_" + e.db[len(e.db)-8:]
	privs := "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES"
	for _, q := range []string{
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw'",
		"GRANT " + privs + " ON `" + e.db + "`.* TO '" + user + "'@'%'",
		"GRANT " + privs + " ON evac_meta.* TO '" + user + "'@'%'",
	} {
		if _, err := e.tgt.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = e.tgt.Exec("DROP USER '" + user + "'@'%'") })
	c := e.config()
	c.TargetDSN = withUser(t, e.tgtDSN, user, "pw")
	if err := e.run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	e.source("DELETE FROM {db}.p WHERE id <= 10") // cascades on both sides
	if err := e.run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	e.same("p", "c")
}

func withUser(t *testing.T, dsn, user, pw string) string {
	t.Helper()
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		t.Fatalf("DSN without user")
	}
	return user + ":" + pw + dsn[at:]
}

func TestRefuseStatementBinlog(t *testing.T) {
	testenv.Require(t)
	priv := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true, ExtraArgs: []string{"--binlog-format=STATEMENT"}})
	e := privateSource(t, priv)
	e.source("CREATE TABLE {db}.t (id INT PRIMARY KEY) ENGINE=InnoDB")
	e.refused(func() error { return e.run(context.Background(), e.config()) },
		"preflight: source binlog_format is STATEMENT; evac needs ROW: SET GLOBAL binlog_format=ROW (and restart writers; on RDS set it in the parameter group)")
}

func TestRefuseReadOnlyTarget(t *testing.T) {
	testenv.Require(t)
	priv := testenv.StartMariaDB(t, testenv.MariaDBOptions{ExtraArgs: []string{"--read-only=ON"}})
	e := newEnv(t)
	e.source("CREATE TABLE {db}.t (id INT PRIMARY KEY) ENGINE=InnoDB")
	e.tgtDSN = priv.DSN
	e.tgt = testenv.OpenDB(t, "private target", priv.DSN)
	e.refused(func() error { return e.run(context.Background(), e.config()) },
		"preflight: target is read-only (read_only=ON); evac must write to it: point --target at the writer (Aurora: the cluster endpoint, not a reader) or SET GLOBAL read_only=OFF")
}

func TestRefusePurgedResumePosition(t *testing.T) {
	testenv.Require(t)
	priv := testenv.StartMariaDB(t, testenv.MariaDBOptions{Binlog: true})
	e := privateSource(t, priv)
	e.source("CREATE TABLE {db}.t (id INT PRIMARY KEY) ENGINE=InnoDB", "INSERT INTO {db}.t VALUES (1)")
	c := e.config()
	c.NoHeartbeat = true
	if err := e.run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	var cp string
	if err := e.tgt.QueryRow("SELECT position FROM evac_meta.checkpoint WHERE stream_id=?", e.db).Scan(&cp); err != nil {
		t.Fatal(err)
	}
	e.source("INSERT INTO {db}.t VALUES (2)", "FLUSH BINARY LOGS", "INSERT INTO {db}.t VALUES (3)", "FLUSH BINARY LOGS")
	var last string
	rows, err := e.src.Query("SHOW BINARY LOGS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var size sql.RawBytes
		if err := rows.Scan(&last, &size); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	// MariaDB keeps a file until its binlog checkpoint moved on: retry.
	for i := 0; ; i++ {
		e.source("PURGE BINARY LOGS TO '" + last + "'")
		var first string
		var size []byte
		if err := e.src.QueryRow("SHOW BINARY LOGS").Scan(&first, &size); err != nil {
			t.Fatal(err)
		}
		if first == last {
			break
		}
		if i == 50 {
			t.Fatalf("binlogs before %s not purged", last)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// written rows on the target must stay as they were
	err = e.run(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "preflight: resume position "+cp+" is no longer in the source's binlogs (the oldest binlog starts after GTID") ||
		!strings.Contains(err.Error(), "re-snapshot (drop the replicated tables and evac_meta on the target, then run evac replicate again)") {
		t.Fatalf("error = %v", err)
	}
}

// privateSource is an env whose source is a private server.
func privateSource(t *testing.T, priv *testenv.MariaDB) *env {
	e := newEnv(t)
	e.srcDSN = priv.DSN
	e.src = testenv.OpenDB(t, "private source", priv.DSN)
	if _, err := e.src.Exec("CREATE DATABASE `" + e.db + "`"); err != nil {
		t.Fatal(err)
	}
	return e
}
