package replicator

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.SourceDSN, ok.TargetDSN = "u:p@tcp(h:3306)/", "u:p@tcp(t:3306)/"
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.SourceDSN = "" }, "source DSN is empty: pass --source"},
		{func(c *Config) { c.Snapshot = "sometimes" }, `snapshot mode "sometimes": use auto, never or only`},
		{func(c *Config) { c.SnapshotWorkers = 0 }, "snapshot workers 0: use 1 to 64"},
		{func(c *Config) { c.Tables = []string{"nodot"} }, `table "nodot": write it as database.table`},
		{func(c *Config) { c.TargetDSN = "bad dsn" }, "target DSN:"},
	}
	for _, c := range cases {
		cfg := ok
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want %q", err, c.want)
		}
	}
}
