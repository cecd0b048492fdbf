package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// mirrorKey is where the journal of job id is mirrored on the target.
func mirrorKey(id string) string { return StateFolder + "journal/" + id + ".db" }

// restoreJournal fetches the target's mirror of the journal when this
// machine has none, so a job resumes elsewhere when the first site is lost.
func (e *engine) restoreJournal(ctx context.Context, path, id string) error {
	if _, err := os.Stat(path); err == nil || e.cfg.MirrorEvery < 0 {
		return nil
	}
	rc, err := e.cfg.Target.Open(ctx, mirrorKey(id), OpenOptions{Length: -1})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check the target for a journal mirror (%s): %w", mirrorKey(id), err)
	}
	defer rc.Close()
	if err := os.MkdirAll(e.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	tmp := path + ".restore"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("restore journal: %w", err)
	}
	_, cerr := io.Copy(f, rc)
	serr := f.Sync()
	if err := errors.Join(cerr, serr, f.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore journal from %s: %w", mirrorKey(id), err)
	}
	e.cfg.Logger.Info("restored the state journal from the target's mirror", "key", mirrorKey(id))
	return os.Rename(tmp, path)
}

// maybeMirror mirrors the journal when MirrorEvery has passed.
func (e *engine) maybeMirror(ctx context.Context) {
	if e.cfg.MirrorEvery < 0 || e.cfg.DryRun || time.Since(e.lastMirror) < e.cfg.MirrorEvery {
		return
	}
	e.lastMirror = time.Now()
	if err := e.mirror(ctx); err != nil {
		e.cfg.Logger.Warn("journal mirror failed; will retry", "err", err)
	}
}

// mirror uploads a consistent snapshot of the committed journal.
func (e *engine) mirror(ctx context.Context) error {
	if err := e.j.Flush(); err != nil {
		return err
	}
	f, err := os.CreateTemp(e.cfg.StateDir, "mirror-*.db")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := e.j.Snapshot(f)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = e.cfg.Target.Put(ctx, mirrorKey(e.cfg.JobID()), fileBody{f}, PutOptions{Size: n, ContentType: "application/octet-stream"})
	return err
}

// fileBody lets a store read a local temporary file in place (no buffer);
// it is not metered.
type fileBody struct{ *os.File }

func (fileBody) Count(int) error { return nil }

// close flushes the report and journal, mirrors a changed journal, and
// releases the journal lock.
func (e *engine) close(ctx context.Context) error {
	e.abortOrphans(ctx)
	rerr := e.rep.flush()
	ferr := e.j.Flush()
	var merr error
	if ferr == nil && e.j.Commits() > 0 && e.cfg.MirrorEvery >= 0 && !e.cfg.DryRun && ctx.Err() == nil {
		if merr = e.mirror(ctx); merr != nil {
			merr = fmt.Errorf("mirror the journal to the target: %w", merr)
		}
	}
	return errors.Join(rerr, ferr, merr, e.j.Close())
}

// orphanAborter is implemented by stores that track their multipart uploads.
type orphanAborter interface {
	AbortOrphans(ctx context.Context, olderThan time.Duration) (int, error)
}

// abortOrphans cleans up evac's stale multipart uploads after a pass that
// wrote (an unchanged pass sends no request for it).
func (e *engine) abortOrphans(ctx context.Context) {
	oa, ok := e.cfg.Target.(orphanAborter)
	if !ok || e.cfg.DryRun || e.cfg.AbortOrphansAfter < 0 || ctx.Err() != nil ||
		e.c.copied.Load()+e.c.failed.Load() == 0 {
		return
	}
	n, err := oa.AbortOrphans(ctx, e.cfg.AbortOrphansAfter)
	if err != nil {
		e.cfg.Logger.Warn("cleaning up stale multipart uploads failed", "err", err)
	}
	if n > 0 {
		e.cfg.Logger.Info("aborted stale multipart uploads of evac", "count", n, "older_than", e.cfg.AbortOrphansAfter)
	}
}
