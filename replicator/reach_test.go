package replicator

import (
	"context"
	"strings"
	"testing"
)

func TestRunUnreachableSourceNamesTheFix(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SourceDSN = "evac:Sup3rSecret@tcp(127.0.0.1:1)/"
	cfg.TargetDSN = "evac:Sup3rSecret@tcp(127.0.0.1:1)/"
	cfg.UntilCaughtUp = true
	err := Run(context.Background(), cfg, nil)
	want := "cannot reach the source MySQL/MariaDB server evac@127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused; " +
		"check the DSN (host, port, user, password), that the server is up and that this host may connect"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if strings.Contains(err.Error(), "Sup3rSecret") {
		t.Fatal("password in the error")
	}
}
