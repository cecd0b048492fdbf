// Command evac evacuates data: objects (filesystem or S3 -> S3), MySQL to
// RDS/Aurora (snapshot + binlog), and verification that both sides match.
//
// # How an engine command plugs in (read this before adding one)
//
// Each engine owns one file here (sync.go, replicate.go, verify.go, ...)
// and registers itself from init; root.go never names it, so `evac --help`
// lists exactly the commands that are built:
//
//	func init() { commands = append(commands, newSyncCmd) }
//
//	func newSyncCmd(a *app) *cobra.Command {
//		var f struct{ workers int }
//		cmd := &cobra.Command{
//			Use:     "sync SRC DST",
//			Short:   "Copy objects from a directory or S3 to S3, then re-sync only what changed",
//			Example: "  evac sync /data s3://archive/data --target-region sa-east-1",
//			Args:    cobra.ExactArgs(2),   // arg/flag errors exit 2 by themselves
//			RunE: func(cmd *cobra.Command, args []string) error {
//				job := config.DefaultSync()          // or *a.cfg.Job(name).Sync when a.cfg != nil
//				config.Override(cmd.Flags(), "workers", &job.Workers, f.workers)
//				if err := a.cfg.CheckSync(&job); err != nil {
//					return usage(err)            // exit 2
//				}
//				... run the engine with cmd.Context() and a.log ...
//				if stats.Failed > 0 {
//					return jobFailedf("%d objects failed", stats.Failed) // exit 1
//				}
//				return nil                           // exit 0
//			},
//		}
//		cmd.Flags().IntVar(&f.workers, "workers", config.DefaultWorkers, "concurrent objects")
//		return cmd
//	}
//
// Rules:
//   - Use a.log, a.cfg, a.stdout, a.stderr only inside RunE: they are set by
//     the root's PersistentPreRunE (global flags --log-format, --log-level,
//     -c/--config), which runs after flag parsing (and before any hook a
//     command defines itself).
//   - DSN flags: expand them with config.ExpandEnv, so users can write
//     --source 'evac:${MYSQL_PASSWORD}@tcp(db1:3306)/' and keep the password
//     out of `ps`.
//   - Take the context from cmd.Context(): it is canceled on SIGINT/SIGTERM;
//     drain, checkpoint and return.
//   - Return errors, never print them: run() prints "evac: <error>" once,
//     redacted, and maps it to the exit code (exit.go). An untyped error from
//     RunE exits 1; wrap bad input in usage()/usageErrorf() for exit 2; if
//     the command already printed its verdict (e.g. verify FAIL), return
//     exitCode(1) to exit without another message.
//   - A --job NAME flag picks a job from the config file: a.job(config.KindSync,
//     name) returns it, or a usage error listing the jobs of that kind.
//   - Give every command an Example; show secrets as ${MYSQL_PASSWORD}.
//   - Tests: run(ctx, args, &out, &errOut) and assert output and exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/cobra"

	"github.com/evac-dev/evac/config"
	"github.com/evac-dev/evac/internal/logging"
	"github.com/evac-dev/evac/internal/redact"
)

// commands holds the constructors of the engine commands; each engine file
// appends its own from init.
var commands []func(*app) *cobra.Command

// app is what every command shares.
type app struct {
	stdout io.Writer
	stderr io.Writer
	// log is built from --log-format/--log-level; it writes to stderr and
	// redacts secrets.
	log *slog.Logger
	// cfg is the file given with -c/--config, loaded and validated; nil
	// without -c. Its methods (Job, JobsOf, CheckSync, ...) accept nil.
	cfg *config.File

	// global flags
	configPath string
	logFormat  string
	logLevel   string

	// started is set once flags and arguments were accepted; an error
	// before that is a usage error (unknown command, bad flag, wrong args).
	started bool
}

// Run the root's PersistentPreRunE (setup) for every command, even one that
// defines its own hooks. Set once, here: it is a cobra package variable.
func init() { cobra.EnableTraverseRunHooks = true }

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "evac",
		Short: "Evacuate data: objects to S3, MySQL to RDS/Aurora, and prove both sides match",
		Long: `evac moves data out of a site that must be emptied and keeps the copy current:
objects from a directory or any S3-compatible store to S3, MySQL/MariaDB to
RDS/Aurora (exact snapshot + binlog), and a verification that proves both
sides match before anyone switches over.

Exit codes: 0 success, 1 the job failed (e.g. verification FAIL, objects
failed), 2 bad usage or config, 130 interrupted.`,
		Example: `  # one YAML file describes endpoints and jobs; secrets come from the environment
  export MYSQL_PASSWORD=...
  evac -c evac.yaml verify

  # machine-readable logs
  evac --log-format json sync /data s3://archive/data

  # what is this binary
  evac version --json`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: a.setup,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	pf := root.PersistentFlags()
	pf.StringVarP(&a.configPath, "config", "c", "", "config file (YAML, see docs/CONFIG.md); flags override it")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")

	root.AddCommand(newVersionCmd(a))
	for _, newCmd := range commands {
		root.AddCommand(newCmd(a))
	}
	return root
}

// setup runs after flag parsing, before any command's RunE.
func (a *app) setup(cmd *cobra.Command, _ []string) error {
	a.started = true
	// cobra checks these only after the hooks; check them here so that
	// they count as usage errors.
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return usage(err)
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return usage(err)
	}
	lvl, err := logging.ParseLevel(a.logLevel)
	if err != nil {
		return usageErrorf("--log-level: %w", err)
	}
	log, err := logging.New(a.stderr, logging.Options{Format: a.logFormat, Level: lvl})
	if err != nil {
		return usageErrorf("--log-format: %w", err)
	}
	a.log = log
	// Libraries that log by themselves (AWS SDK, go-sql-driver) write
	// through slog.Default: make it this redacting logger.
	slog.SetDefault(log)
	_ = mysql.SetLogger(logging.MySQLDriver{})
	if a.configPath != "" {
		cfg, err := config.Load(a.configPath)
		if err != nil {
			return usage(err)
		}
		a.cfg = cfg
	}
	return nil
}

// run executes evac with args (without the program name) and returns the
// exit code. It is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, log: logging.Discard()}
	root := newRoot(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	code := exitCodeOf(ctx, err, a.started)
	if !isSilent(err) {
		msg := redact.String(err.Error())
		// One problem per line, each marked as evac's (a config error list).
		fmt.Fprintf(stderr, "evac: %s\n", strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\nevac: "))
		if code == 2 && cmd != nil && !errors.As(err, new(*config.Error)) && !errors.As(err, new(config.ErrorList)) {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return code
}

// job returns the config job called name, which must be of kind
// (config.KindSync, KindReplicate, KindVerify), with a usage error that says
// what to do when there is no config file or no such job.
func (a *app) job(kind, name string) (*config.Job, error) {
	if a.cfg == nil {
		return nil, usageErrorf("--job %s needs a config file: add -c evac.yaml", name)
	}
	j := a.cfg.Job(name)
	if j != nil && j.Kind() == kind {
		return j, nil
	}
	var names []string
	for _, o := range a.cfg.JobsOf(kind) {
		names = append(names, o.Name)
	}
	have := "none"
	if len(names) > 0 {
		have = strings.Join(names, ", ")
	}
	if j != nil {
		return nil, usageErrorf("--job %s: %s is a %s job, not a %s job (%s jobs in %s: %s)", name, name, j.Kind(), kind, kind, a.cfg.Path, have)
	}
	return nil, usageErrorf("--job %s: no such job in %s (%s jobs: %s)", name, a.cfg.Path, kind, have)
}
