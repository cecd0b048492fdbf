package sync

import (
	"context"
	stdsync "sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// RequestCounts counts the HTTP requests an S3 client sends, by operation
// ("ListObjectsV2", "PutObject", "UploadPart", ...). Each attempt counts:
// a retried request counts twice. Safe for concurrent use.
type RequestCounts struct {
	mu stdsync.Mutex
	n  map[string]int64
}

// CountRequests returns a copy of cli that counts its requests in rc.
func CountRequests(cli *s3.Client) (*s3.Client, *RequestCounts) {
	rc := &RequestCounts{n: map[string]int64{}}
	return s3.New(cli.Options(), func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, rc.install)
	}), rc
}

func (rc *RequestCounts) install(st *middleware.Stack) error {
	return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("evacRequestCount",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			rc.add(awsmiddleware.GetOperationName(ctx))
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func (rc *RequestCounts) add(op string) {
	rc.mu.Lock()
	rc.n[op]++
	rc.mu.Unlock()
}

// Counts returns a copy of the counts.
func (rc *RequestCounts) Counts() map[string]int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int64, len(rc.n))
	for k, v := range rc.n {
		out[k] = v
	}
	return out
}

// Reset zeroes the counts (between passes of --watch, tests).
func (rc *RequestCounts) Reset() {
	rc.mu.Lock()
	clear(rc.n)
	rc.mu.Unlock()
}
