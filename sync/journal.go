package sync

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	stdsync "sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The journal is a bbolt file (ordered keys, ACID transactions, an flock
// against a second writer) with one bucket of JournalEntry per object key.
var (
	bucketObjects = []byte("objects")
	bucketMeta    = []byte("meta")
)

// JournalOptions configure OpenJournal.
type JournalOptions struct {
	BatchSize   int           // entries per commit; <=0 means 1000
	FlushEvery  time.Duration // commit a partial batch this old; <=0 means 2s
	LockTimeout time.Duration // wait for another run's lock; <=0 means 500ms
	PageSize    int           // entries per read transaction in Entries; <=0 means 1000
}

// Journal is the crash-safe state journal of one job. Put is safe for
// concurrent use; entries are committed in batches, each commit fsynced.
type Journal struct {
	db   *bolt.DB
	path string
	o    JournalOptions

	mu      stdsync.Mutex
	pending map[string]*JournalEntry // nil value: delete
	oldest  time.Time
	commits int64
	// commitMu serialises commits in the order their batches were cut, and
	// lets workers stage new entries while a batch is being fsynced.
	commitMu stdsync.Mutex
}

// ErrJournalLocked means another evac process holds the journal.
var ErrJournalLocked = errors.New("journal is locked by another evac sync run")

// JobID names a job by everything that changes what its journal means:
// source, target, shard and filters. The journal file is <JobID>.db.
func JobID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// OpenJournal opens (creating) the journal at path and takes its lock.
func OpenJournal(path string, o JournalOptions) (*Journal, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 2 * time.Second
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 500 * time.Millisecond
	}
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state journal directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s; wait for the other run to finish, or stop it (the journal key is source + target + shard + filters)", ErrJournalLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open state journal %s: %w (delete the file to start over; objects already on the target are adopted with one HEAD each)", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketObjects, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init state journal %s: %w", path, err)
	}
	return &Journal{db: db, path: path, o: o, pending: map[string]*JournalEntry{}}, nil
}

// Path is the journal file.
func (j *Journal) Path() string { return j.path }

// Put records a copied object; it is durable after the next commit.
func (j *Journal) Put(key string, e JournalEntry) error { return j.stage(key, &e) }

// Delete forgets a key.
func (j *Journal) Delete(key string) error { return j.stage(key, nil) }

func (j *Journal) stage(key string, e *JournalEntry) error {
	j.mu.Lock()
	if len(j.pending) == 0 {
		j.oldest = time.Now()
	}
	j.pending[key] = e
	if len(j.pending) < j.o.BatchSize && time.Since(j.oldest) < j.o.FlushEvery {
		j.mu.Unlock()
		return nil
	}
	return j.cutAndCommit()
}

// Flush commits every staged entry.
func (j *Journal) Flush() error {
	j.mu.Lock()
	return j.cutAndCommit()
}

// cutAndCommit is called with mu held and releases it: it takes the staged
// batch and commits it, holding commitMu (taken before mu is released, so
// batches commit in the order they were cut).
func (j *Journal) cutAndCommit() error {
	batch := j.pending
	j.pending = make(map[string]*JournalEntry, len(batch))
	j.commitMu.Lock()
	j.mu.Unlock()
	defer j.commitMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketObjects)
		for k, e := range batch {
			if e == nil {
				if err := b.Delete([]byte(k)); err != nil {
					return err
				}
				continue
			}
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit state journal %s: %w", j.path, err)
	}
	j.mu.Lock()
	j.commits++
	j.mu.Unlock()
	return nil
}

// Commits is the number of committed batches (tests, stats).
func (j *Journal) Commits() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.commits
}

// Get returns the committed entry of key, or nil.
func (j *Journal) Get(key string) (*JournalEntry, error) {
	var out *JournalEntry
	err := j.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketObjects).Get([]byte(key))
		if v == nil {
			return nil
		}
		out = new(JournalEntry)
		return json.Unmarshal(v, out)
	})
	return out, err
}

// Entries yields committed entries under prefix in byte order, reading a
// page per short read transaction so writers are never held up and memory
// stays at one page.
func (j *Journal) Entries(prefix string) iter.Seq2[JournalRecord, error] {
	return func(yield func(JournalRecord, error) bool) {
		after := []byte(prefix)
		first := true
		for {
			page, err := j.page(after, first, []byte(prefix))
			if err != nil {
				yield(JournalRecord{}, fmt.Errorf("read state journal %s: %w", j.path, err))
				return
			}
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if len(page) < j.o.PageSize {
				return
			}
			after, first = []byte(page[len(page)-1].Key), false
		}
	}
}

func (j *Journal) page(from []byte, inclusive bool, prefix []byte) ([]JournalRecord, error) {
	var out []JournalRecord
	err := j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketObjects).Cursor()
		k, v := c.Seek(from)
		if !inclusive && k != nil && bytes.Equal(k, from) {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < j.o.PageSize; k, v = c.Next() {
			if !bytes.HasPrefix(k, prefix) {
				break
			}
			r := JournalRecord{Key: string(k)}
			if err := json.Unmarshal(v, &r.Entry); err != nil {
				return fmt.Errorf("entry %q: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// SetMeta stores a job attribute (source, target, filters) for humans.
func (j *Journal) SetMeta(k, v string) error {
	return j.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte(k), []byte(v)) })
}

// Snapshot writes a consistent copy of the committed journal to w and
// returns its size; used to mirror the journal to the target.
func (j *Journal) Snapshot(w io.Writer) (int64, error) {
	var n int64
	err := j.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Close commits staged entries and releases the lock.
func (j *Journal) Close() error {
	ferr := j.Flush()
	cerr := j.db.Close()
	return errors.Join(ferr, cerr)
}
