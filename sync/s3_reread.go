package sync

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	gosync "sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// rereadMin: smaller rereadable bodies are still read once into a buffer
// (one read beats two for small files).
const rereadMin = 1 << 20

// chunkPool holds the buffers of checksum passes over rereadable bodies.
var chunkPool = gosync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// putAt writes a rereadable body (a local file) without buffering it: each
// request's checksum is computed by reading its range first, then the same
// range is sent from the source again (from the page cache). If the source
// changed in between, the server rejects the body (BadDigest) and nothing is
// written; the error wraps ErrChanged so the object is read again.
func (s *S3Store) putAt(ctx context.Context, key string, rb RereadableBody, o PutOptions) (PutResult, error) {
	head, err := readHead(rb, o.Size)
	if err != nil {
		return PutResult{}, fmt.Errorf("put %s%s: %w", s, key, err)
	}
	if o.Size >= s.opt.MultipartThreshold {
		return s.putMultipartAt(ctx, key, rb, o, head)
	}
	for {
		a := s.algs.get()
		sum, err := checksumAt(ctx, rb, a, 0, o.Size)
		if err == nil {
			err = checkNoMore(rb, o.Size)
		}
		if err != nil {
			return PutResult{}, fmt.Errorf("put %s%s: %w", s, key, err)
		}
		b64 := base64.StdEncoding.EncodeToString(sum)
		res, err := s.putObject(ctx, key, io.NewSectionReader(rb, 0, o.Size), o.Size, head, b64, o, a, true)
		if err == nil || !s.algs.downgrade(s, a, err) {
			return res, err
		}
	}
}

// putMultipartAt uploads a rereadable body in parts: each part goroutine
// computes its part's checksum from the source, then sends the part from the
// source; part CRCs are combined into the FULL_OBJECT checksum.
func (s *S3Store) putMultipartAt(ctx context.Context, key string, rb RereadableBody, o PutOptions, head []byte) (PutResult, error) {
	if !s.algs.get().Combinable() {
		return s.putMultipart(ctx, key, rb, o, nil)
	}
	up := &upload{s: s, key: key, partSize: partSizeFor(s.opt.PartSize, o.Size)}
	if err := s.startUpload(ctx, up, o, head); err != nil {
		return PutResult{}, err
	}
	if !up.alg.Combinable() { // the server made us step down to MD5
		up.abort()
		return s.putMultipart(ctx, key, rb, o, nil)
	}
	full := newFullHasher(up.alg)
	err := up.sendPartsAt(ctx, rb, o.Size, full)
	if err == nil {
		var res PutResult
		if res, err = up.complete(ctx, FormatChecksum(up.alg, full.sum())); err == nil {
			s.algs.confirm(up.alg)
			s.dropMarker(ctx, key)
			return res, nil
		}
	}
	if o.ResumeID == "" || !keepForResume(err) {
		up.abort()
	}
	return PutResult{}, fmt.Errorf("put %s%s: %w", s, key, err)
}

// sendPartsAt checksums and sends the parts of rb concurrently; a part of a
// resumed upload is reused when its listed checksum equals the one computed.
func (u *upload) sendPartsAt(ctx context.Context, rb RereadableBody, size int64, full *fullHasher) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(u.s.opt.PartConcurrency)
	for pn, off := int32(1), int64(0); off < size && gctx.Err() == nil; pn, off = pn+1, off+u.partSize {
		n := min(u.partSize, size-off)
		g.Go(func() error {
			sum, err := checksumAt(gctx, rb, u.alg, off, n)
			if err != nil {
				return err
			}
			full.setPart(pn, sum, n)
			b64 := base64.StdEncoding.EncodeToString(sum)
			if p, ok := u.existing[pn]; ok && partMatches(u.alg, p, b64, int(n)) {
				u.record(types.CompletedPart{PartNumber: aws.Int32(pn), ETag: p.ETag, ChecksumCRC64NVME: p.ChecksumCRC64NVME, ChecksumCRC32C: p.ChecksumCRC32C}, 0)
				return nil
			}
			return u.uploadPart(gctx, pn, io.NewSectionReader(rb, off, n), n, b64, true)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return checkNoMore(rb, size)
}

// checksumAt returns the digest of rb[off:off+n] with algorithm a, counting
// the bytes read (progress, --bwlimit). A source shorter than declared is
// reported as changed.
func checksumAt(ctx context.Context, rb RereadableBody, a ChecksumAlgorithm, off, n int64) ([]byte, error) {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	h := a.New()
	for done := int64(0); done < n; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		buf := (*bp)[:min(int64(len(*bp)), n-done)]
		got, err := rb.ReadAt(buf, off+done)
		h.Write(buf[:got])
		done += int64(got)
		if cerr := rb.Count(got); cerr != nil {
			return nil, cerr
		}
		if got < len(buf) {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("source ended after %d of %d bytes: %w", off+done, off+n, ErrChanged)
			}
			return nil, fmt.Errorf("read source: %w", err)
		}
	}
	return h.Sum(nil), nil
}

// readHead returns the first bytes of rb (content type detection).
func readHead(rb io.ReaderAt, size int64) ([]byte, error) {
	head := make([]byte, min(size, 512))
	n, err := rb.ReadAt(head, 0)
	if n < len(head) && err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read source: %w", err)
	}
	return head[:n], nil
}

// checkNoMore fails when the source is longer than its declared size.
func checkNoMore(rb io.ReaderAt, size int64) error {
	var one [1]byte
	if n, _ := rb.ReadAt(one[:], size); n > 0 {
		return fmt.Errorf("source is longer than its declared %d bytes: %w", size, ErrChanged)
	}
	return nil
}

// sendOptions are the per-request options of a PutObject/UploadPart:
// always UNSIGNED-PAYLOAD (the checksum header protects the body); for a
// body re-read from the source, a BadDigest is final (the source changed
// since its checksum was computed: resending the same bytes cannot help).
func sendOptions(reread bool) []func(*s3.Options) {
	if !reread {
		return []func(*s3.Options){unsigned}
	}
	return []func(*s3.Options){unsigned, func(o *s3.Options) {
		if r, ok := o.Retryer.(aws.RetryerV2); ok {
			o.Retryer = digestFinal{r}
		}
	}}
}

// digestFinal does not retry a rejected body checksum.
type digestFinal struct{ aws.RetryerV2 }

func (d digestFinal) IsErrorRetryable(err error) bool {
	if isCode(err, "BadDigest", "XAmzContentChecksumMismatch") {
		return false
	}
	return d.RetryerV2.IsErrorRetryable(err)
}

// rereadErr marks a rejected checksum of a re-read body as a source change.
func rereadErr(reread bool, err error) error {
	if reread && isCode(err, "BadDigest", "XAmzContentChecksumMismatch") {
		return fmt.Errorf("the source changed between computing its checksum and sending it, the target rejected the body: %w: %w", ErrChanged, err)
	}
	return err
}
