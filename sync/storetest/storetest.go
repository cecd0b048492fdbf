// Package storetest is the conformance suite every objsync.Store must pass,
// in the manner of testing/fstest.TestFS: Run(t, newStore).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	objsync "github.com/evac-dev/evac/sync"
)

// Options tune the suite to what a store can hold.
type Options struct {
	// UserMeta: the store keeps arbitrary user metadata (S3 does, a
	// filesystem keeps only mtime and mode).
	UserMeta bool
	// LargeSize is the size of the large-object test (multipart on S3); 0
	// means 40 MiB.
	LargeSize int64
	// Checksum is the algorithm the store was configured with ("" = CRC64NVME).
	Checksum objsync.ChecksumAlgorithm
}

// Run runs the suite with default options. newStore must return an empty
// store; each subtest gets its own.
func Run(t *testing.T, newStore func(t *testing.T) objsync.Store) {
	RunWith(t, newStore, Options{})
}

// RunWith runs the suite with options.
func RunWith(t *testing.T, newStore func(t *testing.T) objsync.Store, o Options) {
	if o.LargeSize == 0 {
		o.LargeSize = 40 << 20
	}
	tests := []struct {
		name string
		fn   func(*testing.T, objsync.Store, Options)
	}{
		{"EmptyList", testEmptyList},
		{"PutStatOpen", testPutStatOpen},
		{"ByteOrderListing", testByteOrder},
		{"ListPrefix", testListPrefix},
		{"ListEarlyStop", testListEarlyStop},
		{"RangedOpen", testRangedOpen},
		{"Overwrite", testOverwrite},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"AtomicPut", testAtomicPut},
		{"ShortBody", testShortBody},
		{"Metadata", testMetadata},
		{"AwkwardKeys", testAwkwardKeys},
		{"EmptyObject", testEmptyObject},
		{"LargeObject", testLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t), o) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// Put writes data under key and fails the test on error.
func put(t *testing.T, s objsync.Store, key string, data []byte, meta map[string]string) objsync.PutResult {
	t.Helper()
	r, err := s.Put(ctx(t), key, bytes.NewReader(data), objsync.PutOptions{Size: int64(len(data)), Meta: meta})
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return r
}

func read(t *testing.T, s objsync.Store, key string, o objsync.OpenOptions) []byte {
	t.Helper()
	rc, err := s.Open(ctx(t), key, o)
	if err != nil {
		t.Fatalf("Open(%q, %+v): %v", key, o, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func keys(t *testing.T, s objsync.Store, prefix string) []string {
	t.Helper()
	var out []string
	for o, err := range s.List(ctx(t), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		out = append(out, o.Key)
	}
	return out
}

func testEmptyList(t *testing.T, s objsync.Store, _ Options) {
	if k := keys(t, s, ""); len(k) != 0 {
		t.Fatalf("new store lists %q, want nothing", k)
	}
}

func testPutStatOpen(t *testing.T, s objsync.Store, o Options) {
	data := []byte("hello, evac\n")
	res := put(t, s, "dir/hello.txt", data, nil)
	wantSum := objsync.FormatChecksum(o.Checksum, sum(o.Checksum, data))
	if res.Checksum != wantSum {
		t.Errorf("Put checksum = %q, want %q", res.Checksum, wantSum)
	}
	st, err := s.Stat(ctx(t), "dir/hello.txt")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if st.Key != "dir/hello.txt" || st.Size != int64(len(data)) || st.Identity == "" || st.ModTime.IsZero() {
		t.Errorf("Stat = %+v, want key dir/hello.txt size %d with identity and mtime", st, len(data))
	}
	if got := read(t, s, "dir/hello.txt", objsync.OpenOptions{Length: -1}); !bytes.Equal(got, data) {
		t.Errorf("Open read %q, want %q", got, data)
	}
	l := list(t, s, "")
	if len(l) != 1 || l[0].Key != "dir/hello.txt" || l[0].Size != int64(len(data)) || l[0].Identity != st.Identity {
		t.Errorf("List = %+v, want one object matching Stat %+v", l, st)
	}
}

func list(t *testing.T, s objsync.Store, prefix string) []objsync.Object {
	t.Helper()
	var out []objsync.Object
	for o, err := range s.List(ctx(t), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		out = append(out, o)
	}
	return out
}

// byteOrderKeys are in the order S3 lists them. A naive directory walk
// yields "a/b" before "a-b".
var byteOrderKeys = []string{"a b", "a!", "a+b", "a-b", "a.txt", "a/b", "a/b-c", "a/b0", "a/c/d", "a0", "aa", "b", "z/\u00e9", "\u00e9"}

func testByteOrder(t *testing.T, s objsync.Store, _ Options) {
	shuffled := slices.Clone(byteOrderKeys)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		put(t, s, k, []byte(k), nil)
	}
	got := keys(t, s, "")
	if !slices.Equal(got, byteOrderKeys) {
		t.Fatalf("List order:\n got %q\nwant %q", got, byteOrderKeys)
	}
}

func testListPrefix(t *testing.T, s objsync.Store, _ Options) {
	for _, k := range byteOrderKeys {
		put(t, s, k, []byte("x"), nil)
	}
	cases := map[string][]string{
		"a/":   {"a/b", "a/b-c", "a/b0", "a/c/d"},
		"a/b":  {"a/b", "a/b-c", "a/b0"},
		"a/c/": {"a/c/d"},
		"a/c":  {"a/c/d"},
		"a-":   {"a-b"},
		"z":    {"z/\u00e9"},
		"nope": nil,
	}
	for prefix, want := range cases {
		if got := keys(t, s, prefix); !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, want %q", prefix, got, want)
		}
	}
}

func testListEarlyStop(t *testing.T, s objsync.Store, _ Options) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("k%d", i), []byte("x"), nil)
	}
	n := 0
	for _, err := range s.List(ctx(t), "") {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("stopped after %d, want 2", n)
	}
}

func testRangedOpen(t *testing.T, s objsync.Store, _ Options) {
	data := []byte("0123456789abcdef")
	put(t, s, "r", data, nil)
	cases := []struct {
		o    objsync.OpenOptions
		want string
	}{
		{objsync.OpenOptions{Offset: 0, Length: -1}, "0123456789abcdef"},
		{objsync.OpenOptions{Offset: 4, Length: 3}, "456"},
		{objsync.OpenOptions{Offset: 10, Length: -1}, "abcdef"},
		{objsync.OpenOptions{Offset: 0, Length: 1}, "0"},
		{objsync.OpenOptions{Offset: 15, Length: 100}, "f"},
	}
	for _, c := range cases {
		if got := read(t, s, "r", c.o); string(got) != c.want {
			t.Errorf("Open(%+v) = %q, want %q", c.o, got, c.want)
		}
	}
}

func testOverwrite(t *testing.T, s objsync.Store, _ Options) {
	put(t, s, "o", []byte("first version"), nil)
	put(t, s, "o", []byte("second"), nil)
	if got := read(t, s, "o", objsync.OpenOptions{Length: -1}); string(got) != "second" {
		t.Fatalf("after overwrite read %q, want %q", got, "second")
	}
	if st, err := s.Stat(ctx(t), "o"); err != nil || st.Size != 6 {
		t.Fatalf("Stat after overwrite = %+v, %v; want size 6", st, err)
	}
}

func testNotFound(t *testing.T, s objsync.Store, _ Options) {
	put(t, s, "dir/x", []byte("x"), nil)
	for _, k := range []string{"missing", "dir/missing", "dir"} {
		if _, err := s.Stat(ctx(t), k); !errors.Is(err, objsync.ErrNotFound) {
			t.Errorf("Stat(%q) err = %v, want ErrNotFound", k, err)
		}
		if rc, err := s.Open(ctx(t), k, objsync.OpenOptions{Length: -1}); !errors.Is(err, objsync.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%q) err = %v, want ErrNotFound", k, err)
		}
	}
}

func testDelete(t *testing.T, s objsync.Store, _ Options) {
	if err := s.Delete(ctx(t), "never/existed"); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
	put(t, s, "d/one", []byte("1"), nil)
	put(t, s, "d/two", []byte("2"), nil)
	if err := s.Delete(ctx(t), "d/one"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx(t), "d/one"); !errors.Is(err, objsync.ErrNotFound) {
		t.Fatalf("Stat after Delete err = %v, want ErrNotFound", err)
	}
	if got := keys(t, s, ""); !slices.Equal(got, []string{"d/two"}) {
		t.Fatalf("List after Delete = %q, want [d/two]", got)
	}
}

// failingReader yields n bytes then an error, like a source disk failing.
type failingReader struct{ n int }

var errSource = errors.New("source read failed (test)")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errSource
	}
	k := min(len(p), f.n)
	for i := range k {
		p[i] = 'z'
	}
	f.n -= k
	return k, nil
}

func testAtomicPut(t *testing.T, s objsync.Store, o Options) {
	put(t, s, "atomic", []byte("good"), nil)
	for _, size := range []int64{1000, o.LargeSize} {
		_, err := s.Put(ctx(t), "atomic", &failingReader{n: int(size / 2)}, objsync.PutOptions{Size: size})
		if !errors.Is(err, errSource) {
			t.Fatalf("Put with failing reader (size %d) err = %v, want it to wrap the source error", size, err)
		}
		if got := read(t, s, "atomic", objsync.OpenOptions{Length: -1}); string(got) != "good" {
			t.Fatalf("after failed Put (size %d) the object reads %d bytes, want the old %q", size, len(got), "good")
		}
		_, err = s.Put(ctx(t), "fresh", &failingReader{n: int(size / 2)}, objsync.PutOptions{Size: size})
		if !errors.Is(err, errSource) {
			t.Fatalf("Put fresh err = %v", err)
		}
		if _, err := s.Stat(ctx(t), "fresh"); !errors.Is(err, objsync.ErrNotFound) {
			t.Fatalf("failed Put of a new key left an object (Stat err %v)", err)
		}
	}
	if got := keys(t, s, ""); !slices.Equal(got, []string{"atomic"}) {
		t.Fatalf("List after failed Puts = %q, want [atomic]", got)
	}
}

func testShortBody(t *testing.T, s objsync.Store, _ Options) {
	put(t, s, "short", []byte("good"), nil)
	_, err := s.Put(ctx(t), "short", strings.NewReader("abc"), objsync.PutOptions{Size: 10})
	if err == nil {
		t.Fatal("Put of 3 bytes declared as 10 succeeded, want an error")
	}
	if got := read(t, s, "short", objsync.OpenOptions{Length: -1}); string(got) != "good" {
		t.Fatalf("after short Put the object reads %q, want %q", got, "good")
	}
}

func testMetadata(t *testing.T, s objsync.Store, o Options) {
	mtime := time.Unix(1700000000, 123456789)
	meta := map[string]string{objsync.MetaMtime: objsync.FormatMtime(mtime), objsync.MetaMode: "100640"}
	if o.UserMeta {
		meta["color"] = "blue"
	}
	put(t, s, "m", []byte("meta"), meta)
	st, err := s.Stat(ctx(t), "m")
	if err != nil {
		t.Fatal(err)
	}
	got, err := objsync.ParseMtime(st.Meta[objsync.MetaMtime])
	if err != nil || !got.Equal(mtime) {
		t.Errorf("Meta mtime = %q (%v), want %v", st.Meta[objsync.MetaMtime], err, mtime)
	}
	if st.Meta[objsync.MetaMode] != "100640" {
		t.Errorf("Meta mode = %q, want 100640", st.Meta[objsync.MetaMode])
	}
	if o.UserMeta && st.Meta["color"] != "blue" {
		t.Errorf("Meta color = %q, want blue (all: %v)", st.Meta["color"], st.Meta)
	}
}

var awkwardKeys = []string{
	"sp ace/file name.txt", "plus+sign", "percent%41", "question?mark", "hash#tag", "amp&ersand",
	"nfc/caf\u00e9", "nfd/cafe\u0301", "quote'\"", "semi;colon=eq", "tilde~", "emoji/\U0001F600",
	strings.Repeat("d123456789/", 90) + "leaf", // a ~1000-byte key in short segments
}

func testAwkwardKeys(t *testing.T, s objsync.Store, _ Options) {
	for _, k := range awkwardKeys {
		put(t, s, k, []byte(k), nil)
	}
	want := slices.Clone(awkwardKeys)
	slices.Sort(want)
	if got := keys(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("List:\n got %q\nwant %q", got, want)
	}
	for _, k := range awkwardKeys {
		if got := read(t, s, k, objsync.OpenOptions{Length: -1}); string(got) != k {
			t.Errorf("Open(%q) = %q", k, got)
		}
	}
}

func testEmptyObject(t *testing.T, s objsync.Store, o Options) {
	res := put(t, s, "empty", nil, nil)
	if want := objsync.FormatChecksum(o.Checksum, sum(o.Checksum, nil)); res.Checksum != want {
		t.Errorf("checksum of empty object = %q, want %q", res.Checksum, want)
	}
	if got := read(t, s, "empty", objsync.OpenOptions{Length: -1}); len(got) != 0 {
		t.Errorf("empty object reads %d bytes", len(got))
	}
}

func testLarge(t *testing.T, s objsync.Store, o Options) {
	data := make([]byte, o.LargeSize)
	rng := rand.NewChaCha8([32]byte{7})
	rng.Read(data)
	res := put(t, s, "big/object.bin", data, nil)
	want := objsync.FormatChecksum(o.Checksum, sum(o.Checksum, data))
	if res.Checksum != want {
		t.Errorf("large Put checksum = %q, want %q", res.Checksum, want)
	}
	if got := read(t, s, "big/object.bin", objsync.OpenOptions{Length: -1}); !bytes.Equal(got, data) {
		t.Fatalf("large object reads back %d bytes, different from the %d written", len(got), len(data))
	}
	st, err := s.Stat(ctx(t), "big/object.bin")
	if err != nil {
		t.Fatal(err)
	}
	if st.Checksum != "" && o.Checksum != objsync.ChecksumMD5 && st.Checksum != want {
		t.Errorf("Stat checksum = %q, want %q", st.Checksum, want)
	}
}

func sum(a objsync.ChecksumAlgorithm, b []byte) []byte {
	h := a.New()
	h.Write(b)
	return h.Sum(nil)
}
