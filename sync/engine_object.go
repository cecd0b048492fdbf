package sync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// changedRetries is how often a source that changed while being read is
// read again within one run before it is reported.
const changedRetries = 2

// object runs the work for one key; it reports whether the target
// throttled. Failures are counted and reported, never returned: one
// object does not stop the run.
func (e *engine) object(ctx context.Context, it DiffItem, d Decision) (throttled bool) {
	var err error
	switch d.Action {
	case ActAdopt:
		d, err = e.adopt(ctx, it)
	case ActVerify:
		d, err = e.verify(ctx, it)
	}
	if err == nil && d.Action == ActCopy {
		err = e.copyWithRetry(ctx, it, d)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		e.c.fail(it.Key, err)
		e.cfg.Logger.Error("object failed", "key", it.Key, "err", err)
		e.rep.write(ReportRecord{Key: it.Key, Action: "fail", Reason: d.Reason, Size: it.Src.Size, Error: err.Error()})
		e.cfg.Progress.Add(1, 0)
		return isThrottle(err)
	}
	return false
}

func (e *engine) copyWithRetry(ctx context.Context, it DiffItem, d Decision) error {
	var err error
	for attempt := 0; attempt <= changedRetries; attempt++ {
		err = e.copyOne(ctx, it, d)
		if !errors.Is(err, ErrChanged) {
			return err
		}
		e.cfg.Logger.Warn("source changed while being read; reading it again", "key", it.Key, "attempt", attempt+1)
	}
	return fmt.Errorf("%w; it was not recorded as done and will be copied again by the next pass", err)
}

// copyOne writes one object and journals it.
func (e *engine) copyOne(ctx context.Context, it DiffItem, d Decision) error {
	st, err := e.cfg.Source.Stat(ctx, it.Key) // stat before reading: identity, metadata
	if errors.Is(err, ErrNotFound) {
		e.c.skipped.Add(1)
		e.rep.write(ReportRecord{Key: it.Key, Action: "skip", Reason: "vanished from the source after listing"})
		e.cfg.Progress.Add(1, 0)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat source: %w", err)
	}
	po := e.putOptions(st)
	res, identity, checked, err := e.transfer(ctx, st, po)
	if err != nil {
		return err
	}
	racy := checked && e.racy(st.ModTime, time.Now())
	je := JournalEntry{SrcIdentity: identity, Size: st.Size, ETag: res.ETag, Checksum: res.Checksum, Racy: racy, At: time.Now().UTC()}
	if err := e.j.Put(it.Key, je); err != nil {
		return err
	}
	e.c.copied.Add(1)
	e.c.copiedBytes.Add(st.Size)
	e.c.sentBytes.Add(res.Sent)
	e.cfg.Progress.Add(1, 0)
	e.rep.write(ReportRecord{Key: it.Key, Action: "copy", Reason: d.Reason, Size: st.Size, Sent: res.Sent, ETag: res.ETag, Checksum: res.Checksum})
	return nil
}

// transfer copies st server-side when possible, else streams it. checked
// says the source's reader verified it did not change while being read.
func (e *engine) transfer(ctx context.Context, st Object, po PutOptions) (PutResult, string, bool, error) {
	if cp, ok := e.cfg.Target.(Copier); ok && e.cfg.ServerSideCopy != SSCNever && cp.CanCopyFrom(e.cfg.Source) {
		res, err := cp.Copy(ctx, e.cfg.Source, st, st.Key, po, e.cfg.ServerSideCopy == SSCAuto)
		if err != nil {
			return res, "", false, fmt.Errorf("server-side copy: %w", err)
		}
		e.cfg.Progress.Add(0, st.Size)
		return res, st.Identity, false, nil
	}
	rc, err := e.cfg.Source.Open(ctx, st.Key, OpenOptions{Length: -1})
	if err != nil {
		return PutResult{}, "", false, fmt.Errorf("open source: %w", err)
	}
	defer rc.Close()
	identity := st.Identity
	cc, checked := rc.(ChangeChecker)
	if checked {
		if id := cc.Identity(); id != st.Identity {
			// Changed between stat and open: record what is read now.
			identity = id
			st.Size = sizeFromIdentity(id, st.Size)
			po.Size = st.Size
		}
	}
	m := &meteredReader{ctx: ctx, r: rc, bw: e.bw, prog: e.cfg.Progress}
	var body io.Reader = m
	if ra, ok := rc.(io.ReaderAt); ok && po.Size >= 0 {
		// A file: the target may read it in place instead of buffering it.
		body = &rereadBody{meteredReader: m, ra: ra}
		if po.ContentType == "" {
			po.ContentType = sniffAt(ra)
		}
	} else if po.ContentType == "" {
		po.ContentType, body = sniff(body)
	}
	res, err := e.cfg.Target.Put(ctx, st.Key, body, po)
	if err != nil {
		return res, "", false, fmt.Errorf("put: %w", err)
	}
	if checked {
		if err := cc.Verify(); err != nil { // fstat after reading
			return res, "", false, err
		}
	}
	return res, identity, checked, nil
}

// putOptions carries metadata and headers; the resume id ties an
// interrupted multipart upload to this exact source content.
func (e *engine) putOptions(st Object) PutOptions {
	ct := st.ContentType
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(st.Key))
	}
	return PutOptions{
		Size: st.Size, ContentType: ct, Meta: st.Meta,
		CacheControl: st.CacheControl, ContentEncoding: st.ContentEncoding,
		ContentDisposition: st.ContentDisposition, ContentLanguage: st.ContentLanguage,
		ResumeID: st.Identity,
	}
}

// sniff detects the content type from the first 512 bytes.
func sniff(r io.Reader) (string, io.Reader) {
	br := bufio.NewReaderSize(r, 512)
	head, _ := br.Peek(512)
	if len(head) == 0 {
		return "application/octet-stream", br
	}
	return http.DetectContentType(head), br
}

// sniffAt detects the content type from the first 512 bytes of ra.
func sniffAt(ra io.ReaderAt) string {
	var head [512]byte
	n, _ := ra.ReadAt(head[:], 0)
	if n == 0 {
		return "application/octet-stream"
	}
	return http.DetectContentType(head[:n])
}

// racy: the file's mtime is within one timestamp tick of now, so a write
// in the same tick after our read would leave its identity unchanged.
func (e *engine) racy(mtime, now time.Time) bool {
	tick := e.cfg.RacyTick
	if tick <= 0 {
		tick = 20 * time.Millisecond
		if mtime.Nanosecond() == 0 {
			tick = 2 * time.Second
		}
	}
	return now.Sub(mtime) < tick
}

// adopt decides with one HEAD whether an object evac has no record of
// already equals the source: same size and the same mtime metadata,
// checksum or ETag. It is journaled (no transfer) or copied.
func (e *engine) adopt(ctx context.Context, it DiffItem) (Decision, error) {
	h, err := e.cfg.Target.Stat(ctx, it.Key)
	if errors.Is(err, ErrNotFound) {
		return Decision{ActCopy, ReasonTargetMissing}, nil
	}
	if err != nil {
		return Decision{ActAdopt, ReasonUntracked}, fmt.Errorf("head target: %w", err)
	}
	src := it.Src
	same := h.Size == src.Size && (mtimeEqual(h.Meta[MetaMtime], src.ModTime) ||
		(src.Checksum != "" && src.Checksum == h.Checksum) ||
		(src.ETag != "" && src.ETag == h.ETag))
	if !same {
		return Decision{ActCopy, "on target, not in journal, differs"}, nil
	}
	racy := isFSIdentity(src.Identity) && e.racy(src.ModTime, time.Now())
	je := JournalEntry{SrcIdentity: src.Identity, Size: h.Size, ETag: h.ETag, Checksum: h.Checksum, Racy: racy, At: time.Now().UTC()}
	if err := e.j.Put(it.Key, je); err != nil {
		return Decision{}, err
	}
	e.c.adopted.Add(1)
	e.c.skipped.Add(1)
	e.cfg.Progress.Add(1, src.Size)
	e.rep.write(ReportRecord{Key: it.Key, Action: "adopt", Reason: ReasonUntracked, Size: h.Size, ETag: h.ETag, Checksum: h.Checksum})
	return Decision{ActSkip, ReasonUntracked}, nil
}

// verify (--checksum without checksums in the listings) reads the source
// and compares its checksum with the one the target returns on HEAD.
func (e *engine) verify(ctx context.Context, it DiffItem) (Decision, error) {
	h, err := e.cfg.Target.Stat(ctx, it.Key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Decision{ActVerify, ReasonNoChecksum}, fmt.Errorf("head target: %w", err)
	}
	alg, want, ok := SplitChecksum(h.Checksum)
	if err != nil || !ok {
		return Decision{ActCopy, "target has no full-object checksum"}, nil
	}
	rc, err := e.cfg.Source.Open(ctx, it.Key, OpenOptions{Length: -1})
	if err != nil {
		return Decision{ActVerify, ReasonNoChecksum}, fmt.Errorf("open source: %w", err)
	}
	defer rc.Close()
	hr := NewHashingReader(rc, alg)
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return Decision{ActVerify, ReasonNoChecksum}, fmt.Errorf("read source: %w", err)
	}
	if _, got, _ := SplitChecksum(hr.Checksum()); got != want {
		return Decision{ActCopy, ReasonChecksumDiffer}, nil
	}
	e.c.skipped.Add(1)
	e.cfg.Progress.Add(1, it.Src.Size)
	e.rep.write(ReportRecord{Key: it.Key, Action: "skip", Reason: ReasonChecksumEqual, Size: h.Size, ETag: h.ETag, Checksum: h.Checksum})
	return Decision{ActSkip, ReasonChecksumEqual}, nil
}

func mtimeEqual(meta string, t time.Time) bool {
	if meta == "" {
		return false
	}
	m, err := ParseMtime(meta)
	return err == nil && m.Equal(t)
}

// isFSIdentity recognises "size:mtime_ns:ctime_ns:dev:ino".
func isFSIdentity(id string) bool {
	parts := strings.Split(id, ":")
	if len(parts) != 5 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseInt(p, 10, 64); err != nil {
			return false
		}
	}
	return true
}

func sizeFromIdentity(id string, def int64) int64 {
	if !isFSIdentity(id) {
		return def
	}
	n, _ := strconv.ParseInt(strings.SplitN(id, ":", 2)[0], 10, 64)
	return n
}
