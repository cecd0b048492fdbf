package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/evac-dev/evac/internal/retry"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/spf13/cobra"

	"github.com/evac-dev/evac/config"
	"github.com/evac-dev/evac/internal/progress"
	"github.com/evac-dev/evac/internal/redact"
	objsync "github.com/evac-dev/evac/sync"
)

// buildSyncConfig maps the validated job onto the engine's Config: stores
// for both sides (each with its own endpoint and credentials), journal
// directory, report file and progress output.
func buildSyncConfig(cmd *cobra.Command, a *app, f *syncFlags, job config.SyncJob) (objsync.Config, func(), error) {
	ctx := cmd.Context()
	cfg := objsync.DefaultConfig()
	cfg.Retry = &objsync.RetryHook{}
	buffers := objsync.NewBufferPool(int64(job.BufferMemory), int64(job.PartSize))
	var err error
	srcS3, err := f.source.Apply(cmd.Flags(), job.SourceLocation.S3)
	if err != nil {
		return cfg, nil, usage(err)
	}
	dstS3, err := f.target.Apply(cmd.Flags(), job.TargetLocation.S3)
	if err != nil {
		return cfg, nil, usage(err)
	}
	if dstS3 == nil && (f.sse != "" || f.sseKMS != "") {
		dstS3 = &config.S3{}
	}
	if dstS3 != nil {
		if f.sse != "" {
			dstS3.SSE = f.sse
		}
		if f.sseKMS != "" {
			dstS3.SSEKMSKeyID = f.sseKMS
		}
	}
	side := storeSide{a: a, job: job, buffers: buffers, hook: cfg.Retry}
	var rcS, rcT *objsync.RequestCounts
	if cfg.Source, rcS, err = side.open(ctx, "source", job.SourceLocation, srcS3); err != nil {
		return cfg, nil, err
	}
	if cfg.Target, rcT, err = side.open(ctx, "target", job.TargetLocation, dstS3); err != nil {
		return cfg, nil, err
	}
	cfg.Requests = []*objsync.RequestCounts{rcS, rcT}
	if cfg.TargetKind, err = targetKind(f.kind, job.TargetLocation, dstS3); err != nil {
		return cfg, nil, usage(err)
	}
	if err := applyJob(&cfg, f, job); err != nil {
		return cfg, nil, err
	}
	cfg.Logger = a.log
	closers := []func(){}
	if job.Report != "" {
		rf, err := os.Create(job.Report)
		if err != nil {
			return cfg, nil, usageErrorf("--report %s: %w", job.Report, err)
		}
		cfg.Report = rf
		closers = append(closers, func() { rf.Close() })
	}
	rep := progress.New(progress.Options{Out: a.stderr, Log: a.log})
	cfg.Progress = rep.Track("objects", "obj", true)
	rep.Start()
	closers = append([]func(){rep.Stop}, closers...)
	return cfg, func() {
		for _, c := range closers {
			c()
		}
	}, nil
}

func applyJob(cfg *objsync.Config, f *syncFlags, job config.SyncJob) error {
	cfg.Workers = job.Workers
	cfg.Delete, cfg.Force, cfg.DryRun = job.Delete, job.Force, job.DryRun
	cfg.MaxDelete = job.MaxDelete // 0 = no limit
	cfg.Include, cfg.Exclude, cfg.Priority = job.Include, job.Exclude, job.Priority
	cfg.BWLimit = int64(job.BWLimit)
	cfg.ServerSideCopy = objsync.ServerSideCopy(job.ServerSideCopy)
	switch job.Mode {
	case "checksum":
		cfg.Mode = objsync.ModeChecksum
	case "size-only":
		cfg.Mode = objsync.ModeSizeOnly
	}
	if f.modtime {
		cfg.Mode = objsync.ModeModTime
	}
	shard, err := objsync.ParseShard(job.Shard, os.Getenv("JOB_COMPLETION_INDEX"))
	if err != nil {
		return usage(err)
	}
	cfg.Shard = shard
	cfg.StateDir = job.JournalDir
	if cfg.StateDir == "" {
		if cfg.StateDir, err = defaultJournalDir(); err != nil {
			return usage(err)
		}
	}
	return nil
}

// storeSide opens one side's store.
type storeSide struct {
	a       *app
	job     config.SyncJob
	buffers *objsync.BufferPool
	hook    *objsync.RetryHook
}

func (s storeSide) open(ctx context.Context, side string, loc config.Location, c *config.S3) (objsync.Store, *objsync.RequestCounts, error) {
	if loc.Kind == config.LocalKind {
		st, err := objsync.NewFSStore(loc.Path, objsync.FSOptions{FollowSymlinks: s.job.FollowSymlinks, Logger: s.a.log})
		if err != nil {
			return nil, nil, usageErrorf("%s %s: %w (the directory must exist)", side, loc.Path, err)
		}
		return st, nil, nil
	}
	if c == nil {
		c = &config.S3{}
	}
	cli, err := objsync.NewS3Client(ctx, objsync.S3ClientConfig{
		Endpoint: c.Endpoint, Region: c.Region, Profile: c.Profile,
		AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		VirtualHosted: c.Endpoint != "" && !c.UsePathStyle(),
		OnRetry:       s.hook.Observe,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", side, err)
	}
	cli, rc := objsync.CountRequests(cli)
	credID := c.Profile + "/" + c.AccessKeyID
	st, err := objsync.NewS3Store(loc.String(), cli, objsync.S3Options{
		PartSize: int64(s.job.PartSize), MultipartThreshold: int64(s.job.MultipartThreshold),
		PartConcurrency: s.job.PartWorkers, Buffers: s.buffers, CopyCutoff: int64(s.job.CopyCutoff),
		StorageClass: s.job.StorageClass, SSE: c.SSE, SSEKMSKeyID: c.SSEKMSKeyID,
		Endpoint: c.Endpoint, CredentialID: credID, Logger: s.a.log,
	})
	if err != nil {
		return nil, nil, usageErrorf("%s: %w", side, err)
	}
	if err := preflight(ctx, side, cli, loc, c.Endpoint); err != nil {
		return nil, nil, err
	}
	return st, rc, nil
}

// preflight lists one key so that a missing bucket, rejected credentials
// or an unreachable endpoint fail fast, with the fix, before anything is
// written. A refused connection or an S3 error ends it at once; other
// network errors are tried up to 5 times within a few seconds.
func preflight(ctx context.Context, side string, cli *s3.Client, loc config.Location, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var err error
	for attempt := range 5 {
		_, err = cli.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), MaxKeys: aws.Int32(1)},
			func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		var ae smithy.APIError
		var re *smithyhttp.ResponseError
		serverBusy := errors.As(err, &re) && re.HTTPStatusCode() >= 500
		if err == nil || (errors.As(err, &ae) && !serverBusy) || errors.Is(err, syscall.ECONNREFUSED) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
	}
	if err == nil {
		return nil
	}
	where := endpoint
	if where == "" {
		where = "AWS"
	}
	err = redact.Error(err)
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &oe) || errors.As(err, &ne):
		return fmt.Errorf("%s %s: cannot reach the endpoint %s: check --%s-endpoint and that the service is up: %w", side, loc, where, side, err)
	case retry.HasCode(err, "NoSuchBucket"):
		return fmt.Errorf("%s %s: bucket %q does not exist on %s: create it or fix the URL: %w", side, loc, loc.Bucket, where, err)
	case retry.HasCode(err, "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "ExpiredToken"):
		return fmt.Errorf("%s %s: credentials rejected by %s: check the access key and secret (or --%s-profile) for the %s: %w", side, loc, where, side, side, err)
	case retry.HasCode(err, "AccessDenied"):
		return fmt.Errorf("%s %s: access denied listing bucket %q: the %s credentials need s3:ListBucket: %w", side, loc, loc.Bucket, side, err)
	}
	return fmt.Errorf("%s %s: cannot list bucket %q on %s: %w", side, loc, loc.Bucket, where, err)
}

// targetKind resolves --target-kind auto from the target location.
func targetKind(flag string, loc config.Location, c *config.S3) (objsync.TargetKind, error) {
	if flag != "" && flag != "auto" {
		k, err := objsync.ParseTargetKind(flag)
		if err != nil {
			return "", fmt.Errorf("--target-kind: %w", err)
		}
		return k, nil
	}
	switch {
	case loc.Kind == config.LocalKind:
		return objsync.TargetFS, nil
	case c != nil && c.Endpoint != "":
		return objsync.TargetS3Posix, nil
	}
	return objsync.TargetS3, nil
}
