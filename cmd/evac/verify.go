package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/evac-dev/evac/config"
	"github.com/evac-dev/evac/internal/redact"
	"github.com/evac-dev/evac/internal/version"
	objsync "github.com/evac-dev/evac/sync"
	"github.com/evac-dev/evac/verify"
)

type objsyncCounts struct {
	side string
	rc   *objsync.RequestCounts
}

func pingDB(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

func init() { commands = append(commands, newVerifyCmd) }

// verifyFlags are shared by `evac verify`, `verify tables` and `verify objects`.
type verifyFlags struct {
	report, fixSQL string
	asJSON         bool
	job            string
	// tables
	source, target    string
	databases, tables []string
	exclude           []string
	workers           int
	chunkTime         time.Duration
	maxChunkRows      int
	maxThreadsRunning int
	rechecks          int
	waitTimeout       time.Duration
	// objects
	deep             bool
	objectWorkers    int
	allowSizeOnly    bool
	include, exclObj []string
	src3, dst3       *config.S3Flags
}

func newVerifyCmd(a *app) *cobra.Command {
	f := &verifyFlags{}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Prove that tables and objects match on both sides, measure the RPO, write a report that carries its SHA-256",
		Long: `verify compares the source and the target and gives one verdict with evidence:
tables chunk by chunk (COUNT + two 64-bit hash lanes per chunk, drill-down to
the differing keys), objects by their stored full-object checksums (no
download; --deep re-reads both sides), and the RPO (lag, transactions and
objects not yet copied). Without a subcommand it runs every verify job of the
config file (-c). Exit 0 PASS, 1 FAIL, 2 bad usage. See docs/VERIFY.md.`,
		Example: `  evac -c evac.yaml verify --report cutover.json
  evac verify tables --source 'evac:${MYSQL_PASSWORD}@tcp(db1:3306)/' --target 'admin:${RDS_PASSWORD}@tcp(x.rds.amazonaws.com:3306)/' --databases shop
  evac verify objects /data s3://archive/data --target-region sa-east-1 --deep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runVerifyConfig(cmd, a, f) },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.report, "report", "", "write the JSON report to FILE (schema: docs/report.schema.json)")
	pf.BoolVar(&f.asJSON, "json", false, "print the JSON report on stdout instead of the summary")
	pf.StringVar(&f.fixSQL, "fix-sql", "", "write statements that would repair the target to FILE (never applied)")
	cmd.Flags().StringVar(&f.job, "job", "", "run only the verify job with this name (default: all verify jobs)")
	cmd.AddCommand(newVerifyTablesCmd(a, f), newVerifyObjectsCmd(a, f))
	return cmd
}

func newVerifyTablesCmd(a *app, f *verifyFlags) *cobra.Command {
	d := config.DefaultVerifyTables()
	cmd := &cobra.Command{
		Use:   "tables",
		Short: "Compare MySQL/MariaDB tables on both sides, chunk by chunk, and name every differing key",
		Example: `  evac verify tables --source 'root:${SRC_PW}@tcp(10.0.0.5:3306)/' --target 'admin:${RDS_PW}@tcp(db.rds.amazonaws.com:3306)/' \
      --databases shop,billing --max-threads-running 40 --report verify.json --fix-sql fix.sql`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			job := &config.VerifyJob{Tables: &config.VerifyTables{}, Report: f.report, FixSQL: f.fixSQL}
			*job.Tables = d
			t := job.Tables
			fs := cmd.Flags()
			t.Source, t.Target = os.ExpandEnv(f.source), os.ExpandEnv(f.target)
			config.Override(fs, "workers", &t.Workers, f.workers)
			config.Override(fs, "chunk-time", &t.ChunkTime, f.chunkTime)
			config.Override(fs, "max-threads-running", &t.MaxThreadsRunning, f.maxThreadsRunning)
			t.Databases, t.Tables, t.ExcludeTables = f.databases, f.tables, f.exclude
			if err := a.cfg.CheckVerify(job); err != nil {
				return usage(err)
			}
			return runVerifyJobs(cmd, a, f, []*config.VerifyJob{job})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.source, "source", "", "source DSN (go-sql-driver: user:pass@tcp(host:3306)/) or a mysql: name from the config; ${ENV} expanded")
	fs.StringVar(&f.target, "target", "", "target DSN or a mysql: name from the config")
	fs.StringSliceVar(&f.databases, "databases", nil, "databases to verify (default: every non-system database on the source)")
	fs.StringSliceVar(&f.tables, "tables", nil, "only these tables (db.table, comma-separated)")
	fs.StringSliceVar(&f.exclude, "exclude-tables", nil, "never verify these tables (db.table)")
	fs.IntVar(&f.workers, "workers", d.Workers, "chunks checked at once (each on both sides)")
	fs.DurationVar(&f.chunkTime, "chunk-time", d.ChunkTime, "time target of one chunk checksum on the source")
	fs.IntVar(&f.maxChunkRows, "max-chunk-rows", 200000, "row cap of one chunk whatever the time target says")
	fs.IntVar(&f.maxThreadsRunning, "max-threads-running", d.MaxThreadsRunning, "pause while the source's Threads_running is above this")
	fs.IntVar(&f.rechecks, "rechecks", 5, "re-reads of a differing chunk on a live target before it is reported (0 = none: static target)")
	fs.DurationVar(&f.waitTimeout, "wait-timeout", time.Minute, "how long a re-check waits for the target to apply the source's position")
	_ = cmd.MarkFlagRequired("source")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

func newVerifyObjectsCmd(a *app, f *verifyFlags) *cobra.Command {
	d := config.DefaultVerifyObjects()
	cmd := &cobra.Command{
		Use:   "objects SRC DST",
		Short: "Compare two object stores by listing and stored checksums (no download); --deep re-reads both",
		Example: `  evac verify objects s3://dc1-docs s3://aws-docs --source-endpoint https://s3.dc1:9000 --source-profile dc1 --target-profile aws
  evac verify objects /data s3://archive/data --deep`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := d
			o.Source, o.Target, o.Deep = args[0], args[1], f.deep
			o.Include, o.Exclude = f.include, f.exclObj
			config.Override(cmd.Flags(), "workers", &o.Workers, f.objectWorkers)
			job := &config.VerifyJob{Objects: &o, Report: f.report}
			if err := a.cfg.CheckVerify(job); err != nil {
				return usage(err)
			}
			return runVerifyJobs(cmd, a, f, []*config.VerifyJob{job})
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&f.deep, "deep", false, "re-read both sides and compare SHA-256 of the bytes (finds corruption behind a stale stored checksum)")
	fs.IntVar(&f.objectWorkers, "workers", d.Workers, "objects compared at once")
	fs.BoolVar(&f.allowSizeOnly, "allow-size-only", false, "accept objects that can be compared by size only (no stored checksum on either side) as a match; default: such a run is unverified (FAIL)")
	fs.StringSliceVar(&f.include, "include", nil, "compare only keys matching these patterns (as in evac sync)")
	fs.StringSliceVar(&f.exclObj, "exclude", nil, "skip keys matching these patterns (as in evac sync)")
	f.src3 = config.AddS3Flags(fs, "source")
	f.dst3 = config.AddS3Flags(fs, "target")
	return cmd
}

// runVerifyConfig runs the verify jobs of the config file.
func runVerifyConfig(cmd *cobra.Command, a *app, f *verifyFlags) error {
	if a.cfg == nil {
		return usageErrorf("evac verify needs a subcommand (tables, objects) or a config file: evac -c evac.yaml verify")
	}
	var jobs []*config.VerifyJob
	for _, j := range a.cfg.JobsOf(config.KindVerify) {
		if f.job == "" || j.Name == f.job {
			jobs = append(jobs, j.Verify)
		}
	}
	if len(jobs) == 0 {
		return usageErrorf("config %s has no verify job %q: add one under jobs: with verify:", a.configPath, f.job)
	}
	for _, j := range jobs {
		if f.report == "" {
			f.report = j.Report
		}
		if f.fixSQL == "" {
			f.fixSQL = j.FixSQL
		}
	}
	return runVerifyJobs(cmd, a, f, jobs)
}

// runVerifyJobs runs the jobs into one report and prints the verdict.
func runVerifyJobs(cmd *cobra.Command, a *app, f *verifyFlags, jobs []*config.VerifyJob) error {
	ctx := cmd.Context()
	rep := &verify.Report{Schema: verify.SchemaID, Version: 1, StartedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	vi := version.Get()
	rep.Tool = verify.Tool{Name: "evac", Version: vi.Version, Commit: vi.Commit}
	rep.ConfigDigest = configDigest(jobs)
	var fixes []string
	for _, j := range jobs {
		if j.Tables != nil {
			fx, err := verifyTablesJob(ctx, a, f, j.Tables, rep)
			if err != nil {
				return err
			}
			fixes = append(fixes, fx...)
		}
		if j.Objects != nil {
			if err := verifyObjectsJob(cmd, a, f, j.Objects, rep); err != nil {
				return err
			}
		}
	}
	if err := rep.Finish(time.Now()); err != nil {
		return err
	}
	return writeVerifyOutputs(a, f, rep, fixes)
}

func writeVerifyOutputs(a *app, f *verifyFlags, rep *verify.Report, fixes []string) error {
	out, err := rep.JSON()
	if err != nil {
		return err
	}
	if f.report != "" {
		if err := os.WriteFile(f.report, out, 0o644); err != nil {
			return jobFailedf("write report %s: %w", f.report, err)
		}
	}
	if f.fixSQL != "" {
		if err := writeFixSQL(f.fixSQL, fixes); err != nil {
			return err
		}
	}
	if f.asJSON {
		_, _ = a.stdout.Write(out)
	} else {
		verify.WriteSummary(a.stdout, rep)
		if f.report != "" {
			fmt.Fprintf(a.stdout, "report: %s\n", f.report)
		}
	}
	if rep.Verdict != verify.Pass {
		return exitCode(exitFailed)
	}
	return nil
}

func writeFixSQL(path string, fixes []string) error {
	fh, err := os.Create(path)
	if err != nil {
		return jobFailedf("--fix-sql %s: %w", path, err)
	}
	defer fh.Close()
	fmt.Fprint(fh, verify.FixHeader)
	for _, s := range fixes {
		fmt.Fprintln(fh, s)
	}
	return fh.Close()
}

// configDigest is the SHA-256 of the effective verify settings (as JSON,
// secrets redacted): two reports with the same digest checked the same thing.
func configDigest(jobs []*config.VerifyJob) string {
	b, _ := json.Marshal(jobs)
	s := sha256.Sum256([]byte(redact.String(string(b))))
	return hex.EncodeToString(s[:])
}

func verifyTablesJob(ctx context.Context, a *app, f *verifyFlags, t *config.VerifyTables, rep *verify.Report) ([]string, error) {
	src, err := verify.OpenDB(t.SourceDSN)
	if err != nil {
		return nil, usage(err)
	}
	defer src.Close()
	dst, err := verify.OpenDB(t.TargetDSN)
	if err != nil {
		return nil, usage(err)
	}
	defer dst.Close()
	for side, db := range map[string]*sql.DB{"source": src, "target": dst} {
		if err := pingDB(ctx, db); err != nil {
			return nil, fmt.Errorf("%s %s: %w: check the DSN, that the server is up and the user's grants", side, redactDSN(side, t), redact.Error(err))
		}
	}
	rep.Endpoints = verify.Endpoints{Source: verify.Endpoint(t.SourceDSN), Target: verify.Endpoint(t.TargetDSN)}
	lag := verify.StartLagSampler(ctx, src, dst, time.Second)
	opt := verify.TableOptions{Databases: t.Databases, Tables: t.Tables, Exclude: t.ExcludeTables, Workers: t.Workers,
		ChunkTime: t.ChunkTime, MaxChunkRows: f.maxChunkRows, MaxThreadsRunning: t.MaxThreadsRunning,
		Rechecks: f.rechecks, WaitTimeout: f.waitTimeout}
	if opt.Rechecks == 0 {
		opt.Rechecks = -1
	}
	res, notes, err := verify.Tables(ctx, src, dst, opt, a.log)
	rpo := &verify.RPO{}
	if lag != nil {
		rpo.Lag = lag.Stop()
	}
	if err != nil {
		return nil, jobFailed(err)
	}
	now := 0.0
	if rpo.Lag != nil {
		now = rpo.Lag.NowMS
	}
	rpo.Behind = verify.MeasureBehind(ctx, src, dst, now)
	if rpo.Lag != nil || rpo.Behind != nil {
		rep.RPO = mergeRPO(rep.RPO, rpo)
	}
	rep.Tables = append(rep.Tables, res...)
	rep.Warnings = append(rep.Warnings, notes...)
	var fixes []string
	for _, r := range res {
		fixes = append(fixes, r.FixSQL()...)
	}
	return fixes, nil
}

func redactDSN(side string, t *config.VerifyTables) string {
	if side == "source" {
		return verify.Endpoint(t.SourceDSN)
	}
	return verify.Endpoint(t.TargetDSN)
}

func mergeRPO(old, add *verify.RPO) *verify.RPO {
	if old == nil {
		return add
	}
	if add.Lag != nil {
		old.Lag = add.Lag
	}
	if add.Behind != nil {
		old.Behind = add.Behind
	}
	if add.Objects != nil {
		old.Objects = add.Objects
	}
	return old
}

func verifyObjectsJob(cmd *cobra.Command, a *app, f *verifyFlags, o *config.VerifyObjects, rep *verify.Report) error {
	ctx := cmd.Context()
	var srcS3, dstS3 *config.S3
	var err error
	if f.src3 != nil {
		if srcS3, err = f.src3.Apply(cmd.Flags(), o.SourceLocation.S3); err != nil {
			return usage(err)
		}
		if dstS3, err = f.dst3.Apply(cmd.Flags(), o.TargetLocation.S3); err != nil {
			return usage(err)
		}
	} else {
		srcS3, dstS3 = o.SourceLocation.S3, o.TargetLocation.S3
	}
	job := config.DefaultSync()
	side := storeSide{a: a, job: job, hook: &objsync.RetryHook{}}
	src, rcS, err := side.open(ctx, "source", o.SourceLocation, srcS3)
	if err != nil {
		return err
	}
	dst, rcT, err := side.open(ctx, "target", o.TargetLocation, dstS3)
	if err != nil {
		return err
	}
	oo := verify.ObjectOptions{Deep: o.Deep, Workers: o.Workers, AllowSizeOnly: f.allowSizeOnly}
	if len(o.Include) > 0 || len(o.Exclude) > 0 {
		flt, err := objsync.NewFilter(o.Include, o.Exclude)
		if err != nil {
			return usage(err)
		}
		oo.Keep = flt.Match
	}
	res, err := verify.Objects(ctx, src, dst, oo, a.log)
	if err != nil {
		return jobFailed(err)
	}
	if rep.Endpoints.Source == "" {
		rep.Endpoints = verify.Endpoints{Source: src.String(), Target: dst.String()}
	}
	rep.Objects = append(rep.Objects, res)
	rep.RPO = mergeRPO(rep.RPO, &verify.RPO{Objects: res.Pending(time.Now())})
	for _, rc := range []*objsyncCounts{{"source", rcS}, {"target", rcT}} {
		if rc.rc != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s S3 requests: %v", rc.side, rc.rc.Counts()))
		}
	}
	return nil
}
