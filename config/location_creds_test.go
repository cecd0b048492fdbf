package config

import (
	"strings"
	"testing"
)

func TestS3LocationRejectsCredentials(t *testing.T) {
	_, err := ParseLocation("s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@bucket/x", "/")
	want := "an s3:// address must not carry credentials (user:secret@bucket): write s3://BUCKET/PREFIX and give keys with a profile (--source-profile/--target-profile), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the config file"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "wJalr") {
		t.Fatal("secret echoed")
	}
	if l, err := ParseLocation("s3://bucket/a/b/", "/"); err != nil || l.Bucket != "bucket" || l.Prefix != "a/b" {
		t.Fatalf("plain location: %+v %v", l, err)
	}
}
