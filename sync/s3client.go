package sync

import (
	"context"
	"errors"
	"fmt"
	"github.com/evac-dev/evac/internal/logging"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/evac-dev/evac/internal/redact"
)

// S3ClientConfig describes how to reach one side's S3 endpoint. Each side of
// a sync has its own, so an on-prem store and AWS can be used in one run.
type S3ClientConfig struct {
	Endpoint     string // "" = AWS; "http://host:port" for S3-compatible stores
	Region       string // "" = from the profile/environment, else us-east-1
	Profile      string // shared config profile; "" = default chain
	AccessKey    string // static credentials (optional)
	SecretKey    string
	SessionToken string
	// VirtualHosted forces virtual-hosted-style addressing on a custom
	// endpoint (path style is the default there; AWS uses virtual hosts).
	VirtualHosted bool
	MaxAttempts   int           // per request, including the first; 0 = 10, at least 8
	MaxBackoff    time.Duration // 0 = 20s
	MaxConns      int           // idle connections kept per host; 0 = 256
	// OnRetry, when set, is called once per retried attempt with its error
	// (stats, adaptive concurrency on SlowDown).
	OnRetry func(err error)
	// HTTPClient replaces the tuned transport (tests).
	HTTPClient *http.Client
}

func (c S3ClientConfig) withDefaults() S3ClientConfig {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	c.MaxAttempts = max(c.MaxAttempts, 8)
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 20 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 256
	}
	return c
}

// NewS3Client builds an S3 client for one side: endpoint, region, profile or
// static keys, path style on custom endpoints, a transport tuned for many
// parallel connections, and a retryer with at least 8 attempts, jittered
// exponential backoff and no client-side retry quota (a burst of 503
// SlowDown must slow evac down, not fail the run).
func NewS3Client(ctx context.Context, c S3ClientConfig) (*s3.Client, error) {
	c = c.withDefaults()
	redact.Register(c.SecretKey, c.SessionToken)
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return newRetryer(c) }),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// SDK warnings go through evac's redacting logger, not raw stderr.
		config.WithLogger(logging.Smithy()),
	}
	if c.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(c.HTTPClient))
	} else {
		opts = append(opts, config.WithHTTPClient(tunedHTTPClient(c.MaxConns)))
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.AccessKey != "" || c.SecretKey != "" {
		if c.AccessKey == "" || c.SecretKey == "" {
			return nil, errors.New("S3 credentials: access key and secret key must be given together")
		}
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, c.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("S3 client config (profile %q): %w", c.Profile, redact.Error(err))
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			o.UsePathStyle = !c.VirtualHosted
		}
	}), nil
}

func tunedHTTPClient(maxConns int) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = 10 * time.Second
			d.KeepAlive = 30 * time.Second
		}).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = 0
			t.MaxIdleConnsPerHost = maxConns
			t.IdleConnTimeout = 90 * time.Second
			t.TLSHandshakeTimeout = 10 * time.Second
			t.ExpectContinueTimeout = time.Second
			t.ResponseHeaderTimeout = 2 * time.Minute
			// Small: a body bypasses the write buffer (it is copied to the
			// socket in 32 KiB writes or more whatever the size), and a
			// server that closes every connection (versitygw without
			// --keep-alive) makes evac pay both buffers per request: 256 KiB
			// ones were 90% of the bytes it allocated copying small files.
			t.WriteBufferSize = 8 << 10
			t.ReadBufferSize = 16 << 10
			t.ForceAttemptHTTP2 = false
		})
}

// retryCodes are S3 error codes evac retries beyond the SDK's defaults: a
// body that arrived damaged or cut short is worth sending again.
var retryCodes = map[string]bool{
	"BadDigest": true, "IncompleteBody": true, "XAmzContentSHA256Mismatch": true,
	"InternalError": true, "ServiceUnavailable": true, "OperationAborted": true,
}

func newRetryer(c S3ClientConfig) aws.Retryer {
	std := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = c.MaxAttempts
		o.MaxBackoff = c.MaxBackoff
		o.Backoff = retry.NewExponentialJitterBackoff(c.MaxBackoff)
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			var ae smithy.APIError
			if errors.As(err, &ae) && retryCodes[ae.ErrorCode()] {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
	return &hookRetryer{RetryerV2: std, onRetry: c.OnRetry}
}

// hookRetryer reports each retry to OnRetry.
type hookRetryer struct {
	aws.RetryerV2
	onRetry func(error)
}

func (h *hookRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if h.onRetry != nil {
		h.onRetry(err)
	}
	return h.RetryerV2.RetryDelay(attempt, err)
}
