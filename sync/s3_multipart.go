package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	gosync "sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/evac-dev/evac/internal/retry"
)

// BufferPool is a global memory budget for request bodies, shared by every
// object in flight: Get blocks while the budget is spent. Buffers of the
// standard part size are reused.
type BufferPool struct {
	sem    *semaphore.Weighted
	budget int64
	size   int64
	pool   gosync.Pool
}

// NewBufferPool allows budget bytes of buffers; partSize buffers are pooled.
func NewBufferPool(budget, partSize int64) *BufferPool {
	budget = max(budget, partSize)
	return &BufferPool{sem: semaphore.NewWeighted(budget), budget: budget, size: partSize}
}

// pooled: buffers for more than half a part are part-sized and reused;
// smaller ones are allocated to size (a 100 KiB object must not take, and
// touch, a 64 MiB buffer).
func (p *BufferPool) pooled(n int64) bool { return n > p.size/2 && n <= p.size }

// Get returns a buffer of length n, waiting for budget.
func (p *BufferPool) Get(ctx context.Context, n int64) ([]byte, error) {
	w := p.weight(n)
	if err := p.sem.Acquire(ctx, w); err != nil {
		return nil, err
	}
	if p.pooled(n) {
		if b, ok := p.pool.Get().(*[]byte); ok {
			return (*b)[:n], nil
		}
		return make([]byte, n, p.size), nil
	}
	return make([]byte, n), nil
}

// Put returns a buffer from Get.
func (p *BufferPool) Put(b []byte) {
	if b == nil {
		return
	}
	if int64(cap(b)) == p.size {
		b = b[:0]
		p.pool.Put(&b)
		p.sem.Release(p.weight(p.size))
		return
	}
	p.sem.Release(p.weight(int64(cap(b))))
}

// weight is what a buffer of n bytes costs; a buffer larger than the whole
// budget costs the whole budget (it then runs alone).
func (p *BufferPool) weight(n int64) int64 {
	if p.pooled(n) {
		n = p.size
	}
	return min(max(n, 1), p.budget)
}

// partSizeFor keeps an object within S3's 10,000 parts, rounded to 1 MiB.
func partSizeFor(base, size int64) int64 {
	ps := base
	if need := (size + 9999) / 10000; need > ps {
		ps = (need + (1<<20 - 1)) &^ (1<<20 - 1)
	}
	return ps
}

// upload is one multipart upload in progress.
type upload struct {
	s        *S3Store
	key      string
	id       string
	partSize int64
	alg      ChecksumAlgorithm
	existing map[int32]types.Part // listed parts of a resumed upload
	mu       gosync.Mutex
	done     []types.CompletedPart
	sent     int64
}

// putMultipart uploads r in parts of equal size, concurrently, each with its
// checksum; the full-object checksum is computed in the same pass and sent
// on completion (FULL_OBJECT). first, if set, is an already read first part
// (owned by this call).
func (s *S3Store) putMultipart(ctx context.Context, key string, r io.Reader, o PutOptions, first []byte) (PutResult, error) {
	up := &upload{s: s, key: key, partSize: s.opt.PartSize}
	if o.Size >= 0 {
		up.partSize = partSizeFor(s.opt.PartSize, o.Size)
	}
	firstLast := false
	if first == nil {
		var err error
		if first, firstLast, err = up.readPart(ctx, r, o.Size, 0); err != nil {
			return PutResult{}, fmt.Errorf("put %s%s: %w", s, key, err)
		}
	}
	if err := s.startUpload(ctx, up, o, first); err != nil {
		s.opt.Buffers.Put(first)
		return PutResult{}, err
	}
	full := newFullHasher(up.alg)
	err := up.sendParts(ctx, r, o, first, firstLast, full)
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

// keepForResume: an upload interrupted by cancellation or a transient
// failure is kept so the next run resumes it; source problems abort it.
func keepForResume(err error) bool {
	if errors.Is(err, ErrChanged) {
		return false
	}
	c := retry.Classify(err)
	return c == retry.Canceled || c == retry.Retryable
}

// sendParts reads r part by part (hashing as it reads) and uploads parts
// concurrently, reusing a resumed upload's part when its checksum matches.
func (u *upload) sendParts(ctx context.Context, r io.Reader, o PutOptions, first []byte, firstLast bool, full *fullHasher) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(u.s.opt.PartConcurrency)
	read := int64(0)
	for pn := int32(1); ; pn++ {
		buf, last := first, firstLast
		if pn > 1 {
			var err error
			if buf, last, err = u.readPart(gctx, r, o.Size, read); err != nil {
				if werr := g.Wait(); werr != nil {
					return werr // a failed part canceled gctx: report the cause
				}
				return err
			}
		}
		if len(buf) == 0 && pn > 1 { // unknown size ending on a part boundary
			u.s.opt.Buffers.Put(buf)
			break
		}
		read += int64(len(buf))
		full.stream(buf)
		if p, ok := u.existing[pn]; ok && partMatches(u.alg, p, full.part(pn, buf), len(buf)) {
			u.s.opt.Buffers.Put(buf)
			u.record(types.CompletedPart{PartNumber: aws.Int32(pn), ETag: p.ETag, ChecksumCRC64NVME: p.ChecksumCRC64NVME, ChecksumCRC32C: p.ChecksumCRC32C}, 0)
		} else {
			g.Go(func() error {
				defer u.s.opt.Buffers.Put(buf)
				return u.uploadPart(gctx, pn, bytes.NewReader(buf), int64(len(buf)), full.part(pn, buf), false)
			})
		}
		if last || gctx.Err() != nil {
			break
		}
	}
	return g.Wait()
}

// readPart reads the next part into a budgeted buffer; last is true when it
// ends the object.
func (u *upload) readPart(ctx context.Context, r io.Reader, size, read int64) ([]byte, bool, error) {
	n := u.partSize
	if size >= 0 {
		n = min(n, size-read)
	}
	buf, err := u.s.opt.Buffers.Get(ctx, n)
	if err != nil {
		return nil, false, err
	}
	got, err := io.ReadFull(r, buf)
	switch {
	case size < 0 && (err == io.EOF || err == io.ErrUnexpectedEOF):
		return buf[:got], true, nil
	case err != nil:
		u.s.opt.Buffers.Put(buf)
		if size >= 0 {
			return nil, false, shortRead(int(read)+got, size, err)
		}
		return nil, false, fmt.Errorf("read source: %w", err)
	case size >= 0 && read+int64(got) == size:
		if err := expectEOF(r, size); err != nil {
			u.s.opt.Buffers.Put(buf)
			return nil, false, err
		}
		return buf, true, nil
	}
	return buf, false, nil
}

func partMatches(a ChecksumAlgorithm, p types.Part, sum string, n int) bool {
	if aws.ToInt64(p.Size) != int64(n) {
		return false
	}
	switch a {
	case ChecksumCRC64NVME:
		return aws.ToString(p.ChecksumCRC64NVME) == sum
	case ChecksumCRC32C:
		return aws.ToString(p.ChecksumCRC32C) == sum
	}
	return false // MD5 parts cannot be verified from a listing
}

func (u *upload) record(p types.CompletedPart, sent int64) {
	u.mu.Lock()
	u.done = append(u.done, p)
	u.sent += sent
	u.mu.Unlock()
}

func slicesSortParts(p []types.CompletedPart) {
	slices.SortFunc(p, func(a, b types.CompletedPart) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
}

// uploadPart sends part pn (n bytes of body) with its checksum; reread
// says body is read again from the source rather than from a buffer.
func (u *upload) uploadPart(ctx context.Context, pn int32, body io.ReadSeeker, n int64, sum string, reread bool) error {
	a := u.alg
	in := &s3.UploadPartInput{
		Bucket: aws.String(u.s.bucket), Key: u.s.full(u.key), UploadId: aws.String(u.id),
		PartNumber: aws.Int32(pn), Body: body, ContentLength: aws.Int64(n),
	}
	setChecksum(a, sum, &in.ChecksumCRC64NVME, &in.ChecksumCRC32C, &in.ContentMD5)
	out, err := u.s.cli.UploadPart(ctx, in, sendOptions(reread)...)
	if err != nil {
		return u.s.wrap(fmt.Sprintf("upload part %d of", pn), u.key, rereadErr(reread, err))
	}
	if err := checkEcho(a, sum, out.ChecksumCRC64NVME, out.ChecksumCRC32C); err != nil {
		return fmt.Errorf("part %d: %w", pn, err)
	}
	cp := types.CompletedPart{PartNumber: aws.Int32(pn), ETag: out.ETag}
	setChecksum(a, sum, &cp.ChecksumCRC64NVME, &cp.ChecksumCRC32C, new(*string))
	u.record(cp, n)
	return nil
}

// complete finishes the upload with the full-object checksum. A NoSuchUpload
// (a retried Complete whose first attempt succeeded) is resolved by a HEAD:
// the object counts as written only if its checksum is the one computed.
func (u *upload) complete(ctx context.Context, fullSum string) (PutResult, error) {
	slicesSortParts(u.done)
	a := u.alg
	in := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(u.s.bucket), Key: u.s.full(u.key), UploadId: aws.String(u.id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.done},
	}
	_, b64, _ := SplitChecksum(fullSum)
	if a != ChecksumMD5 {
		in.ChecksumType = types.ChecksumTypeFullObject
		setChecksum(a, b64, &in.ChecksumCRC64NVME, &in.ChecksumCRC32C, new(*string))
	}
	out, err := u.s.cli.CompleteMultipartUpload(ctx, in)
	if isCode(err, "NoSuchUpload") && a != ChecksumMD5 {
		st, herr := u.s.Stat(ctx, u.key)
		if herr == nil && st.Checksum == fullSum {
			return PutResult{ETag: st.ETag, Checksum: fullSum, Sent: u.sent}, nil
		}
		return PutResult{}, fmt.Errorf("complete: upload vanished and the object's checksum is %q, not %q: %w", st.Checksum, fullSum, err)
	}
	if err != nil {
		return PutResult{}, u.s.wrap("complete multipart upload of", u.key, err)
	}
	if err := checkEcho(a, b64, out.ChecksumCRC64NVME, out.ChecksumCRC32C); err != nil {
		return PutResult{}, fmt.Errorf("complete: %w", err)
	}
	return PutResult{ETag: trimETag(out.ETag), Checksum: fullSum, Sent: u.sent}, nil
}

// abort cancels the upload (best effort, even when ctx is canceled).
func (u *upload) abort() {
	ctx := context.Background()
	_, err := u.s.cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(u.s.bucket), Key: u.s.full(u.key), UploadId: aws.String(u.id),
	})
	if err != nil && !isCode(err, "NoSuchUpload") {
		u.s.log.Warn("could not abort multipart upload; it will be cleaned up by the next run", "key", u.key, "upload_id", u.id, "err", err)
	}
	u.s.dropMarker(ctx, u.key)
}

// uploadMarker records one of evac's multipart uploads in progress, as a
// small object under .evac/uploads/ beside the data: ListMultipartUploads
// does not return metadata, so this is how a later run (from any machine)
// finds evac's uploads to resume or to clean up.
type uploadMarker struct {
	Key      string            `json:"key"`
	UploadID string            `json:"upload_id"`
	ResumeID string            `json:"resume_id"`
	PartSize int64             `json:"part_size"`
	Checksum ChecksumAlgorithm `json:"checksum"`
}

// UploadMarkerPrefix is where S3 stores keep their multipart markers,
// relative to the store root; sync, delete and verify must skip ".evac/".
const UploadMarkerPrefix = ".evac/uploads/"

func markerKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return UploadMarkerPrefix + hex.EncodeToString(h[:20])
}

// startUpload resumes evac's earlier upload of key when it was made with the
// same ResumeID and part size, else creates a new one (aborting a stale one).
func (s *S3Store) startUpload(ctx context.Context, up *upload, o PutOptions, head []byte) error {
	if m, ok := s.readMarker(ctx, up.key, o.ResumeID); ok {
		if m.ResumeID == o.ResumeID && m.PartSize == up.partSize && m.Checksum == s.algs.get() {
			parts, err := s.listParts(ctx, up.key, m.UploadID)
			if err == nil {
				up.id, up.existing, up.alg = m.UploadID, parts, m.Checksum
				s.log.Info("resuming multipart upload", "key", up.key, "upload_id", m.UploadID, "parts_listed", len(parts))
				return nil
			}
		}
		old := &upload{s: s, key: up.key, id: m.UploadID}
		old.abort()
	}
	for {
		up.alg = s.algs.get()
		id, err := s.createUpload(ctx, up.key, o, head, up.alg)
		if err == nil {
			up.id = id
			break
		}
		if !s.algs.downgrade(s, up.alg, err) {
			return err
		}
	}
	m := uploadMarker{Key: up.key, UploadID: up.id, ResumeID: o.ResumeID, PartSize: up.partSize, Checksum: up.alg}
	body, _ := json.Marshal(m)
	if _, err := s.putSingle(ctx, markerKey(up.key), body, PutOptions{ContentType: "application/json"}, up.alg); err != nil {
		s.log.Warn("could not record multipart upload marker; resume of this object will not work", "key", up.key, "err", err)
	}
	return nil
}

// readMarker reads the marker of key's earlier upload; without a resumeID
// there is nothing to resume and no request is made.
func (s *S3Store) createUpload(ctx context.Context, key string, o PutOptions, head []byte, a ChecksumAlgorithm) (string, error) {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: s.full(key), Metadata: o.Meta}
	s.headers(key, head, o, &in.ContentType, &in.CacheControl, &in.ContentEncoding, &in.ContentDisposition, &in.ContentLanguage)
	in.StorageClass = types.StorageClass(s.opt.StorageClass)
	in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryption(s.opt.SSE), s.kmsKey()
	if a != ChecksumMD5 {
		in.ChecksumAlgorithm = types.ChecksumAlgorithm(a)
		in.ChecksumType = types.ChecksumTypeFullObject
	}
	out, err := s.cli.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", s.wrap("create multipart upload", key, err)
	}
	return aws.ToString(out.UploadId), nil
}

func (s *S3Store) readMarker(ctx context.Context, key, resumeID string) (uploadMarker, bool) {
	var m uploadMarker
	if resumeID == "" {
		return m, false
	}
	rc, err := s.Open(ctx, markerKey(key), OpenOptions{Length: -1})
	if err != nil {
		return m, false
	}
	defer rc.Close()
	if json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&m) != nil || m.Key != key || m.UploadID == "" {
		return m, false
	}
	return m, true
}

func (s *S3Store) dropMarker(ctx context.Context, key string) {
	if err := s.Delete(context.WithoutCancel(ctx), markerKey(key)); err != nil {
		s.log.Warn("could not delete multipart upload marker", "key", key, "err", err)
	}
}

func (s *S3Store) listParts(ctx context.Context, key, id string) (map[int32]types.Part, error) {
	parts := map[int32]types.Part{}
	in := &s3.ListPartsInput{Bucket: aws.String(s.bucket), Key: s.full(key), UploadId: aws.String(id)}
	for {
		out, err := s.cli.ListParts(ctx, in)
		if err != nil {
			return nil, s.wrap("list parts of", key, err)
		}
		for _, p := range out.Parts {
			parts[aws.ToInt32(p.PartNumber)] = p
		}
		if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextPartNumberMarker) == "" {
			return parts, nil
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
}

var _ OrphanCleaner = (*S3Store)(nil)

// AbortOrphans aborts evac's multipart uploads under this store whose marker
// is older than olderThan (0: all), e.g. left by a killed run that will not
// resume them. It returns how many it aborted.
func (s *S3Store) AbortOrphans(ctx context.Context, olderThan time.Duration) (int, error) {
	n := 0
	cutoff := time.Now().Add(-olderThan)
	for o, err := range s.List(ctx, UploadMarkerPrefix) {
		if err != nil {
			return n, err
		}
		if olderThan > 0 && o.ModTime.After(cutoff) {
			continue
		}
		var m uploadMarker
		rc, err := s.Open(ctx, o.Key, OpenOptions{Length: -1})
		if err != nil {
			continue
		}
		err = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&m)
		rc.Close()
		if err == nil && m.UploadID != "" {
			(&upload{s: s, key: m.Key, id: m.UploadID}).abort()
			n++
		} else if err := s.Delete(ctx, o.Key); err != nil {
			return n, err
		}
	}
	return n, nil
}
