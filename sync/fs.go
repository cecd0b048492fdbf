package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// FSOptions configure a filesystem store.
type FSOptions struct {
	// FollowSymlinks lists the targets of symbolic links; without it links
	// are skipped with a warning.
	FollowSymlinks bool
	Logger         *slog.Logger // nil: discard
}

// FSStore is a Store over a local directory tree.
type FSStore struct {
	root   string // absolute, cleaned, no trailing '/'
	follow bool
	log    *slog.Logger
	// problems counts entries that exist but could not be listed (broken
	// followed symlink, permission denied, stat failure): the listing goes
	// on, but it is incomplete, so the engine must not delete on it.
	problems atomic.Int64
}

// ListProblems returns how many entries that exist could not be listed
// since the store was opened. A sync deletes nothing while it is non-zero:
// a broken symlink to an unmounted volume must not read as "all deleted".
func (s *FSStore) ListProblems() int64 { return s.problems.Load() }

// problem logs an entry that exists but cannot be listed and counts it.
func (w *fsWalker) problem(msg, path string, err error) {
	w.s.problems.Add(1)
	w.s.log.Warn(msg+"; --delete is skipped this run", "path", path, "err", err)
}

// gone reports whether the entry at path itself no longer exists (a real
// removal during the listing, as opposed to one that cannot be read).
func gone(path string) bool {
	_, err := os.Lstat(path)
	return errors.Is(err, fs.ErrNotExist)
}

var _ Store = (*FSStore)(nil)

// tmpPrefix marks Put's temporary files; List skips them.
const tmpPrefix = ".evac-tmp-"

// NewFSStore opens root ("/data" or "file:///data"). The directory must exist.
func NewFSStore(root string, o FSOptions) (*FSStore, error) {
	p := strings.TrimPrefix(root, "file://")
	if p == "" {
		return nil, fmt.Errorf("filesystem store: empty path")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("filesystem store %s: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("filesystem store %s: %w", abs, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("filesystem store %s: not a directory", abs)
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &FSStore{root: abs, follow: o.FollowSymlinks, log: lg}, nil
}

// Root is the absolute directory of the store.
func (s *FSStore) Root() string { return s.root }

func (s *FSStore) String() string { return "file://" + s.root }

func (s *FSStore) path(key string) string { return s.root + "/" + key }

// List walks the tree depth-first. In each directory, files sort by name
// and directories by name+"/", which yields the S3 byte order globally.
// Memory is one directory listing per level of depth.
func (s *FSStore) List(ctx context.Context, prefix string) iter.Seq2[Object, error] {
	return s.list(ctx, prefix, nil)
}

// list walks under prefix; keep, when set, drops root-level entries
// ("a-b" or "a/") without opening them.
func (s *FSStore) list(ctx context.Context, prefix string, keep func(string) bool) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		dir := ""
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			dir = prefix[:i+1]
		}
		w := fsWalker{s: s, ctx: ctx, prefix: prefix, keepTop: keep, yield: yield}
		if fi, err := os.Stat(s.root); err == nil && s.follow {
			w.stack = append(w.stack, devIno(fi)) // a link back to the root is a loop too
		}
		w.walk(dir)
	}
}

type fsWalker struct {
	s      *FSStore
	ctx    context.Context
	prefix string
	// keepTop, when set, filters the entries of the root directory.
	keepTop func(string) bool
	yield   func(Object, error) bool
	// stack of (dev, ino) of the directories being walked, for symlink loops.
	stack [][2]uint64
}

// fsEntry is one directory entry kept while its directory is walked: a
// name and a kind only (files are stat'ed when yielded), so a directory of
// a million files costs tens of bytes per entry.
type fsEntry struct {
	name  string // sort name: "x" or "x/" for directories
	isDir bool
	link  bool // a followed symlink: stat, not lstat
}

// walk lists directory dir ("" or "a/b/") and recurses; it returns false
// when the consumer stopped.
func (w *fsWalker) walk(dir string) bool {
	if err := w.ctx.Err(); err != nil {
		w.yield(Object{}, err)
		return false
	}
	entries, err := w.readDir(dir)
	if err != nil {
		if (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && dir != "" {
			return true
		}
		return w.yield(Object{}, fmt.Errorf("list %s: %w", w.s.path(dir), err))
	}
	for _, e := range entries {
		key := dir + e.name
		if !strings.HasPrefix(key, w.prefix) && !strings.HasPrefix(w.prefix, key) {
			continue
		}
		if dir == "" && w.keepTop != nil && !w.keepTop(key) {
			continue
		}
		if e.isDir {
			if !w.descend(key) {
				return false
			}
			continue
		}
		if !strings.HasPrefix(key, w.prefix) {
			continue
		}
		if o, ok := w.file(key, e.link); ok && !w.yield(o, nil) {
			return false
		}
	}
	return true
}

// descend walks a subdirectory; with FollowSymlinks it keeps the (dev, ino)
// of the directories being walked to skip symlink loops.
func (w *fsWalker) descend(key string) bool {
	if !w.s.follow {
		return w.walk(key)
	}
	fi, err := os.Stat(w.s.path(key))
	if err != nil {
		if gone(w.s.path(key)) {
			w.s.log.Warn("skipping directory that vanished during the listing", "path", w.s.path(key))
		} else {
			w.problem("cannot read directory", w.s.path(key), err)
		}
		return true
	}
	id := devIno(fi)
	if slices.Contains(w.stack, id) {
		w.s.log.Warn("skipping symlink loop", "path", w.s.path(key))
		return true
	}
	w.stack = append(w.stack, id)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	return w.walk(key)
}

// file stats a listed file; one that vanished or stopped being a regular
// file since the directory was read is skipped.
func (w *fsWalker) file(key string, link bool) (Object, bool) {
	statf := os.Lstat
	if link {
		statf = os.Stat
	}
	fi, err := statf(w.s.path(key))
	if err != nil && !gone(w.s.path(key)) {
		w.problem("cannot stat file", w.s.path(key), err)
		return Object{}, false
	}
	if err != nil || !fi.Mode().IsRegular() {
		w.s.log.Warn("skipping file that vanished or changed type during the listing", "path", w.s.path(key), "err", err)
		return Object{}, false
	}
	return fsObject(key, fi), true
}

// readDir returns the usable entries of dir in S3 byte order.
func (w *fsWalker) readDir(dir string) ([]fsEntry, error) {
	f, err := os.Open(w.s.path(dir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]fsEntry, 0, len(des))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tmpPrefix) {
			continue
		}
		if e, ok := w.entry(dir, de); ok {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b fsEntry) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// entry classifies one directory entry by its type from the directory
// itself: regular file, directory, followed symlink; anything else is
// skipped with a log line.
func (w *fsWalker) entry(dir string, de fs.DirEntry) (fsEntry, bool) {
	t := de.Type()
	switch {
	case t.IsDir():
		return fsEntry{name: de.Name() + "/", isDir: true}, true
	case t.IsRegular():
		return fsEntry{name: de.Name()}, true
	case t&fs.ModeSymlink == 0:
		w.s.log.Warn("skipping special file", "path", w.s.path(dir+de.Name()), "mode", t.String())
		return fsEntry{}, false
	}
	p := w.s.path(dir + de.Name())
	if !w.s.follow {
		w.s.log.Warn("skipping symlink (use --follow-symlinks to copy its target)", "path", p)
		return fsEntry{}, false
	}
	info, err := os.Stat(p)
	switch {
	case err != nil:
		// Its target may be an unmounted volume: what it held must not
		// look deleted.
		w.problem("cannot follow symlink", p, err)
	case info.IsDir():
		return fsEntry{name: de.Name() + "/", isDir: true, link: true}, true
	case info.Mode().IsRegular():
		return fsEntry{name: de.Name(), link: true}, true
	default:
		w.s.log.Warn("skipping symlink to a special file", "path", p)
	}
	return fsEntry{}, false
}

func devIno(fi fs.FileInfo) [2]uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return [2]uint64{uint64(st.Dev), st.Ino}
	}
	return [2]uint64{}
}

// fsIdentity is "size:mtime_ns:ctime_ns:dev:ino".
func fsIdentity(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Sprintf("%d:%d:0:0:0", fi.Size(), fi.ModTime().UnixNano())
	}
	ctime := st.Ctim.Sec*1e9 + st.Ctim.Nsec
	return fmt.Sprintf("%d:%d:%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(), ctime, uint64(st.Dev), st.Ino)
}

func fsObject(key string, fi fs.FileInfo) Object {
	return Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), Identity: fsIdentity(fi)}
}

// Metadata keys compatible with rclone (x-amz-meta-mtime etc.).
const (
	MetaMtime = "mtime" // seconds since the epoch with fraction: "1700000000.123456789"
	MetaMode  = "mode"  // octal st_mode: "100644"
	MetaUID   = "uid"
	MetaGID   = "gid"
)

// FormatMtime renders t the way rclone stores x-amz-meta-mtime.
func FormatMtime(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%09d", t.Nanosecond())
}

// ParseMtime reads x-amz-meta-mtime written by evac or rclone.
func ParseMtime(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("mtime %q: %w", s, err)
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("mtime %q: %w", s, err)
		}
	}
	return time.Unix(secs, ns), nil
}

func fsMeta(fi fs.FileInfo) map[string]string {
	m := map[string]string{MetaMtime: FormatMtime(fi.ModTime())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m[MetaMode] = strconv.FormatUint(uint64(st.Mode), 8)
		m[MetaUID] = strconv.FormatUint(uint64(st.Uid), 10)
		m[MetaGID] = strconv.FormatUint(uint64(st.Gid), 10)
	}
	return m
}

// stat returns the FileInfo of a regular file at key (following a symlink
// only with FollowSymlinks); ErrNotFound for anything else.
func (s *FSStore) stat(key string) (fs.FileInfo, error) {
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, ErrNotFound
	}
	statf := os.Lstat
	if s.follow {
		statf = os.Stat
	}
	fi, err := statf(s.path(key))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", s.path(key), err)
	}
	if !fi.Mode().IsRegular() {
		return nil, ErrNotFound
	}
	return fi, nil
}

// Stat returns the file with POSIX metadata in rclone-compatible keys.
func (s *FSStore) Stat(_ context.Context, key string) (Object, error) {
	fi, err := s.stat(key)
	if err != nil {
		return Object{}, err
	}
	o := fsObject(key, fi)
	o.Meta = fsMeta(fi)
	return o, nil
}

// Open opens key for reading. The reader implements ChangeChecker: its
// Identity is the fstat taken right after open; Verify compares with a fresh
// fstat.
func (s *FSStore) Open(_ context.Context, key string, o OpenOptions) (io.ReadCloser, error) {
	if _, err := s.stat(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.path(key), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fstat %s: %w", s.path(key), err)
	}
	var r io.Reader = f
	limit := int64(-1)
	if o.Offset > 0 {
		if _, err := f.Seek(o.Offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("seek %s: %w", s.path(key), err)
		}
	}
	if o.Length >= 0 && (o.Offset > 0 || o.Length < fi.Size()) {
		r, limit = io.LimitReader(f, o.Length), o.Length
	}
	return &fsReader{Reader: r, f: f, identity: fsIdentity(fi), base: max(o.Offset, 0), limit: limit}, nil
}

// Put writes to a temporary file in the target directory, fsyncs it and
// renames it over key, so readers see the old or the new file, never a
// partial one. Meta "mtime" and the permission bits of "mode" are applied.
func (s *FSStore) Put(ctx context.Context, key string, r io.Reader, o PutOptions) (PutResult, error) {
	if key == "" || strings.HasSuffix(key, "/") {
		return PutResult{}, fmt.Errorf("put %q: not a file key", key)
	}
	dst := s.path(key)
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", dst, err)
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", dst, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	hr := NewHashingReader(ctxReader{ctx, r}, ChecksumCRC64NVME)
	if _, err := io.Copy(tmp, hr); err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", dst, err)
	}
	if o.Size >= 0 && hr.N() != o.Size {
		return PutResult{}, fmt.Errorf("put %s: read %d bytes, expected %d: %w", dst, hr.N(), o.Size, ErrChanged)
	}
	if err := applyMeta(tmp, o.Meta); err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", dst, err)
	}
	if err := tmp.Sync(); err != nil {
		return PutResult{}, fmt.Errorf("put %s: fsync: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", dst, err)
	}
	ok = true
	syncDir(dir)
	return PutResult{Checksum: hr.Checksum(), Sent: hr.N()}, nil
}

func applyMeta(f *os.File, meta map[string]string) error {
	if m, ok := meta[MetaMode]; ok {
		if mode, err := strconv.ParseUint(m, 8, 32); err == nil {
			if err := f.Chmod(fs.FileMode(mode) & fs.ModePerm); err != nil {
				return err
			}
		}
	}
	if m, ok := meta[MetaMtime]; ok {
		if t, err := ParseMtime(m); err == nil {
			return os.Chtimes(f.Name(), time.Time{}, t)
		}
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Delete removes key and then any directories it leaves empty (up to the
// root). A missing key is not an error.
func (s *FSStore) Delete(_ context.Context, key string) error {
	if key == "" {
		return fmt.Errorf("delete: empty key")
	}
	if fi, err := os.Lstat(s.path(key)); err == nil && fi.IsDir() {
		return nil // a directory is not an object
	}
	err := os.Remove(s.path(key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("delete %s: %w", s.path(key), err)
	}
	for dir := filepath.Dir(s.path(key)); len(dir) > len(s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// ctxReader stops a copy when ctx is canceled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
