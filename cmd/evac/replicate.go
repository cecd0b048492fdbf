package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/evac-dev/evac/config"
	"github.com/evac-dev/evac/replicator"
)

func init() { commands = append(commands, newReplicateCmd) }

type replicateFlags struct {
	job                       string
	source, target            string
	databases, tables, excl   []string
	snapshot                  string
	workers, chunkRows        int
	chunkTime                 time.Duration
	untilCaughtUp, noHB, json bool
	serverID                  uint32
	streamID                  string
}

func newReplicateCmd(a *app) *cobra.Command {
	f := &replicateFlags{}
	cmd := &cobra.Command{
		Use:   "replicate",
		Short: "Copy MySQL/MariaDB tables to RDS/Aurora (exact chunked snapshot) and keep them current from the binlog",
		Long: `replicate checks the source and target (preflight: every problem with its fix),
creates the tables on the target, copies them chunk by chunk while the binlog
stream runs (each chunk paired with the stream exactly), then applies the
binlog with the checkpoint in the same target transaction as the rows. A
killed run resumes at the next chunk / the checkpoint. Without
--until-caught-up it streams until SIGTERM/SIGINT, then applies what it has
and checkpoints. See docs/REPLICATION.md.`,
		Example: `  evac replicate --source 'evac:${MYSQL_PASSWORD}@tcp(db1:3306)/' \
    --target 'admin:${RDS_PASSWORD}@tcp(x.cluster-abc.rds.amazonaws.com:3306)/' \
    --databases shop,billing --until-caught-up
  evac -c evac.yaml replicate --job shop --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReplicate(cmd, a, f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.job, "job", "", "replicate job of the config file (default: the only one)")
	fs.StringVar(&f.source, "source", "", "source MySQL/MariaDB DSN (go-sql-driver form user:pass@tcp(host:3306)/)")
	fs.StringVar(&f.target, "target", "", "target DSN (RDS/Aurora writer endpoint)")
	fs.StringSliceVar(&f.databases, "databases", nil, "databases to replicate (default: every non-system database)")
	fs.StringSliceVar(&f.tables, "tables", nil, "only these tables (db.table,...)")
	fs.StringSliceVar(&f.excl, "exclude-tables", nil, "tables to leave out (db.table,...)")
	fs.StringVar(&f.snapshot, "snapshot", config.DefaultSnapshot, "auto (copy what is not copied yet, then stream), never (stream only) or only (copy, then exit)")
	fs.IntVar(&f.workers, "snapshot-workers", config.DefaultSnapshotWorkers, "chunks read in parallel")
	fs.DurationVar(&f.chunkTime, "chunk-time", config.DefaultChunkTime, "chunk size adapts so one chunk read takes about this long")
	fs.IntVar(&f.chunkRows, "chunk-rows", 1000, "initial rows per chunk")
	fs.BoolVar(&f.untilCaughtUp, "until-caught-up", false, "exit 0 once the target has everything the source had committed when catch-up began")
	fs.BoolVar(&f.noHB, "no-heartbeat", false, "do not write evac_meta.heartbeat on the source (read-only source; lag from event times)")
	fs.BoolVar(&f.json, "json", false, "print a JSON status line every few seconds on stdout")
	fs.Uint32Var(&f.serverID, "server-id", 0, "binlog client server_id, unique among the source's replicas (default: random)")
	fs.StringVar(&f.streamID, "stream-id", "default", "name of this stream in evac_meta (several streams can share a target)")
	return cmd
}

func replicateJob(a *app, f *replicateFlags) (config.ReplicateJob, error) {
	job := config.DefaultReplicate()
	switch {
	case f.job != "":
		j, err := a.job(config.KindReplicate, f.job)
		if err != nil {
			return job, err
		}
		job = *j.Replicate
	case len(a.cfg.JobsOf(config.KindReplicate)) == 1:
		job = *a.cfg.JobsOf(config.KindReplicate)[0].Replicate
	case len(a.cfg.JobsOf(config.KindReplicate)) > 1:
		return job, usageErrorf("the config file has several replicate jobs: choose one with --job NAME")
	}
	return job, nil
}

func runReplicate(cmd *cobra.Command, a *app, f *replicateFlags) error {
	job, err := replicateJob(a, f)
	if err != nil {
		return err
	}
	fs := cmd.Flags()
	config.Override(fs, "source", &job.Source, f.source)
	config.Override(fs, "target", &job.Target, f.target)
	config.Override(fs, "databases", &job.Databases, f.databases)
	config.Override(fs, "tables", &job.Tables, f.tables)
	config.Override(fs, "exclude-tables", &job.ExcludeTables, f.excl)
	config.Override(fs, "snapshot", &job.Snapshot, f.snapshot)
	config.Override(fs, "snapshot-workers", &job.SnapshotWorkers, f.workers)
	config.Override(fs, "chunk-time", &job.ChunkTime, f.chunkTime)
	config.Override(fs, "until-caught-up", &job.UntilCaughtUp, f.untilCaughtUp)
	config.Override(fs, "no-heartbeat", &job.NoHeartbeat, f.noHB)
	config.Override(fs, "server-id", &job.ServerID, f.serverID)
	if err := a.cfg.CheckReplicate(&job); err != nil {
		return usage(err)
	}
	cfg := replicatorConfig(job, f, a)
	if err := cfg.Validate(); err != nil {
		return usage(err)
	}
	return replicator.Run(cmd.Context(), cfg, a.log)
}

func replicatorConfig(job config.ReplicateJob, f *replicateFlags, a *app) replicator.Config {
	cfg := replicator.DefaultConfig()
	cfg.SourceDSN, cfg.TargetDSN = job.SourceDSN, job.TargetDSN
	if cfg.SourceDSN == "" {
		cfg.SourceDSN = job.Source
	}
	if cfg.TargetDSN == "" {
		cfg.TargetDSN = job.Target
	}
	cfg.Databases, cfg.Tables, cfg.ExcludeTables = job.Databases, job.Tables, job.ExcludeTables
	cfg.Snapshot, cfg.SnapshotWorkers, cfg.ChunkTime = job.Snapshot, job.SnapshotWorkers, job.ChunkTime
	cfg.ChunkRows = f.chunkRows
	cfg.UntilCaughtUp, cfg.NoHeartbeat, cfg.ServerID = job.UntilCaughtUp, job.NoHeartbeat, job.ServerID
	if job.HeartbeatInterval > 0 {
		cfg.HeartbeatInterval = job.HeartbeatInterval
	}
	if job.BatchRows > 0 {
		cfg.BatchRows = job.BatchRows
	}
	if job.BatchTime > 0 {
		cfg.BatchTime = job.BatchTime
	}
	cfg.StreamID = f.streamID
	cfg.JSON = f.json
	cfg.Status = a.stdout
	if !f.json {
		cfg.Status = a.stderr
	}
	return cfg
}
