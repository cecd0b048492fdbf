package sync

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

func TestNewS3ClientProfileAndOptions(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("[profile onprem]\nregion = sa-east-1\naws_access_key_id = AKIDONPREM\naws_secret_access_key = onprem-secret\n"), 0o600)
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_REGION", "")
	ctx := context.Background()

	cli, err := NewS3Client(ctx, S3ClientConfig{Profile: "onprem", Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	o := cli.Options()
	creds, err := o.Credentials.Retrieve(ctx)
	if err != nil || creds.AccessKeyID != "AKIDONPREM" || o.Region != "sa-east-1" || !o.UsePathStyle {
		t.Fatalf("profile: key %q region %q path-style %v err %v", creds.AccessKeyID, o.Region, o.UsePathStyle, err)
	}
	if n := o.Retryer.MaxAttempts(); n != 10 {
		t.Fatalf("MaxAttempts = %d, want 10", n)
	}

	cli, err = NewS3Client(ctx, S3ClientConfig{AccessKey: "AK", SecretKey: "SK", MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	o = cli.Options()
	if o.Retryer.MaxAttempts() != 8 || o.UsePathStyle || o.Region != "us-east-1" {
		t.Fatalf("AWS defaults: attempts %d (want at least 8), path-style %v, region %q", o.Retryer.MaxAttempts(), o.UsePathStyle, o.Region)
	}
	if _, err := NewS3Client(ctx, S3ClientConfig{AccessKey: "AK"}); err == nil || !strings.Contains(err.Error(), "must be given together") {
		t.Fatalf("access key without secret: %v", err)
	}
}

func TestRetryerHasNoQuota(t *testing.T) {
	r := newRetryer(S3ClientConfig{}.withDefaults()).(*hookRetryer)
	std := r.RetryerV2.(*retry.Standard)
	// 1,000 retry tokens in a row: the SDK's default bucket (500) would refuse after 100.
	for i := range 1000 {
		if _, err := std.GetRetryToken(context.Background(), errSlow{}); err != nil {
			t.Fatalf("retry token %d refused: %v", i, err)
		}
	}
}

type errSlow struct{}

func (errSlow) Error() string { return "SlowDown" }
