package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/evac-dev/evac/config"
	objsync "github.com/evac-dev/evac/sync"
)

func init() { commands = append(commands, newSyncCmd) }

// syncFlags are the flags of `evac sync` that override the job.
type syncFlags struct {
	job                                string
	workers, partWorkers, maxDelete    int
	partSize, threshold, cutoff, bwlim config.ByteSize
	bufferMemory                       config.ByteSize
	ssc, shard, storageClass, report   string
	journalDir, sse, sseKMS, kind      string
	include, exclude, priority         []string
	checksum, sizeOnly, modtime        bool
	del, force, dryRun, follow, asJSON bool
	watch                              time.Duration
	source, target                     *config.S3Flags
}

func newSyncCmd(a *app) *cobra.Command {
	f := &syncFlags{}
	cmd := &cobra.Command{
		Use:   "sync [SRC DST]",
		Short: "Copy objects from a directory or S3 to S3, then re-sync only what changed",
		Long: `Copy every object from SRC to DST, then, on later runs, only what changed.
SRC and DST are a directory (/data, file:///data) or s3://bucket/prefix; each
side has its own endpoint, region and credentials. A trailing slash never
matters: /data and /data/ both copy the contents of /data.

An unchanged object costs no request on a resync: evac decides from the two
listings and its state journal (kept in --journal-dir and mirrored to the
target under .evac/). See docs/SYNC.md.

Without SRC and DST, the sync jobs of the config file (-c) run one after the
other (only the one named by --job, if given).`,
		Example: `  evac sync /data s3://archive/data --target-region sa-east-1
  evac sync s3://onprem/docs s3://aws-bucket/docs \
      --source-endpoint https://s3.dc1.example:9000 --source-profile dc1 \
      --target-profile aws --delete --max-delete 1000
  evac sync /data s3://archive/data --dry-run --report plan.ndjson
  evac sync /data s3://archive/data --shard auto/8    # Kubernetes Indexed Job
  evac -c evac.yaml sync                              # every sync job of the file`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 0 && len(args) != 2 {
				return usageErrorf("evac sync takes SRC and DST, or none with -c FILE (the file's sync jobs); got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runSyncJobs(cmd, a, f, args) },
	}
	addSyncFlags(cmd.Flags(), f)
	return cmd
}

func addSyncFlags(fs *pflag.FlagSet, f *syncFlags) {
	d := config.DefaultSync()
	f.partSize, f.threshold, f.cutoff, f.bufferMemory = d.PartSize, d.MultipartThreshold, d.CopyCutoff, d.BufferMemory
	fs.StringVar(&f.job, "job", "", "use the sync job of this name from the config file (-c); flags override it")
	fs.IntVar(&f.workers, "workers", d.Workers, "objects copied at once (lowered automatically while the target says SlowDown)")
	fs.IntVar(&f.partWorkers, "part-workers", d.PartWorkers, "parts in flight per large object")
	fs.Var(&f.partSize, "part-size", "multipart part size")
	fs.Var(&f.threshold, "multipart-threshold", "objects at least this big are uploaded in parts")
	fs.Var(&f.cutoff, "copy-cutoff", "S3 -> S3 on one endpoint: CopyObject up to this size, UploadPartCopy above")
	fs.Var(&f.bufferMemory, "buffer-memory", "memory budget for part buffers, shared by all transfers")
	fs.Var(&f.bwlim, "bwlimit", "bandwidth limit over all transfers per second, e.g. 100MiB (0 = unlimited)")
	fs.StringVar(&f.ssc, "server-side-copy", d.ServerSideCopy, "auto, always or never")
	fs.BoolVar(&f.checksum, "checksum", false, "decide by content checksum instead of the journal")
	fs.BoolVar(&f.sizeOnly, "size-only", false, "decide by size only")
	fs.BoolVar(&f.modtime, "modtime-heuristic", false, "decide by size + target LastModified (unsafe: 1 s resolution on some servers)")
	fs.BoolVar(&f.del, "delete", false, "delete target objects that are not on the source (never when a listing failed or the source is empty)")
	fs.IntVar(&f.maxDelete, "max-delete", 0, "refuse all deletes of a pass that would delete more than this (0 = no limit)")
	fs.BoolVar(&f.force, "force", false, "overwrite (or delete) objects changed on the target by someone else")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan, write nothing")
	fs.StringSliceVar(&f.include, "include", nil, "only keys matching this glob (repeatable; * within a segment, ** across)")
	fs.StringSliceVar(&f.exclude, "exclude", nil, "skip keys matching this glob (repeatable)")
	fs.StringSliceVar(&f.priority, "priority", nil, "copy keys under this prefix first (repeatable)")
	fs.StringVar(&f.shard, "shard", "", "i/N: this run's share of the top-level prefixes; auto/N reads JOB_COMPLETION_INDEX")
	fs.DurationVar(&f.watch, "watch", 0, "repeat passes forever, waiting this long between them (e.g. 10m)")
	fs.BoolVar(&f.follow, "follow-symlinks", false, "copy what symbolic links point to (default: skip them with a warning)")
	fs.StringVar(&f.storageClass, "storage-class", "", "storage class of written objects, e.g. STANDARD_IA")
	fs.StringVar(&f.sse, "sse", "", "server-side encryption of written objects: AES256 or aws:kms")
	fs.StringVar(&f.sseKMS, "sse-kms-key-id", "", "KMS key for --sse aws:kms")
	fs.StringVar(&f.kind, "target-kind", "auto", "which keys the target can hold: s3 (AWS), s3-posix (versitygw, MinIO: keys are paths), fs; auto = fs for a directory, s3 for AWS, s3-posix for a custom endpoint")
	fs.BoolVar(&f.asJSON, "json", false, "print the final stats as one JSON object on stdout")
	fs.StringVar(&f.report, "report", "", "write one NDJSON line per object (action, reason, checksum) to this file")
	fs.StringVar(&f.journalDir, "journal-dir", "", "where the state journal lives (default $XDG_STATE_HOME/evac or ~/.local/state/evac)")
	f.source = config.AddS3Flags(fs, "source")
	f.target = config.AddS3Flags(fs, "target")
}

// mergeJob starts from the config file's job (or defaults) and lays the
// flags that were set on top.
func mergeJob(cmd *cobra.Command, a *app, f *syncFlags, name string, args []string) (config.SyncJob, error) {
	job := config.DefaultSync()
	if name != "" {
		j := a.cfg.Job(name)
		if j == nil || j.Sync == nil {
			return job, usageErrorf("--job %q: no sync job of that name in the config file (-c)", name)
		}
		job = *j.Sync
	}
	if len(args) == 2 {
		job.Source, job.Target = args[0], args[1]
	}
	fs := cmd.Flags()
	config.Override(fs, "workers", &job.Workers, f.workers)
	config.Override(fs, "part-workers", &job.PartWorkers, f.partWorkers)
	config.Override(fs, "part-size", &job.PartSize, f.partSize)
	config.Override(fs, "multipart-threshold", &job.MultipartThreshold, f.threshold)
	config.Override(fs, "copy-cutoff", &job.CopyCutoff, f.cutoff)
	config.Override(fs, "buffer-memory", &job.BufferMemory, f.bufferMemory)
	config.Override(fs, "bwlimit", &job.BWLimit, f.bwlim)
	config.Override(fs, "server-side-copy", &job.ServerSideCopy, f.ssc)
	config.Override(fs, "delete", &job.Delete, f.del)
	config.Override(fs, "max-delete", &job.MaxDelete, f.maxDelete)
	config.Override(fs, "force", &job.Force, f.force)
	config.Override(fs, "dry-run", &job.DryRun, f.dryRun)
	config.Override(fs, "include", &job.Include, f.include)
	config.Override(fs, "exclude", &job.Exclude, f.exclude)
	config.Override(fs, "priority", &job.Priority, f.priority)
	config.Override(fs, "shard", &job.Shard, f.shard)
	config.Override(fs, "watch", &job.Watch, f.watch)
	config.Override(fs, "follow-symlinks", &job.FollowSymlinks, f.follow)
	config.Override(fs, "storage-class", &job.StorageClass, f.storageClass)
	config.Override(fs, "report", &job.Report, f.report)
	config.Override(fs, "journal-dir", &job.JournalDir, f.journalDir)
	if n := countTrue(f.checksum, f.sizeOnly, f.modtime); n > 1 {
		return job, usageErrorf("--checksum, --size-only and --modtime-heuristic exclude each other: pick one")
	}
	if f.checksum {
		job.Mode = "checksum"
	}
	if f.sizeOnly {
		job.Mode = "size-only"
	}
	if err := a.cfg.CheckSync(&job); err != nil {
		return job, usage(err)
	}
	return job, nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// runSyncJobs runs SRC DST, or the config file's sync jobs in file order.
func runSyncJobs(cmd *cobra.Command, a *app, f *syncFlags, args []string) error {
	stop, err := startSyncProfile()
	if err != nil {
		return err
	}
	defer stop()
	if len(args) == 2 {
		return runSync(cmd, a, f, f.job, args)
	}
	var names []string
	if f.job != "" {
		names = []string{f.job}
	} else {
		for _, j := range a.cfg.JobsOf(config.KindSync) {
			names = append(names, j.Name)
		}
	}
	if len(names) == 0 {
		return usageErrorf("evac sync needs SRC and DST, or -c FILE with at least one sync job")
	}
	var errs []error
	for _, n := range names {
		if err := runSync(cmd, a, f, n, nil); err != nil {
			if cmd.Context().Err() != nil || isUsage(err) {
				return err
			}
			a.log.Error("sync job failed", "job", n, "err", err)
			errs = append(errs, fmt.Errorf("job %s: %w", n, err))
		}
	}
	return jobFailed(errors.Join(errs...))
}

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

func runSync(cmd *cobra.Command, a *app, f *syncFlags, name string, args []string) error {
	job, err := mergeJob(cmd, a, f, name, args)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	cfg, closeFn, err := buildSyncConfig(cmd, a, f, job)
	if err != nil {
		return err
	}
	stopOnce := sync.OnceFunc(closeFn)
	defer stopOnce()
	if job.Watch > 0 {
		return objsync.Watch(ctx, cfg, job.Watch, func(st objsync.Stats, err error) {
			a.log.Info("pass done", "copied", st.Copied, "skipped", st.Skipped, "deleted", st.Deleted, "failed", st.Failed, "err", err)
			for _, rc := range cfg.Requests {
				rc.Reset()
			}
		})
	}
	st, runErr := objsync.Run(ctx, cfg)
	stopOnce() // final progress frame before the summary
	if f.asJSON {
		enc := json.NewEncoder(a.stdout)
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stderr, "copied %d (%s), skipped %d, deleted %d, failed %d in %.1fs\n",
			st.Copied, config.ByteSize(st.CopiedBytes), st.Skipped, st.Deleted, st.Failed, st.DurationS)
	}
	var re *objsync.RunError
	switch {
	case runErr == nil:
		return nil
	case errors.As(runErr, &re):
		return jobFailed(runErr)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return jobFailed(runErr)
}

// defaultJournalDir is $XDG_STATE_HOME/evac or ~/.local/state/evac.
func defaultJournalDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "evac"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the state journal: pass --journal-dir: %w", err)
	}
	return filepath.Join(home, ".local", "state", "evac"), nil
}
