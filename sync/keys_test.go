package sync

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestKeyProblem(t *testing.T) {
	long := strings.Repeat("x", 256)
	k1025 := strings.Repeat("a/", 512) + "b"
	cases := []struct {
		key             string
		s3, posix, fsys string // "" = storable, else a substring of the reason
	}{
		{"plain/key.txt", "", "", ""},
		{"sp ace+plus%?#&", "", "", ""},
		{"caf\u00e9/cafe\u0301", "", "", ""},
		{"", "empty key", "empty key", "empty key"},
		{"a//b", "", `empty path segment ("//")`, `empty path segment ("//")`},
		{"/lead", "", "starts with /", "starts with /"},
		{"dir/", "", "ends with /", "ends with /"},
		{"x/./y", `"." path segment`, `"." path segment`, `"." path segment`},
		{"../up", `".." path segment`, `".." path segment`, `".." path segment`},
		{"a..b/c.", "", "", ""},
		{"ctl\x01", "control character", "control character", "control character"},
		{"tab\there", "control character", "control character", "control character"},
		{"del\x7f", "control character", "control character", "control character"},
		{"bad\xff\xfe", "not valid UTF-8", "not valid UTF-8", "not valid UTF-8"},
		{"d/" + long, "", "256-byte path segment", "256-byte path segment"},
		{k1025, "1025 bytes long", "1025 bytes long", ""},
	}
	for _, c := range cases {
		for kind, want := range map[TargetKind]string{TargetS3: c.s3, TargetS3Posix: c.posix, TargetFS: c.fsys} {
			got := KeyProblem(kind, c.key)
			if (want == "") != (got == "") || !strings.Contains(got, want) {
				t.Errorf("KeyProblem(%s, %.40q) = %q, want %q", kind, c.key, got, want)
			}
		}
	}
}

func TestKeyValidatorConflicts(t *testing.T) {
	// A sorted listing; "a" is a file and later "a/b" needs a directory "a".
	keys := []string{"a", "a b", "a-b", "a-b/x", "a/b", "a/c/d", "a0", "b/c", "b/c/d", "b/c0", "b/d", "c", "c/../d"}
	want := map[string]string{
		"a-b/x":  `"a-b" is also an object`,
		"a/b":    `"a" is also an object`,
		"a/c/d":  `"a" is also an object`,
		"b/c/d":  `"b/c" is also an object`,
		"c/../d": `".." path segment`,
	}
	v := NewKeyValidator(TargetS3Posix)
	for _, k := range keys {
		err := v.Check(k)
		w := want[k]
		if (err == nil) != (w == "") || (err != nil && !strings.Contains(err.Error(), w)) {
			t.Errorf("Check(%q) = %v, want %q", k, err, w)
		}
	}
	s3 := NewKeyValidator(TargetS3)
	for _, k := range keys[:len(keys)-1] {
		if err := s3.Check(k); err != nil {
			t.Errorf("AWS S3 Check(%q) = %v, want nil (S3 holds a and a/b)", k, err)
		}
	}
	err := NewKeyValidator(TargetFS).Check("x//y")
	if err == nil || err.Error() != `key "x//y" cannot be stored faithfully on a fs target: has an empty path segment ("//")` {
		t.Errorf("error text = %v", err)
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"a//b": "a/b", "x/./y": "x/y", "a/../b": "b", "/lead/": "lead", "../../x": "x", "plain": "plain", "a/b/..": "a",
	} {
		if got := Normalise(in); got != want {
			t.Errorf("Normalise(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseS3URL(t *testing.T) {
	for in, want := range map[string][2]string{
		"s3://b": {"b", ""}, "s3://b/": {"b", ""}, "s3://b/p": {"b", "p/"}, "s3://b/p/q/": {"b", "p/q/"},
	} {
		b, r, err := ParseS3URL(in)
		if err != nil || b != want[0] || r != want[1] {
			t.Errorf("ParseS3URL(%q) = %q, %q, %v; want %q", in, b, r, err, want)
		}
	}
	for _, bad := range []string{"b/p", "s3://", "s3:///p"} {
		if _, _, err := ParseS3URL(bad); err == nil {
			t.Errorf("ParseS3URL(%q) succeeded", bad)
		}
	}
}

func TestPartSizeFor(t *testing.T) {
	if got := partSizeFor(16<<20, 1<<30); got != 16<<20 {
		t.Errorf("1 GiB: %d", got)
	}
	got := partSizeFor(16<<20, 5<<40) // 5 TiB needs bigger parts
	if (5<<40+got-1)/got > 10000 || got%(1<<20) != 0 {
		t.Errorf("5 TiB: part size %d gives too many parts or is not MiB-aligned", got)
	}
}

func TestCopySourceEncoding(t *testing.T) {
	if got := *copySource("bkt", "a b/c+d?é"); got != "bkt/a%20b/c%2Bd%3F%C3%A9" {
		t.Errorf("copySource = %q", got)
	}
}

func TestKeyValidatorPrefixLength(t *testing.T) {
	v := &KeyValidator{Kind: TargetS3, Prefix: strings.Repeat("p", 100) + "/"}
	if err := v.Check(strings.Repeat("k", 923)); err != nil {
		t.Fatalf("1024 bytes with prefix: %v", err)
	}
	err := v.Check(strings.Repeat("k", 924))
	if err == nil || !strings.Contains(err.Error(), "1025 bytes long with the target prefix") {
		t.Fatalf("1025 bytes with prefix: %v", err)
	}
}

func TestKindOf(t *testing.T) {
	if KindOf(&FSStore{}) != TargetFS || KindOf(&S3Store{}) != TargetS3 ||
		KindOf(&S3Store{opt: S3Options{Endpoint: "https://s3.eu-west-1.amazonaws.com"}}) != TargetS3 ||
		KindOf(&S3Store{opt: S3Options{Endpoint: "http://127.0.0.1:7070"}}) != TargetS3Posix {
		t.Fatal("KindOf guessed wrong")
	}
}

func TestListedKeyDecoding(t *testing.T) {
	s := &S3Store{bucket: "b", root: "p/"}
	cases := []struct {
		raw  string
		enc  types.EncodingType
		want string
	}{
		{"p/a%20b+c%2Bd%01", types.EncodingTypeUrl, "a b c+d\x01"}, // AWS/MinIO honour encoding-type=url
		{"p/a%20b+c", "", "a%20b+c"},                               // versitygw ignores it: keys are raw
	}
	for _, c := range cases {
		o, err := s.listed(types.Object{Key: aws.String(c.raw), ETag: aws.String(`"e"`), Size: aws.Int64(1)}, c.enc)
		if err != nil || o.Key != c.want || o.ETag != "e" {
			t.Errorf("listed(%q, %q) = %q %q, %v; want %q", c.raw, c.enc, o.Key, o.ETag, err, c.want)
		}
	}
	if _, err := s.listed(types.Object{Key: aws.String("other/x")}, ""); err == nil {
		t.Error("a key outside the prefix was accepted")
	}
}

func TestS3IdentitySameFromListAndHead(t *testing.T) {
	listed := Object{ETag: "e", Size: 5, ModTime: time.Unix(1700000000, 123e6)} // ListObjectsV2: ms
	headed := Object{ETag: "e", Size: 5, ModTime: time.Unix(1700000000, 0)}     // HeadObject: seconds
	if a, b := s3Identity(listed), s3Identity(headed); a != b || a != "e:5:1700000000" {
		t.Fatalf("identities %q and %q differ", a, b)
	}
}
