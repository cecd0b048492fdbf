// Package sync copies objects between stores (local filesystem, any
// S3-compatible endpoint) and re-syncs only what changed.
//
// Files in this package that also need the standard library's sync import it
// as "sync"; callers outside import this package as objsync.
package sync

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// Object is one entry of a listing or a Stat.
type Object struct {
	Key     string    // relative to the store's root prefix, '/'-separated, never leading '/'
	Size    int64     //
	ModTime time.Time // filesystem mtime (ns); S3 LastModified
	ETag    string    // S3 only, without quotes
	// Checksum is a full-object checksum when the store knows one without
	// reading the data ("CRC64NVME:base64", "CRC32C:base64"); empty otherwise.
	Checksum string
	// Identity is the store's change-detection identity, compared for
	// equality only: filesystem "size:mtime_ns:ctime_ns:dev:ino"; S3
	// "etag:size:lastmodified_unix_seconds" (the same from List and Stat).
	Identity string
	Meta     map[string]string // user metadata (x-amz-meta-*), filled by Stat, not by List

	// Standard HTTP headers, filled by S3 Stat (preserved S3 -> S3).
	ContentType, CacheControl, ContentEncoding, ContentDisposition, ContentLanguage string
}

// OpenOptions select a byte range; Length < 0 means to the end.
type OpenOptions struct {
	Offset int64
	Length int64
}

// PutOptions describe a write.
type PutOptions struct {
	Size        int64 // -1 if unknown
	ContentType string
	Meta        map[string]string

	// Standard headers, copied from the source object when it has them.
	CacheControl, ContentEncoding, ContentDisposition, ContentLanguage string
	// ResumeID identifies the source content (e.g. its Identity). When set, a
	// multipart Put may resume an interrupted upload of the same key made with
	// the same ResumeID; a listed part is reused only if its checksum equals
	// the checksum of the bytes read from r now.
	ResumeID string
}

// PutResult is what the store acknowledged.
type PutResult struct {
	ETag     string
	Checksum string // "CRC64NVME:base64" etc.
	// Sent is the number of body bytes sent to the target; less than the size
	// when a resumed upload reused parts, 0 for a server-side copy.
	Sent int64
}

// Copier is implemented by stores that can copy from another store without
// moving the bytes through evac (S3 CopyObject/UploadPartCopy on one endpoint).
type Copier interface {
	// CanCopyFrom reports whether Copy can work from src (same endpoint and credentials).
	CanCopyFrom(src Store) bool
	// Copy writes srcObj (from src) to dstKey. With fallback, a server-side
	// AccessDenied/NotImplemented falls back to streaming through evac.
	Copy(ctx context.Context, src Store, srcObj Object, dstKey string, o PutOptions, fallback bool) (PutResult, error)
}

// OrphanCleaner is implemented by stores that leave resumable multipart
// uploads behind when a run is interrupted (S3). Call it at the end of a
// successful run: it aborts evac's own uploads older than olderThan.
type OrphanCleaner interface {
	AbortOrphans(ctx context.Context, olderThan time.Duration) (int, error)
}

// ChangeChecker is implemented by readers whose source can change while it
// is read (filesystem files). Call Verify after reading everything and
// before recording the object as done.
type ChangeChecker interface {
	// Identity is the store identity taken when the object was opened.
	Identity() string
	// Verify re-stats the open object; it returns an error wrapping
	// ErrChanged if size, mtime or ctime differ from the identity at open.
	Verify() error
}

// RereadableBody is implemented by Put bodies backed by random-access
// storage (local files). A store may then read ranges of the body directly,
// and more than once, instead of buffering them: it calls Count for every
// byte once, in the pass that computes the checksum (progress, --bwlimit),
// and re-reads the range with ReadAt to send it. Read must not be mixed with
// ReadAt by one Put.
type RereadableBody interface {
	io.Reader
	io.ReaderAt
	Count(n int) error
}

// ErrChanged reports a source object that changed while it was being read.
var ErrChanged = errors.New("source changed while being read")

// Store is the seam between the sync engine and a storage system.
//
// List must yield objects in strictly increasing byte order of Key (the
// order S3 lists in): "a-b" before "a/b", because '-' (0x2d) < '/' (0x2f).
// Listing streams: memory must not grow with the number of objects.
type Store interface {
	// String names the store for logs and reports, redacted ("s3://bucket/prefix").
	String() string
	// List yields every object under prefix (relative to the store root), sorted.
	List(ctx context.Context, prefix string) iter.Seq2[Object, error]
	// Stat returns one object, with Meta; ErrNotFound if absent.
	Stat(ctx context.Context, key string) (Object, error)
	// Open reads an object (or a range of it).
	Open(ctx context.Context, key string, o OpenOptions) (io.ReadCloser, error)
	// Put writes an object atomically: a failed Put never leaves a partial object.
	Put(ctx context.Context, key string, r io.Reader, o PutOptions) (PutResult, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrNotFound is returned by Stat and Open for a missing key.
var ErrNotFound = errNotFound{}

type errNotFound struct{}

func (errNotFound) Error() string { return "object not found" }
