package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/evac-dev/evac/internal/redact"
)

// S3Name is the shared S3 server, as it appears in messages.
const S3Name = "S3 server (versitygw)"

// S3Env locates an S3 server: the shared one (S3) or a private one (StartVersity).
type S3Env struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	Root      string // posix backend directory: bucket X lives at Root/X
}

// S3 returns the shared S3 server, checked to be reachable.
func S3(tb testing.TB) S3Env {
	tb.Helper()
	env := S3Env{
		Endpoint:  mustGetenv(tb, S3Name, "EVAC_TEST_S3_ENDPOINT"),
		AccessKey: mustGetenv(tb, S3Name, "EVAC_TEST_S3_ACCESS_KEY"),
		SecretKey: mustGetenv(tb, S3Name, "EVAC_TEST_S3_SECRET_KEY"),
		Region:    mustGetenv(tb, S3Name, "EVAC_TEST_S3_REGION"),
		Root:      mustGetenv(tb, S3Name, "EVAC_TEST_S3_ROOT"),
	}
	redact.Register(env.SecretKey)
	if err := CheckS3(context.Background(), S3Name, env); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return env
}

// S3Client is a client for the shared S3 server (path-style addressing).
func S3Client(tb testing.TB) *s3.Client {
	tb.Helper()
	return NewS3Client(S3(tb))
}

// NewS3Client builds a path-style client for env without reading ~/.aws or
// AWS_* variables.
func NewS3Client(env S3Env) *s3.Client {
	return s3.New(s3.Options{
		Region:       env.Region,
		BaseEndpoint: aws.String(env.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(env.AccessKey, env.SecretKey, ""),
		// versitygw answers without checksums on some reads; don't log that.
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

// CheckS3 lists the buckets of env and returns nil, or an error that names the
// server, its endpoint, the cause and the fix.
func CheckS3(ctx context.Context, name string, env S3Env) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := NewS3Client(env).ListBuckets(ctx, &s3.ListBucketsInput{}, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return fmt.Errorf("%s at %s: cannot list buckets: %w; %s", name, env.Endpoint, redact.Error(err), Fix)
	}
	return nil
}

// NewBucket creates an empty bucket on the shared S3 server, named after the
// test, and empties and deletes it at cleanup (kept when the test failed and
// EVAC_TEST_KEEP=1).
func NewBucket(tb testing.TB) string {
	tb.Helper()
	return NewBucketOn(tb, S3(tb))
}

// NewBucketOn is NewBucket on any server, e.g. one from StartVersity.
func NewBucketOn(tb testing.TB, env S3Env) string {
	tb.Helper()
	name := uniqueName(tb.Name(), "evac-", "-", 63)
	c := NewS3Client(env)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("testenv: create bucket %s on %s: %v", name, env.Endpoint, redact.Error(err))
	}
	tb.Cleanup(func() {
		if tb.Failed() && os.Getenv("EVAC_TEST_KEEP") == "1" {
			tb.Logf("testenv: keeping bucket %s (EVAC_TEST_KEEP=1)", name)
			return
		}
		if err := deleteBucket(ctx, c, name); err != nil {
			if env.Root == "" {
				tb.Errorf("testenv: delete bucket %s: %v", name, redact.Error(err))
				return
			}
			// The posix backend keeps buckets as directories: remove it there.
			if rmErr := os.RemoveAll(filepath.Join(env.Root, name)); rmErr != nil {
				tb.Errorf("testenv: delete bucket %s: %v; remove %s: %v", name, redact.Error(err), env.Root, rmErr)
			}
		}
	})
	return name
}

// deleteBucket aborts uploads, deletes every object, then the bucket.
func deleteBucket(ctx context.Context, c *s3.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err == nil {
		for _, u := range ups.Uploads {
			_, _ = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId})
		}
	}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nb *types.NoSuchBucket
			if errors.As(err, &nb) {
				return nil
			}
			return fmt.Errorf("list: %w", err)
		}
		for _, o := range page.Contents {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				return fmt.Errorf("delete %s: %w", aws.ToString(o.Key), err)
			}
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("delete bucket: %w", err)
	}
	return nil
}
