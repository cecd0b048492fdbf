package sync

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"
)

// memStore is an in-memory Store for engine unit tests; it counts calls.
type memStore struct {
	name string
	mu   stdsync.Mutex
	objs map[string]memObj
	ops  map[string]*atomic.Int64
	// failList makes List fail after n objects (n >= 0).
	failList int
	failPut  map[string]error
	seq      int
}

type memObj struct {
	data []byte
	meta map[string]string
	ct   string
	mod  time.Time
	etag string
}

func newMem(name string) *memStore {
	m := &memStore{name: name, objs: map[string]memObj{}, ops: map[string]*atomic.Int64{}, failList: -1, failPut: map[string]error{}}
	for _, op := range []string{"List", "Stat", "Open", "Put", "Delete"} {
		m.ops[op] = new(atomic.Int64)
	}
	return m
}

func (m *memStore) count(op string) int64 { return m.ops[op].Load() }

func (m *memStore) resetCounts() {
	for _, c := range m.ops {
		c.Store(0)
	}
}

func (m *memStore) counts() string {
	var b strings.Builder
	for _, op := range []string{"List", "Stat", "Open", "Put", "Delete"} {
		fmt.Fprintf(&b, "%s=%d ", op, m.count(op))
	}
	return strings.TrimSpace(b.String())
}

func (m *memStore) String() string { return "mem://" + m.name }

func (m *memStore) object(k string, o memObj) Object {
	return Object{Key: k, Size: int64(len(o.data)), ModTime: o.mod, ETag: o.etag,
		Identity: fmt.Sprintf("%s:%d:%d", o.etag, len(o.data), o.mod.UnixNano())}
}

func (m *memStore) List(_ context.Context, prefix string) iter.Seq2[Object, error] {
	m.ops["List"].Add(1)
	m.mu.Lock()
	keys := slices.Sorted(maps.Keys(m.objs))
	snap := maps.Clone(m.objs)
	fail := m.failList
	m.mu.Unlock()
	return func(yield func(Object, error) bool) {
		n := 0
		for _, k := range keys {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if fail >= 0 && n == fail {
				yield(Object{}, fmt.Errorf("%s: connection reset", m.name))
				return
			}
			n++
			if !yield(m.object(k, snap[k]), nil) {
				return
			}
		}
	}
}

func (m *memStore) Stat(_ context.Context, key string) (Object, error) {
	m.ops["Stat"].Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if !ok {
		return Object{}, ErrNotFound
	}
	obj := m.object(key, o)
	obj.Meta = maps.Clone(o.meta)
	obj.ContentType = o.ct
	h := ChecksumCRC64NVME.New()
	h.Write(o.data)
	obj.Checksum = FormatChecksum(ChecksumCRC64NVME, h.Sum(nil))
	return obj, nil
}

func (m *memStore) Open(_ context.Context, key string, o OpenOptions) (io.ReadCloser, error) {
	m.ops["Open"].Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	obj, ok := m.objs[key]
	if !ok {
		return nil, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(obj.data)), nil
}

func (m *memStore) Put(_ context.Context, key string, r io.Reader, o PutOptions) (PutResult, error) {
	m.ops["Put"].Add(1)
	data, err := io.ReadAll(r)
	if err != nil {
		return PutResult{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failPut[key]; err != nil {
		return PutResult{}, err
	}
	if o.Size >= 0 && int64(len(data)) != o.Size {
		return PutResult{}, fmt.Errorf("short body: %d of %d: %w", len(data), o.Size, ErrChanged)
	}
	sum := md5.Sum(data)
	m.seq++
	obj := memObj{data: data, meta: maps.Clone(o.Meta), ct: o.ContentType, etag: hex.EncodeToString(sum[:]),
		mod: time.Unix(1700000000+int64(m.seq), 0)}
	m.objs[key] = obj
	h := ChecksumCRC64NVME.New()
	h.Write(data)
	return PutResult{ETag: obj.etag, Checksum: FormatChecksum(ChecksumCRC64NVME, h.Sum(nil)), Sent: int64(len(data))}, nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	m.ops["Delete"].Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}

// set writes an object directly (test setup), not counted.
func (m *memStore) set(key, data string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := md5.Sum([]byte(data))
	m.seq++
	m.objs[key] = memObj{data: []byte(data), etag: hex.EncodeToString(sum[:]), mod: time.Unix(1600000000+int64(m.seq), 0)}
}

func (m *memStore) get(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	return string(o.data), ok
}

func (m *memStore) dump() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m.objs)) {
		if strings.HasPrefix(k, StateFolder) {
			continue
		}
		fmt.Fprintf(&b, "%s=%s\n", k, m.objs[k].data)
	}
	return b.String()
}
