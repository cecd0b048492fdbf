package sync

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/evac-dev/evac/internal/retry"
)

// DefaultCopyCutoff is the largest object copied with one CopyObject; larger
// ones use UploadPartCopy (CopyObject's own limit is 5 GiB).
const DefaultCopyCutoff = 1 << 30

var _ Copier = (*S3Store)(nil)

// CanCopyFrom is true for an S3 store on the same endpoint with the same
// credential set: the server can then read the source itself.
func (s *S3Store) CanCopyFrom(src Store) bool {
	o, ok := src.(*S3Store)
	return ok && o.opt.Endpoint == s.opt.Endpoint && o.opt.CredentialID == s.opt.CredentialID
}

// Copy copies srcObj server-side: CopyObject up to the copy cutoff (metadata
// and headers copied by the server, a new full-object checksum computed by
// it), UploadPartCopy above it into a plain multipart upload (a checksummed
// upload rejects UploadPartCopy), verified by a HEAD of the result. With
// fallback, AccessDenied/NotImplemented falls back to streaming.
func (s *S3Store) Copy(ctx context.Context, src Store, srcObj Object, dstKey string, o PutOptions, fallback bool) (PutResult, error) {
	from, ok := src.(*S3Store)
	if !ok || !s.CanCopyFrom(src) {
		if !fallback {
			return PutResult{}, fmt.Errorf("copy %s%s: server-side copy from %s is not possible (different endpoint or credentials)", s, dstKey, src)
		}
		return s.streamCopy(ctx, src, srcObj, dstKey, o)
	}
	var res PutResult
	var err error
	if srcObj.Size <= s.copyCutoff() {
		res, err = s.copyObject(ctx, from, srcObj, dstKey)
	} else {
		res, err = s.copyMultipart(ctx, from, srcObj, dstKey)
	}
	if err != nil && fallback && isCode(err, "AccessDenied", "NotImplemented", "InvalidRequest") {
		s.log.Warn("server-side copy refused; streaming through evac instead", "key", dstKey, "err", err)
		return s.streamCopy(ctx, src, srcObj, dstKey, o)
	}
	return res, err
}

func (s *S3Store) copyCutoff() int64 {
	if s.opt.CopyCutoff > 0 {
		return min(s.opt.CopyCutoff, 5<<30)
	}
	return DefaultCopyCutoff
}

func (s *S3Store) streamCopy(ctx context.Context, src Store, srcObj Object, dstKey string, o PutOptions) (PutResult, error) {
	rc, err := src.Open(ctx, srcObj.Key, OpenOptions{Length: -1})
	if err != nil {
		return PutResult{}, err
	}
	defer rc.Close()
	if o.Size == 0 && srcObj.Size > 0 {
		o.Size = srcObj.Size
	}
	return s.Put(ctx, dstKey, rc, o)
}

// copySource is "bucket/key" URL-encoded for x-amz-copy-source.
func copySource(bucket, key string) *string {
	var b strings.Builder
	b.WriteString(bucket + "/")
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '/' || c == '-' || c == '_' || c == '.' || c == '~' ||
			('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return aws.String(b.String())
}

func (s *S3Store) copyObject(ctx context.Context, from *S3Store, srcObj Object, dstKey string) (PutResult, error) {
	in := &s3.CopyObjectInput{
		Bucket: aws.String(s.bucket), Key: s.full(dstKey),
		CopySource:        copySource(from.bucket, from.root+srcObj.Key),
		MetadataDirective: types.MetadataDirectiveCopy, StorageClass: types.StorageClass(s.opt.StorageClass),
		ServerSideEncryption: types.ServerSideEncryption(s.opt.SSE), SSEKMSKeyId: s.kmsKey(),
	}
	if srcObj.ETag != "" {
		in.CopySourceIfMatch = aws.String(`"` + srcObj.ETag + `"`)
	}
	if a := s.algs.get(); a != ChecksumMD5 {
		in.ChecksumAlgorithm = types.ChecksumAlgorithm(a)
	}
	out, err := s.cli.CopyObject(ctx, in)
	if err != nil {
		return PutResult{}, s.wrap("copy object to", dstKey, err)
	}
	res := PutResult{}
	if r := out.CopyObjectResult; r != nil {
		res.ETag = trimETag(r.ETag)
		res.Checksum = fullChecksum(r.ChecksumType, r.ChecksumCRC64NVME, r.ChecksumCRC32C)
	}
	if srcObj.Checksum != "" && res.Checksum != "" && sameAlg(srcObj.Checksum, res.Checksum) && srcObj.Checksum != res.Checksum {
		return PutResult{}, fmt.Errorf("copy %s%s: copied object has checksum %s, source %s", s, dstKey, res.Checksum, srcObj.Checksum)
	}
	return res, nil
}

func sameAlg(a, b string) bool {
	x, _, _ := SplitChecksum(a)
	y, _, _ := SplitChecksum(b)
	return x == y
}

// copyMultipart copies parts with UploadPartCopy into a plain upload with
// the source's metadata and headers, then HEADs the result to read its size
// and the checksum the server reports.
func (s *S3Store) copyMultipart(ctx context.Context, from *S3Store, srcObj Object, dstKey string) (PutResult, error) {
	meta, err := from.Stat(ctx, srcObj.Key)
	if err != nil {
		return PutResult{}, err
	}
	if srcObj.ETag != "" && meta.ETag != srcObj.ETag {
		return PutResult{}, fmt.Errorf("copy %s%s: source changed since it was listed (ETag %s, now %s): %w", s, dstKey, srcObj.ETag, meta.ETag, ErrChanged)
	}
	in := &s3.CreateMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: s.full(dstKey), Metadata: meta.Meta,
		StorageClass: types.StorageClass(s.opt.StorageClass), ServerSideEncryption: types.ServerSideEncryption(s.opt.SSE), SSEKMSKeyId: s.kmsKey(),
	}
	po := PutOptions{ContentType: meta.ContentType, CacheControl: meta.CacheControl, ContentEncoding: meta.ContentEncoding, ContentDisposition: meta.ContentDisposition, ContentLanguage: meta.ContentLanguage}
	s.headers(dstKey, nil, po, &in.ContentType, &in.CacheControl, &in.ContentEncoding, &in.ContentDisposition, &in.ContentLanguage)
	out, err := s.cli.CreateMultipartUpload(ctx, in)
	if err != nil {
		return PutResult{}, s.wrap("create multipart upload (copy)", dstKey, err)
	}
	up := &upload{s: s, key: dstKey, id: aws.ToString(out.UploadId), partSize: partSizeFor(s.opt.PartSize, meta.Size)}
	if err := up.copyParts(ctx, from, meta); err != nil {
		up.abort()
		return PutResult{}, err
	}
	slicesSortParts(up.done)
	_, err = s.cli.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: s.full(dstKey), UploadId: aws.String(up.id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: up.done},
	})
	if err != nil {
		up.abort()
		return PutResult{}, s.wrap("complete multipart copy of", dstKey, err)
	}
	st, err := s.Stat(ctx, dstKey)
	if err != nil {
		return PutResult{}, err
	}
	if st.Size != meta.Size {
		return PutResult{}, fmt.Errorf("copy %s%s: copied object has %d bytes, source %d", s, dstKey, st.Size, meta.Size)
	}
	if meta.Checksum != "" && st.Checksum != "" && sameAlg(meta.Checksum, st.Checksum) && meta.Checksum != st.Checksum {
		return PutResult{}, fmt.Errorf("copy %s%s: copied object has checksum %s, source %s", s, dstKey, st.Checksum, meta.Checksum)
	}
	return PutResult{ETag: st.ETag, Checksum: st.Checksum}, nil
}

func (u *upload) copyParts(ctx context.Context, from *S3Store, src Object) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(u.s.opt.PartConcurrency)
	for off, pn := int64(0), int32(1); off < src.Size; off, pn = off+u.partSize, pn+1 {
		end := min(off+u.partSize, src.Size) - 1
		g.Go(func() error {
			out, err := u.s.cli.UploadPartCopy(gctx, &s3.UploadPartCopyInput{
				Bucket: aws.String(u.s.bucket), Key: u.s.full(u.key), UploadId: aws.String(u.id), PartNumber: aws.Int32(pn),
				CopySource:        copySource(from.bucket, from.root+src.Key),
				CopySourceRange:   aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(end, 10)),
				CopySourceIfMatch: aws.String(`"` + src.ETag + `"`),
			})
			if err != nil {
				return u.s.wrap(fmt.Sprintf("upload part copy %d of", pn), u.key, err)
			}
			if out.CopyPartResult == nil {
				return fmt.Errorf("upload part copy %d of %s%s: response without an ETag", pn, u.s, u.key)
			}
			u.record(types.CompletedPart{PartNumber: aws.Int32(pn), ETag: out.CopyPartResult.ETag}, 0)
			return nil
		})
	}
	return g.Wait()
}

// s3Reader is the body of an Open. A download broken mid-way (connection
// reset, unexpected EOF) is resumed with a ranged GET from the current
// offset, pinned to the first response's ETag so a changed object is
// reported, not spliced.
type s3Reader struct {
	ctx      context.Context
	s        *S3Store
	key      string
	etag     string
	off, end int64 // next byte to read; last byte wanted (-1: to the end)
	body     io.ReadCloser
	reopens  int
}

const maxReopens = 10

func (r *s3Reader) open() error {
	in := &s3.GetObjectInput{Bucket: aws.String(r.s.bucket), Key: r.s.full(r.key)}
	if r.off > 0 || r.end >= 0 {
		rng := "bytes=" + strconv.FormatInt(r.off, 10) + "-"
		if r.end >= 0 {
			rng += strconv.FormatInt(r.end, 10)
		}
		in.Range = aws.String(rng)
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	out, err := r.s.cli.GetObject(r.ctx, in)
	if isCode(err, "PreconditionFailed") {
		return fmt.Errorf("get %s%s: object changed while being read: %w", r.s, r.key, ErrChanged)
	}
	if err != nil {
		return r.s.wrap("get", r.key, err)
	}
	if r.etag == "" {
		r.etag = aws.ToString(out.ETag)
	}
	if r.end < 0 && out.ContentLength != nil {
		r.end = r.off + *out.ContentLength - 1 // a resume must not ask past the end
	}
	r.body = out.Body
	return nil
}

func (r *s3Reader) Read(p []byte) (int, error) {
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == nil || err == io.EOF || n > 0 {
			if err != nil && err != io.EOF {
				err = nil // report it on the next Read, after these bytes
			}
			return n, err
		}
		if r.off > r.end && r.end >= 0 {
			return 0, io.EOF // everything arrived; only the connection's end failed
		}
		if r.reopens >= maxReopens || r.ctx.Err() != nil || retry.Classify(err) != retry.Retryable {
			return 0, fmt.Errorf("get %s%s at byte %d: %w", r.s, r.key, r.off, err)
		}
		r.reopens++
		r.body.Close()
		r.s.log.Info("download interrupted; resuming with a ranged GET", "key", r.key, "offset", r.off, "err", err)
		if oerr := r.open(); oerr != nil {
			r.body = io.NopCloser(strings.NewReader(""))
			return 0, fmt.Errorf("get %s%s at byte %d: %w (resuming: %w)", r.s, r.key, r.off, err, oerr)
		}
	}
}

func (r *s3Reader) Close() error { return r.body.Close() }
