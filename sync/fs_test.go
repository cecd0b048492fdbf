package sync_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	objsync "github.com/evac-dev/evac/sync"
	"github.com/evac-dev/evac/sync/storetest"
)

func stNewFS(t *testing.T, o objsync.FSOptions) *objsync.FSStore {
	t.Helper()
	s, err := objsync.NewFSStore(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFSStoreConformance(t *testing.T) {
	storetest.RunWith(t, func(t *testing.T) objsync.Store { return stNewFS(t, objsync.FSOptions{}) },
		storetest.Options{LargeSize: 8 << 20})
}

func stFSKeys(t *testing.T, s objsync.Store) []string {
	t.Helper()
	var out []string
	for o, err := range s.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o.Key)
	}
	return out
}

func stWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFSListSkipsSymlinksSpecialAndEmptyDirs(t *testing.T) {
	var logs bytes.Buffer
	s := stNewFS(t, objsync.FSOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	root := s.Root()
	stWrite(t, root+"/real/file", "data")
	os.MkdirAll(root+"/empty/deeper", 0o755)
	os.Symlink(root+"/real/file", root+"/link")
	os.Symlink(root+"/real", root+"/dirlink")
	syscall.Mkfifo(root+"/fifo", 0o644)
	stWrite(t, root+"/.evac-tmp-123", "partial")
	if got, want := stFSKeys(t, s), []string{"real/file"}; !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	for _, w := range []string{"skipping symlink (use --follow-symlinks to copy its target)", "skipping special file"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logs.String())
		}
	}
	f := stNewFSAt(t, root, objsync.FSOptions{FollowSymlinks: true})
	if got, want := stFSKeys(t, f), []string{"dirlink/file", "link", "real/file"}; !slices.Equal(got, want) {
		t.Fatalf("List with FollowSymlinks = %q, want %q", got, want)
	}
}

func stNewFSAt(t *testing.T, root string, o objsync.FSOptions) *objsync.FSStore {
	s, err := objsync.NewFSStore("file://"+root, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFSFollowSymlinkLoop(t *testing.T) {
	s := stNewFS(t, objsync.FSOptions{FollowSymlinks: true})
	stWrite(t, s.Root()+"/d/f", "x")
	stWrite(t, s.Root()+"/top", "x")
	os.Symlink("..", s.Root()+"/d/up")
	os.Symlink(".", s.Root()+"/d/self")
	if got, want := stFSKeys(t, s), []string{"d/f", "top"}; !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

func TestFSIdentityAndMeta(t *testing.T) {
	s := stNewFS(t, objsync.FSOptions{})
	stWrite(t, s.Root()+"/f", "abc")
	mt := time.Unix(1600000000, 5)
	os.Chtimes(s.Root()+"/f", mt, mt)
	o, err := s.Stat(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(o.Identity, ":")
	if len(parts) != 5 || parts[0] != "3" || parts[1] != "1600000000000000005" {
		t.Fatalf("Identity = %q, want size:mtime_ns:ctime_ns:dev:ino with size 3, mtime 1600000000000000005", o.Identity)
	}
	if o.Meta["mtime"] != "1600000000.000000005" || o.Meta["mode"] != "100644" || o.Meta["uid"] == "" || o.Meta["gid"] == "" {
		t.Fatalf("Meta = %v", o.Meta)
	}
}

func TestFSChangedWhileReading(t *testing.T) {
	s := stNewFS(t, objsync.FSOptions{})
	stWrite(t, s.Root()+"/f", "original")
	rc, err := s.Open(context.Background(), "f", objsync.OpenOptions{Length: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cc := rc.(objsync.ChangeChecker)
	st, _ := s.Stat(context.Background(), "f")
	if cc.Identity() != st.Identity {
		t.Fatalf("reader identity %q != Stat identity %q", cc.Identity(), st.Identity)
	}
	io.ReadAll(rc)
	if err := cc.Verify(); err != nil {
		t.Fatalf("Verify of an unchanged file: %v", err)
	}
	f, _ := os.OpenFile(s.Root()+"/f", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("more")
	f.Close()
	if err := cc.Verify(); !errors.Is(err, objsync.ErrChanged) {
		t.Fatalf("Verify after append = %v, want ErrChanged", err)
	}
}

func TestFSMtimeRoundTrip(t *testing.T) {
	for _, s := range []string{"1700000000.123456789", "1700000000", "1700000000.5"} {
		tm, err := objsync.ParseMtime(s)
		if err != nil {
			t.Fatal(err)
		}
		if s == "1700000000.5" && tm.Nanosecond() != 500000000 {
			t.Fatalf("ParseMtime(%q) = %v", s, tm)
		}
		if s == "1700000000.123456789" && objsync.FormatMtime(tm) != s {
			t.Fatalf("round trip %q -> %q", s, objsync.FormatMtime(tm))
		}
	}
	if _, err := objsync.ParseMtime("yesterday"); err == nil {
		t.Fatal("ParseMtime(yesterday) succeeded")
	}
}

func TestFSStoreBadRoot(t *testing.T) {
	_, err := objsync.NewFSStore("/nonexistent/evac/root", objsync.FSOptions{})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/evac/root") {
		t.Fatalf("err = %v, want it to name the path", err)
	}
}

// The file reader reads its opened range at any offset (stores read parts of
// files in place), ending with io.EOF at the range end.
func TestFSReaderReadAt(t *testing.T) {
	s := stNewFS(t, objsync.FSOptions{})
	stWrite(t, s.Root()+"/f", "0123456789")
	for _, c := range []struct {
		name    string
		open    objsync.OpenOptions
		off     int64
		size    int
		want    string
		wantEOF bool
	}{
		{"whole, middle", objsync.OpenOptions{Length: -1}, 2, 3, "234", false},
		{"whole, past end", objsync.OpenOptions{Length: -1}, 8, 4, "89", true},
		{"range, start", objsync.OpenOptions{Offset: 3, Length: 4}, 0, 2, "34", false},
		{"range, clipped", objsync.OpenOptions{Offset: 3, Length: 4}, 2, 5, "56", true},
		{"range, beyond", objsync.OpenOptions{Offset: 3, Length: 4}, 4, 1, "", true},
		{"offset to end", objsync.OpenOptions{Offset: 7, Length: -1}, 1, 5, "89", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc, err := s.Open(context.Background(), "f", c.open)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			p := make([]byte, c.size)
			n, err := rc.(io.ReaderAt).ReadAt(p, c.off)
			if string(p[:n]) != c.want || (err == io.EOF) != c.wantEOF || (err != nil && err != io.EOF) {
				t.Fatalf("ReadAt(%d, %d) = %q, %v; want %q, EOF %v", c.size, c.off, p[:n], err, c.want, c.wantEOF)
			}
		})
	}
}
