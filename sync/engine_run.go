package sync

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// engine is the state of one Run.
type engine struct {
	cfg     Config
	j       *Journal
	filter  *Filter
	c       counters
	rep     *reporter
	gate    *adaptive
	bw      *bandwidth
	dopt    DecideOptions
	listErr error // first listing failure: no deletes this run

	validator *KeyValidator
	// protected are the normalised forms of unstorable source keys: a
	// target key equal to one is never deleted (kept small: unstorable
	// keys are few and each is reported).
	protected map[string]bool

	deletes     *os.File // pending delete keys, JSON lines (not held in memory)
	sourceSeen  bool
	lastMirror  time.Time
	throttleSaw atomic.Int64
}

func newEngine(ctx context.Context, cfg Config) (*engine, error) {
	f, err := NewFilter(cfg.Include, cfg.Exclude)
	if err != nil {
		return nil, err
	}
	e := &engine{
		cfg: cfg, filter: f, rep: newReporter(cfg.Report),
		gate: newAdaptive(cfg.Workers), bw: newBandwidth(cfg.BWLimit),
		dopt:       DecideOptions{Mode: cfg.Mode, Force: cfg.Force, Delete: cfg.Delete},
		lastMirror: time.Now(),
		protected:  map[string]bool{},
	}
	id := cfg.JobID()
	path := journalPath(cfg.StateDir, id)
	if err := e.restoreJournal(ctx, path, id); err != nil {
		return nil, err
	}
	e.j, err = OpenJournal(path, JournalOptions{})
	if err != nil {
		return nil, err
	}
	if !cfg.DryRun {
		_ = e.j.SetMeta("job", fmt.Sprintf("source=%s target=%s shard=%s include=%q exclude=%q",
			cfg.Source, cfg.Target, cfg.Shard, cfg.Include, cfg.Exclude))
	}
	return e, nil
}

// keep filters keys on both sides: evac's state folder, shard, filters.
func (e *engine) keep(key string) bool {
	return !strings.HasPrefix(key, StateFolder) && e.cfg.Shard.Owns(key) && e.filter.Match(key)
}

func (e *engine) run(ctx context.Context) error {
	var done []string
	for _, p := range e.cfg.Priority {
		if err := e.pass(ctx, p, nil); err != nil {
			return err
		}
		done = append(done, p)
	}
	skip := func(k string) bool {
		for _, p := range done {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
		return false
	}
	if err := e.pass(ctx, "", skip); err != nil {
		return err
	}
	return e.runDeletes(ctx)
}

// pass diffs one prefix and runs its work with the worker pool; it
// returns after every started object finished.
func (e *engine) pass(ctx context.Context, prefix string, skip func(string) bool) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Workers)
	e.validator = NewKeyValidator(e.cfg.TargetKind)
	in := DiffInput{
		Source:  Prefetch(e.list(gctx, e.cfg.Source, prefix), listAhead),
		Target:  Prefetch(e.list(gctx, e.cfg.Target, prefix), listAhead),
		Journal: e.j.Entries(prefix),
		Keep: func(k string) bool {
			return e.keep(k) && (skip == nil || !skip(k))
		},
	}
	var derr error
	for it, err := range Diff(in) {
		if err != nil {
			derr = err
			break
		}
		if it.Src != nil {
			e.sourceSeen = true
			e.c.listedSource.Add(1)
		}
		if it.Dst != nil {
			e.c.listedTarget.Add(1)
		}
		if err := e.dispatch(gctx, g, it); err != nil {
			derr = err
			break
		}
		e.maybeMirror(gctx)
	}
	werr := g.Wait()
	if derr != nil && isListingErr(derr) {
		e.cfg.Logger.Error("listing failed; objects listed before the failure were synced, deletes are skipped this run", "err", derr)
		if e.listErr == nil {
			e.listErr = derr
		}
		return derr
	}
	return errors.Join(derr, werr)
}

// list lists one side under prefix. With --shard a full pass lists only
// this shard's top-level prefixes (ListShard); a priority prefix inside
// another shard's folder lists nothing. Diff's Keep still applies the
// shard rule to both listings and the journal, so all three see one key set.
func (e *engine) list(ctx context.Context, st Store, prefix string) iter.Seq2[Object, error] {
	sh := e.cfg.Shard
	switch {
	case sh.Count <= 1:
	case prefix == "":
		return ListShard(ctx, st, sh.Owns)
	case strings.Contains(prefix, "/") && !sh.Owns(prefix):
		return func(func(Object, error) bool) {}
	}
	return st.List(ctx, prefix)
}

// dispatch decides one key and runs or queues the work.
func (e *engine) dispatch(ctx context.Context, g *errgroup.Group, it DiffItem) error {
	if it.Src != nil {
		if err := e.validator.Check(it.Key); err != nil {
			e.unstorable(it, err)
			return nil
		}
	}
	d := Decide(it.Src, it.Dst, it.J, e.dopt)
	switch d.Action {
	case ActSkip:
		e.c.skipped.Add(1)
		if it.Src != nil {
			e.cfg.Progress.AddTotal(1, 0)
			e.cfg.Progress.Add(1, 0)
		}
		e.rep.write(ReportRecord{Key: it.Key, Action: "skip", Reason: d.Reason, Size: sizeOf(it.Src, it.Dst), ETag: etagOf(it.Dst), Checksum: checksumOf(it.J, it.Dst)})
		return nil
	case ActForget:
		if e.cfg.DryRun {
			return nil
		}
		return e.j.Delete(it.Key)
	case ActConflict:
		e.conflict(it, d)
		return nil
	case ActDelete:
		return e.queueDelete(it, d)
	}
	e.cfg.Progress.AddTotal(1, it.Src.Size)
	if e.cfg.DryRun {
		e.plan(it, d)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.gate.acquire(ctx); err != nil {
		return err
	}
	g.Go(func() error {
		throttled := e.object(ctx, it, d)
		e.gate.release(throttled || e.sawThrottle())
		return nil
	})
	return nil
}

// sawThrottle reports whether the SDK retried a SlowDown since last asked.
func (e *engine) sawThrottle() bool {
	n := e.cfg.Retry.throttles.Load()
	old := e.throttleSaw.Load()
	return n != old && e.throttleSaw.CompareAndSwap(old, n)
}

// unstorable reports a source key the target cannot hold faithfully.
func (e *engine) unstorable(it DiffItem, err error) {
	e.protected[Normalise(it.Key)] = true
	e.c.fail(it.Key, err)
	e.cfg.Progress.AddTotal(1, 0)
	e.cfg.Progress.Add(1, 0)
	e.cfg.Logger.Warn("key cannot be stored on the target; skipped", "key", it.Key, "err", err)
	e.rep.write(ReportRecord{Key: it.Key, Action: "unstorable", Reason: "target cannot store this key faithfully", Size: it.Src.Size, Error: err.Error()})
}

func (e *engine) conflict(it DiffItem, d Decision) {
	err := fmt.Errorf("%s: journal has etag %s size %d, target has etag %s size %d; not overwritten: check who wrote it, then rerun with --force to overwrite",
		d.Reason, it.J.ETag, it.J.Size, it.Dst.ETag, it.Dst.Size)
	e.c.conflicts.Add(1)
	e.c.fail(it.Key, err)
	e.cfg.Logger.Warn("target changed externally", "key", it.Key)
	e.rep.write(ReportRecord{Key: it.Key, Action: "conflict", Reason: d.Reason, Size: it.Dst.Size, ETag: it.Dst.ETag, Error: err.Error()})
}

func (e *engine) plan(it DiffItem, d Decision) {
	e.cfg.Logger.Info("would "+d.Action.String(), "key", it.Key, "reason", d.Reason, "size", it.Src.Size)
	if d.Action == ActCopy {
		e.c.copied.Add(1)
		e.c.copiedBytes.Add(it.Src.Size)
	} else {
		e.c.skipped.Add(1)
	}
	e.rep.write(ReportRecord{Key: it.Key, Action: d.Action.String(), Reason: d.Reason, Size: it.Src.Size, DryRun: true})
}

func (e *engine) queueDelete(it DiffItem, d Decision) error {
	if e.deletes == nil {
		f, err := os.CreateTemp(e.cfg.StateDir, "deletes-*.jsonl")
		if err != nil {
			return fmt.Errorf("pending deletes file: %w", err)
		}
		_ = os.Remove(f.Name()) // unlinked: vanishes with the process
		e.deletes = f
	}
	rec := ReportRecord{Key: it.Key, Action: "delete", Reason: d.Reason, Size: it.Dst.Size, ETag: it.Dst.ETag}
	b, _ := json.Marshal(rec)
	if _, err := e.deletes.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("pending deletes file: %w", err)
	}
	return nil
}

// runDeletes applies the queued deletes after every listing completed,
// unless a guard refuses: a failed listing, an empty source, --max-delete.
func (e *engine) runDeletes(ctx context.Context) error {
	if e.deletes == nil {
		return nil
	}
	defer e.deletes.Close()
	if e.listErr != nil {
		return nil
	}
	if lp, ok := e.cfg.Source.(interface{ ListProblems() int64 }); ok && lp.ListProblems() > 0 {
		return fmt.Errorf("refusing --delete: %d source entries could not be read during the listing (see the warnings above: broken symlinks, permissions, unmounted volumes); nothing was deleted", lp.ListProblems())
	}
	if !e.sourceSeen {
		return fmt.Errorf("refusing --delete: the source %s listed no objects (wrong path or prefix, or an unmounted volume?); nothing was deleted", e.cfg.Source)
	}
	n := 0
	if err := e.eachDelete(false, func(ReportRecord) { n++ }); err != nil {
		return err
	}
	if e.cfg.MaxDelete > 0 && n > e.cfg.MaxDelete {
		return fmt.Errorf("refusing --delete: %d objects would be deleted, more than --max-delete %d; nothing was deleted (check the source, or raise --max-delete)", n, e.cfg.MaxDelete)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Workers)
	err := e.eachDelete(true, func(rec ReportRecord) {
		if gctx.Err() == nil {
			g.Go(func() error { e.deleteOne(gctx, rec); return nil })
		}
	})
	return errors.Join(err, g.Wait())
}

// eachDelete calls fn for every queued delete that is not protected (a
// key an unstorable source key normalises to is never deleted).
func (e *engine) eachDelete(logProtected bool, fn func(ReportRecord)) error {
	if _, err := e.deletes.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("pending deletes file: %w", err)
	}
	sc := bufio.NewScanner(e.deletes)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec ReportRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("pending deletes file: %w", err)
		}
		if e.protected[rec.Key] {
			if !logProtected {
				continue
			}
			e.cfg.Logger.Warn("not deleting: an unstorable source key normalises to it", "key", rec.Key)
			continue
		}
		fn(rec)
	}
	return sc.Err()
}

func (e *engine) deleteOne(ctx context.Context, rec ReportRecord) {
	if e.cfg.DryRun {
		e.cfg.Logger.Info("would delete", "key", rec.Key)
		rec.DryRun = true
		e.c.deleted.Add(1)
		e.rep.write(rec)
		return
	}
	if err := e.cfg.Target.Delete(ctx, rec.Key); err != nil {
		e.c.fail(rec.Key, fmt.Errorf("delete: %w", err))
		rec.Action, rec.Error = "fail", err.Error()
		e.rep.write(rec)
		return
	}
	e.c.deleted.Add(1)
	_ = e.j.Delete(rec.Key)
	e.rep.write(rec)
}

func sizeOf(a, b *Object) int64 {
	if a != nil {
		return a.Size
	}
	if b != nil {
		return b.Size
	}
	return 0
}

func etagOf(o *Object) string {
	if o == nil {
		return ""
	}
	return o.ETag
}

func checksumOf(j *JournalEntry, o *Object) string {
	if j != nil && j.Checksum != "" {
		return j.Checksum
	}
	if o != nil {
		return o.Checksum
	}
	return ""
}
