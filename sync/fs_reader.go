package sync

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// fsReader is the reader Open returns; it implements ChangeChecker.
type fsReader struct {
	io.Reader
	f        *os.File
	identity string
	base     int64 // OpenOptions.Offset
	limit    int64 // bytes readable from base; -1 = to the end
}

// ReadAt reads the opened range at off (relative to the range start), so a
// store can read parts of a file in place and more than once.
func (r *fsReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset", r.f.Name())
	}
	short := false
	if r.limit >= 0 {
		if off >= r.limit {
			return 0, io.EOF
		}
		if rem := r.limit - off; int64(len(p)) > rem {
			p, short = p[:rem], true
		}
	}
	n, err := r.f.ReadAt(p, r.base+off)
	if short && err == nil {
		err = io.EOF
	}
	return n, err
}

func (r *fsReader) Close() error     { return r.f.Close() }
func (r *fsReader) Identity() string { return r.identity }

func (r *fsReader) Verify() error {
	fi, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("fstat %s: %w", r.f.Name(), err)
	}
	if now := fsIdentity(fi); !sameContentIdentity(now, r.identity) {
		return fmt.Errorf("%s: identity %s at open, %s after reading: %w", r.f.Name(), r.identity, now, ErrChanged)
	}
	return nil
}

// sameContentIdentity compares size, mtime and ctime (dev/ino cannot change
// for an open file).
func sameContentIdentity(a, b string) bool {
	return identityPrefix(a) == identityPrefix(b)
}

func identityPrefix(id string) string {
	parts := strings.SplitN(id, ":", 4)
	return strings.Join(parts[:min(3, len(parts))], ":")
}
