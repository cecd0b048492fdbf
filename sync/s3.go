package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/evac-dev/evac/internal/retry"
	"io"
	"iter"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3Options configure an S3 store.
type S3Options struct {
	Checksum           ChecksumAlgorithm // "" = CRC64NVME
	PartSize           int64             // 0 = 16 MiB (raised so an object has at most 10,000 parts)
	MultipartThreshold int64             // objects at least this big use multipart; 0 = 32 MiB
	PartConcurrency    int               // parts in flight per object; 0 = 8
	CopyCutoff         int64             // server-side copies above this use UploadPartCopy; 0 = DefaultCopyCutoff
	// Buffers is the memory budget for part and body buffers, shared by all
	// stores and objects of a run; nil = a private 256 MiB budget.
	Buffers      *BufferPool
	StorageClass string // e.g. STANDARD_IA; "" = bucket default
	SSE          string // "", "AES256", "aws:kms"
	SSEKMSKeyID  string // with SSE aws:kms
	// Endpoint names the endpoint the client talks to ("" = AWS); server-side
	// copy is possible only between stores with the same Endpoint and Identity.
	Endpoint string
	// CredentialID distinguishes credential sets on one endpoint (e.g. the
	// access key id or profile name); never a secret.
	CredentialID string
	Logger       *slog.Logger
	// ListPageSize is ListObjectsV2's MaxKeys; 0 = the server's default (1000).
	ListPageSize int
}

// S3Store is a Store over s3://bucket/prefix.
type S3Store struct {
	cli    *s3.Client
	bucket string
	root   string // "" or "prefix/"
	opt    S3Options
	log    *slog.Logger
	algs   *algState
}

var _ Store = (*S3Store)(nil)

// ParseS3URL splits "s3://bucket/prefix" into bucket and a root prefix that
// is "" or ends in "/" (a trailing slash on the URL makes no difference).
func ParseS3URL(u string) (bucket, root string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an S3 URL: use s3://bucket/prefix", u)
	}
	bucket, root, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q has no bucket: use s3://bucket/prefix", u)
	}
	root = strings.TrimRight(root, "/")
	if root != "" {
		root += "/"
	}
	return bucket, root, nil
}

// NewS3Store returns a store for u ("s3://bucket/prefix") using cli.
func NewS3Store(u string, cli *s3.Client, o S3Options) (*S3Store, error) {
	bucket, root, err := ParseS3URL(u)
	if err != nil {
		return nil, err
	}
	auto := o.Checksum == ""
	if o.Checksum, err = ParseChecksumAlgorithm(string(o.Checksum)); err != nil {
		return nil, err
	}
	if o.PartSize <= 0 {
		o.PartSize = 16 << 20
	}
	if o.PartSize < 5<<20 {
		return nil, fmt.Errorf("part size %d is below the S3 minimum of 5 MiB: use --part-size 5M or more", o.PartSize)
	}
	if o.MultipartThreshold <= 0 {
		o.MultipartThreshold = 32 << 20
	}
	if o.MultipartThreshold > 5<<30 || o.PartSize > 5<<30 {
		return nil, fmt.Errorf("multipart threshold %d / part size %d above the S3 maximum of 5 GiB: lower --multipart-threshold/--part-size", o.MultipartThreshold, o.PartSize)
	}
	if o.PartConcurrency <= 0 {
		o.PartConcurrency = 8
	}
	if o.Buffers == nil {
		o.Buffers = NewBufferPool(256<<20, o.PartSize)
	}
	switch o.SSE {
	case "", "AES256", "aws:kms":
	default:
		return nil, fmt.Errorf("unknown SSE %q: use AES256 or aws:kms", o.SSE)
	}
	if o.SSEKMSKeyID != "" && o.SSE != "aws:kms" {
		return nil, fmt.Errorf("an SSE KMS key id needs --sse aws:kms")
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &S3Store{cli: cli, bucket: bucket, root: root, opt: o, log: lg, algs: &algState{cur: o.Checksum, fixed: !auto}}, nil
}

func (s *S3Store) String() string { return "s3://" + s.bucket + "/" + s.root }

// Root is the key prefix of the store inside its bucket ("" or "prefix/").
func (s *S3Store) Root() string { return s.root }

// Bucket is the store's bucket.
func (s *S3Store) Bucket() string { return s.bucket }

// Client is the store's S3 client.
func (s *S3Store) Client() *s3.Client { return s.cli }

func (s *S3Store) full(key string) *string { return aws.String(s.root + key) }

// List streams ListObjectsV2 pages with EncodingType=url. Keys are decoded
// only when the response says it used url encoding (versitygw ignores the
// parameter and returns raw keys). Keys out of byte order end the listing
// with an error, because the diff relies on the order.
func (s *S3Store) List(ctx context.Context, prefix string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		in := &s3.ListObjectsV2Input{
			Bucket: aws.String(s.bucket), Prefix: aws.String(s.root + prefix),
			EncodingType: types.EncodingTypeUrl, MaxKeys: s.maxKeys(),
		}
		last, first := "", true
		for {
			out, err := s.cli.ListObjectsV2(ctx, in)
			if err != nil {
				yield(Object{}, s.wrap("list", prefix, err))
				return
			}
			for _, o := range out.Contents {
				obj, err := s.listed(o, out.EncodingType)
				if err == nil && !first && obj.Key <= last {
					err = fmt.Errorf("list %s: server returned %q after %q, not in byte order; evac cannot diff this listing", s, obj.Key, last)
				}
				if err != nil {
					yield(Object{}, err)
					return
				}
				last, first = obj.Key, false
				if !yield(obj, nil) {
					return
				}
			}
			if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
				return
			}
			in.ContinuationToken = out.NextContinuationToken
		}
	}
}

func (s *S3Store) maxKeys() *int32 {
	if s.opt.ListPageSize <= 0 {
		return nil
	}
	return aws.Int32(int32(min(s.opt.ListPageSize, 1000)))
}

func (s *S3Store) listed(o types.Object, enc types.EncodingType) (Object, error) {
	key := aws.ToString(o.Key)
	if enc == types.EncodingTypeUrl {
		k, err := url.QueryUnescape(key)
		if err != nil {
			return Object{}, fmt.Errorf("list %s: undecodable key %q: %w", s, key, err)
		}
		key = k
	}
	rel, ok := strings.CutPrefix(key, s.root)
	if !ok {
		return Object{}, fmt.Errorf("list %s: server returned key %q outside the prefix", s, key)
	}
	obj := Object{Key: rel, Size: aws.ToInt64(o.Size), ETag: trimETag(o.ETag), ModTime: aws.ToTime(o.LastModified)}
	obj.Identity = s3Identity(obj)
	return obj, nil
}

func trimETag(e *string) string { return strings.Trim(aws.ToString(e), `"`) }

// s3Identity is "etag:size:lastmodified" with LastModified in whole
// seconds: ListObjectsV2 reports milliseconds on AWS but HeadObject's
// Last-Modified header only seconds, and both must give the same identity.
func s3Identity(o Object) string {
	return o.ETag + ":" + strconv.FormatInt(o.Size, 10) + ":" + strconv.FormatInt(o.ModTime.Unix(), 10)
}

// Stat is a HeadObject with checksum mode enabled.
func (s *S3Store) Stat(ctx context.Context, key string) (Object, error) {
	if key == "" || strings.HasSuffix(key, "/") {
		return Object{}, ErrNotFound
	}
	out, err := s.cli.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.bucket), Key: s.full(key), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return Object{}, s.wrap("head", key, err)
	}
	o := Object{
		Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified),
		ETag: trimETag(out.ETag), Meta: out.Metadata,
		ContentType: aws.ToString(out.ContentType), CacheControl: aws.ToString(out.CacheControl),
		ContentEncoding: aws.ToString(out.ContentEncoding), ContentDisposition: aws.ToString(out.ContentDisposition),
		ContentLanguage: aws.ToString(out.ContentLanguage),
	}
	o.Checksum = fullChecksum(out.ChecksumType, out.ChecksumCRC64NVME, out.ChecksumCRC32C)
	o.Identity = s3Identity(o)
	return o, nil
}

// fullChecksum returns "ALG:base64" for a full-object checksum; composite
// (per-part) checksums, which end in "-N", are not comparable and ignored.
func fullChecksum(t types.ChecksumType, crc64, crc32c *string) string {
	if t == types.ChecksumTypeComposite {
		return ""
	}
	for _, c := range []struct {
		a ChecksumAlgorithm
		v *string
	}{{ChecksumCRC64NVME, crc64}, {ChecksumCRC32C, crc32c}} {
		if v := aws.ToString(c.v); v != "" && !strings.Contains(v, "-") {
			return string(c.a) + ":" + v
		}
	}
	return ""
}

// Open is a GetObject, ranged when o asks for part of the object.
func (s *S3Store) Open(ctx context.Context, key string, o OpenOptions) (io.ReadCloser, error) {
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, ErrNotFound
	}
	if o.Length == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	r := &s3Reader{ctx: ctx, s: s, key: key, off: o.Offset, end: -1}
	if o.Length > 0 {
		r.end = o.Offset + o.Length - 1
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// Delete removes key; a missing key is not an error.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	_, err := s.cli.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: s.full(key)})
	if err != nil && !errors.Is(err, ErrNotFound) && !isNotFound(err) {
		return s.wrap("delete", key, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound && !isCode(err, "NoSuchBucket")
}

// isCode reports whether err is an S3 API error with one of codes.
func isCode(err error, codes ...string) bool { return retry.HasCode(err, codes...) }

// wrap names the operation, the object and, for the usual mistakes, the fix.
func (s *S3Store) wrap(op, key string, err error) error {
	where := s.String() + key
	switch {
	case isCode(err, "NoSuchBucket"):
		return fmt.Errorf("%s %s: bucket %q does not exist: create it or fix the URL: %w", op, where, s.bucket, err)
	case isCode(err, "InvalidAccessKeyId", "SignatureDoesNotMatch"):
		return fmt.Errorf("%s %s: credentials rejected: check the access key/secret or profile for this side: %w", op, where, err)
	case isCode(err, "AccessDenied"):
		return fmt.Errorf("%s %s: access denied: the credentials lack permission for %s: %w", op, where, op, err)
	case isNotFound(err):
		return fmt.Errorf("%s %s: %w", op, where, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, where, err)
}

// unsigned sends UNSIGNED-PAYLOAD instead of hashing the body with SHA-256:
// the checksum header already protects every byte (and TLS, when used).
var unsigned = s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)

// contentType is o.ContentType, else by extension, else sniffed.
func contentType(key, given string, head []byte) string {
	if given != "" {
		return given
	}
	if t := mime.TypeByExtension(path.Ext(key)); t != "" {
		return t
	}
	return http.DetectContentType(head[:min(len(head), 512)])
}

// setChecksum puts a body checksum on a PutObject or UploadPart input.
func setChecksum(a ChecksumAlgorithm, b64 string, crc64, crc32c, md5 **string) {
	switch a {
	case ChecksumCRC32C:
		*crc32c = aws.String(b64)
	case ChecksumMD5:
		*md5 = aws.String(b64)
	default:
		*crc64 = aws.String(b64)
	}
}

// checkEcho compares the checksum the server echoed, when it echoed one.
func checkEcho(a ChecksumAlgorithm, sent string, crc64, crc32c *string) error {
	var got string
	switch a {
	case ChecksumCRC64NVME:
		got = aws.ToString(crc64)
	case ChecksumCRC32C:
		got = aws.ToString(crc32c)
	}
	if got != "" && got != sent {
		return fmt.Errorf("server acknowledged checksum %s:%s, evac sent %s", a, got, sent)
	}
	return nil
}

// Put writes r to key: one PutObject up to the multipart threshold, else a
// multipart upload. Every request body carries a checksum computed while the
// data is read; the response is trusted (no HEAD after PUT).
func (s *S3Store) Put(ctx context.Context, key string, r io.Reader, o PutOptions) (PutResult, error) {
	if key == "" || strings.HasSuffix(key, "/") {
		return PutResult{}, fmt.Errorf("put %q: not an object key", key)
	}
	if rb, ok := r.(RereadableBody); ok && o.Size >= rereadMin {
		return s.putAt(ctx, key, rb, o)
	}
	if o.Size >= s.opt.MultipartThreshold {
		return s.putMultipart(ctx, key, r, o, nil)
	}
	n := o.Size
	if n < 0 {
		n = s.opt.PartSize
	}
	buf, err := s.opt.Buffers.Get(ctx, n)
	if err != nil {
		return PutResult{}, err
	}
	got, err := io.ReadFull(r, buf)
	switch {
	case o.Size < 0 && err == nil: // unknown size, more than one part
		return s.putMultipart(ctx, key, r, o, buf)
	case o.Size < 0 && (err == io.EOF || err == io.ErrUnexpectedEOF):
		err = nil
	case err == nil:
		err = expectEOF(r, o.Size)
	default:
		err = shortRead(got, o.Size, err)
	}
	defer s.opt.Buffers.Put(buf)
	if err != nil {
		return PutResult{}, fmt.Errorf("put %s%s: %w", s, key, err)
	}
	for {
		a := s.algs.get()
		res, err := s.putSingle(ctx, key, buf[:got], o, a)
		if err == nil || !s.algs.downgrade(s, a, err) {
			return res, err
		}
	}
}

// shortRead explains a source that ended before its declared size.
func shortRead(got int, want int64, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("source ended after %d of %d bytes: %w", got, want, ErrChanged)
	}
	return fmt.Errorf("read source: %w", err)
}

// expectEOF fails when the source has more bytes than declared.
func expectEOF(r io.Reader, size int64) error {
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		return fmt.Errorf("source is longer than its declared %d bytes: %w", size, ErrChanged)
	}
	return nil
}

func (s *S3Store) putSingle(ctx context.Context, key string, body []byte, o PutOptions, a ChecksumAlgorithm) (PutResult, error) {
	return s.putObject(ctx, key, bytes.NewReader(body), int64(len(body)), body, ChecksumBytes(a, body), o, a, false)
}

// putObject sends one PutObject of n bytes from body with the checksum sum
// (base64 of algorithm a). reread says body is read again from the source
// (not from a buffer): a BadDigest then means the source changed.
func (s *S3Store) putObject(ctx context.Context, key string, body io.ReadSeeker, n int64, head []byte, sum string, o PutOptions, a ChecksumAlgorithm, reread bool) (PutResult, error) {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: s.full(key), Body: body, ContentLength: aws.Int64(n),
	}
	s.headers(key, head, o, &in.ContentType, &in.CacheControl, &in.ContentEncoding, &in.ContentDisposition, &in.ContentLanguage)
	in.Metadata, in.StorageClass = o.Meta, types.StorageClass(s.opt.StorageClass)
	in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryption(s.opt.SSE), s.kmsKey()
	setChecksum(a, sum, &in.ChecksumCRC64NVME, &in.ChecksumCRC32C, &in.ContentMD5)
	out, err := s.cli.PutObject(ctx, in, sendOptions(reread)...)
	if err != nil {
		return PutResult{}, s.wrap("put", key, rereadErr(reread, err))
	}
	if err := checkEcho(a, sum, out.ChecksumCRC64NVME, out.ChecksumCRC32C); err != nil {
		return PutResult{}, fmt.Errorf("put %s%s: %w", s, key, err)
	}
	s.algs.confirm(a)
	return PutResult{ETag: trimETag(out.ETag), Checksum: string(a) + ":" + sum, Sent: n}, nil
}

func (s *S3Store) kmsKey() *string {
	if s.opt.SSEKMSKeyID == "" {
		return nil
	}
	return aws.String(s.opt.SSEKMSKeyID)
}

// headers fills the standard headers of a PutObject/CreateMultipartUpload.
func (s *S3Store) headers(key string, head []byte, o PutOptions, ct, cc, ce, cd, cl **string) {
	*ct = aws.String(contentType(key, o.ContentType, head))
	for _, h := range []struct {
		dst **string
		v   string
	}{{cc, o.CacheControl}, {ce, o.ContentEncoding}, {cd, o.ContentDisposition}, {cl, o.ContentLanguage}} {
		if h.v != "" {
			*h.dst = aws.String(h.v)
		}
	}
}
