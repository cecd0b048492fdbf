package sync

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strings"
	gosync "sync"
)

// ChecksumAlgorithm names the integrity checksum a Put sends with every
// request body. The zero value means CRC64NVME.
type ChecksumAlgorithm string

// Supported checksum algorithms, strongest preference first.
const (
	ChecksumCRC64NVME ChecksumAlgorithm = "CRC64NVME"
	ChecksumCRC32C    ChecksumAlgorithm = "CRC32C"
	// ChecksumMD5 sends Content-MD5 per request; a multipart object then
	// has no server-verified full-object checksum.
	ChecksumMD5 ChecksumAlgorithm = "MD5"
)

// crc64NVME16 are slicing-by-16 tables of CRC-64/NVME (reflected polynomial
// 0x9a6c9329ac4bc9b5, x-amz-checksum-crc64nvme), built once: hash/crc64
// rebuilds them on every Write for polynomials other than ISO and ECMA, and
// uses 8 tables. 16 tables hash ~1.5x faster (the client's main CPU cost
// on large files: CRC64NVME has no hardware instruction in pure Go).
var crc64NVME16 = func() *[16]crc64.Table {
	var t [16]crc64.Table
	t[0] = *crc64.MakeTable(0x9a6c9329ac4bc9b5)
	for i := range 256 {
		crc := t[0][i]
		for j := 1; j < 16; j++ {
			crc = t[0][crc&0xff] ^ (crc >> 8)
			t[j][i] = crc
		}
	}
	return &t
}()

// crc64NVME is a hash.Hash64 of CRC-64/NVME.
type crc64NVME struct{ crc uint64 }

func (d *crc64NVME) Size() int      { return 8 }
func (d *crc64NVME) BlockSize() int { return 1 }
func (d *crc64NVME) Reset()         { d.crc = 0 }
func (d *crc64NVME) Sum64() uint64  { return d.crc }
func (d *crc64NVME) Sum(in []byte) []byte {
	return binary.BigEndian.AppendUint64(in, d.crc)
}

func (d *crc64NVME) Write(p []byte) (int, error) {
	t, n := crc64NVME16, len(p)
	crc := ^d.crc
	for ; len(p) >= 16; p = p[16:] {
		a := binary.LittleEndian.Uint64(p) ^ crc
		b := binary.LittleEndian.Uint64(p[8:])
		crc = t[15][a&0xff] ^ t[14][(a>>8)&0xff] ^ t[13][(a>>16)&0xff] ^ t[12][(a>>24)&0xff] ^
			t[11][(a>>32)&0xff] ^ t[10][(a>>40)&0xff] ^ t[9][(a>>48)&0xff] ^ t[8][a>>56] ^
			t[7][b&0xff] ^ t[6][(b>>8)&0xff] ^ t[5][(b>>16)&0xff] ^ t[4][(b>>24)&0xff] ^
			t[3][(b>>32)&0xff] ^ t[2][(b>>40)&0xff] ^ t[1][(b>>48)&0xff] ^ t[0][b>>56]
	}
	for _, v := range p {
		crc = t[0][byte(crc)^v] ^ (crc >> 8)
	}
	d.crc = ^crc
	return n, nil
}

var crc32cTable = crc32.MakeTable(crc32.Castagnoli)

// ParseChecksumAlgorithm accepts "", "crc64nvme", "crc32c", "md5" (any case).
func ParseChecksumAlgorithm(s string) (ChecksumAlgorithm, error) {
	switch ChecksumAlgorithm(strings.ToUpper(s)) {
	case "", ChecksumCRC64NVME:
		return ChecksumCRC64NVME, nil
	case ChecksumCRC32C:
		return ChecksumCRC32C, nil
	case ChecksumMD5:
		return ChecksumMD5, nil
	}
	return "", fmt.Errorf("unknown checksum algorithm %q: use CRC64NVME, CRC32C or MD5", s)
}

func (a ChecksumAlgorithm) orDefault() ChecksumAlgorithm {
	if a == "" {
		return ChecksumCRC64NVME
	}
	return a
}

// New returns a fresh hash for the algorithm.
func (a ChecksumAlgorithm) New() hash.Hash {
	switch a.orDefault() {
	case ChecksumCRC32C:
		return crc32.New(crc32cTable)
	case ChecksumMD5:
		return md5.New()
	}
	return &crc64NVME{}
}

// FormatChecksum renders a digest as "ALG:base64", the form used in
// Object.Checksum and PutResult.Checksum.
func FormatChecksum(a ChecksumAlgorithm, sum []byte) string {
	return string(a.orDefault()) + ":" + base64.StdEncoding.EncodeToString(sum)
}

// SplitChecksum splits "ALG:base64" into its parts; ok is false when s has
// no algorithm prefix.
func SplitChecksum(s string) (alg ChecksumAlgorithm, b64 string, ok bool) {
	a, v, ok := strings.Cut(s, ":")
	if !ok || a == "" || v == "" {
		return "", "", false
	}
	return ChecksumAlgorithm(a), v, true
}

// HashingReader computes a checksum of everything read through it, so the
// checksum sent with a body comes from the same pass that reads the data.
type HashingReader struct {
	r   io.Reader
	alg ChecksumAlgorithm
	h   hash.Hash
	n   int64
}

// NewHashingReader wraps r.
func NewHashingReader(r io.Reader, a ChecksumAlgorithm) *HashingReader {
	return &HashingReader{r: r, alg: a.orDefault(), h: a.New()}
}

func (h *HashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
	}
	return n, err
}

// N is the number of bytes read so far.
func (h *HashingReader) N() int64 { return h.n }

// Sum returns the raw digest of the bytes read so far.
func (h *HashingReader) Sum() []byte { return h.h.Sum(nil) }

// Checksum returns "ALG:base64" of the bytes read so far.
func (h *HashingReader) Checksum() string { return FormatChecksum(h.alg, h.Sum()) }

// ChecksumBytes returns the base64 digest of b (one part's buffer).
func ChecksumBytes(a ChecksumAlgorithm, b []byte) string {
	h := a.New()
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// CRC combination: crc(A||B) from crc(A), crc(B) and len(B), in O(log len)
// (zlib's crc32_combine, generalised to 64 bits). Multipart uploads hash
// each part once and combine the part CRCs into the FULL_OBJECT checksum.

// reflected polynomials of the combinable algorithms, and their widths.
var crcPoly = map[ChecksumAlgorithm]struct {
	poly uint64
	bits int
}{
	ChecksumCRC64NVME: {0x9a6c9329ac4bc9b5, 64},
	ChecksumCRC32C:    {0x82f63b78, 32},
}

// Combinable reports whether part checksums of a can be combined.
func (a ChecksumAlgorithm) Combinable() bool {
	_, ok := crcPoly[a.orDefault()]
	return ok
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}

// CombineCRC returns the CRC of A||B for a combinable algorithm.
func CombineCRC(a ChecksumAlgorithm, crcA, crcB uint64, lenB int64) uint64 {
	p := crcPoly[a.orDefault()]
	if lenB <= 0 {
		return crcA
	}
	odd, even := make([]uint64, p.bits), make([]uint64, p.bits)
	odd[0] = p.poly // operator for one zero bit
	for n, row := 1, uint64(1); n < p.bits; n, row = n+1, row<<1 {
		odd[n] = row
	}
	gf2Square(even, odd) // two zero bits
	gf2Square(odd, even) // four zero bits
	for lenB != 0 {
		gf2Square(even, odd)
		if lenB&1 != 0 {
			crcA = gf2Times(even, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
		gf2Square(odd, even)
		if lenB&1 != 0 {
			crcA = gf2Times(odd, crcA)
		}
		lenB >>= 1
	}
	return crcA ^ crcB
}

// crcValue reads a big-endian CRC digest as a number.
func crcValue(sum []byte) uint64 {
	var v uint64
	for _, b := range sum {
		v = v<<8 | uint64(b)
	}
	return v
}

// crcBytes renders a CRC number as the digest of algorithm a.
func crcBytes(a ChecksumAlgorithm, v uint64) []byte {
	n := crcPoly[a.orDefault()].bits / 8
	out := make([]byte, n)
	for i := n - 1; i >= 0; i, v = i-1, v>>8 {
		out[i] = byte(v)
	}
	return out
}

// fullHasher builds the full-object checksum of a multipart upload. For
// CRCs each part is hashed once, concurrently in its upload goroutine, and
// the part CRCs are combined in part order; MD5 is hashed as a stream.
type fullHasher struct {
	alg   ChecksumAlgorithm
	mu    gosync.Mutex
	parts map[int32]partCRC
	h     hash.Hash // MD5 only
}

type partCRC struct {
	crc uint64
	n   int64
}

func newFullHasher(a ChecksumAlgorithm) *fullHasher {
	f := &fullHasher{alg: a.orDefault(), parts: map[int32]partCRC{}}
	if !f.alg.Combinable() {
		f.h = a.New()
	}
	return f
}

// stream must see every part's bytes in order (before they are reused).
func (f *fullHasher) stream(part []byte) {
	if f.h != nil {
		f.h.Write(part)
	}
}

// part hashes part number pn and returns its base64 checksum; safe for
// concurrent use.
func (f *fullHasher) part(pn int32, part []byte) string {
	h := f.alg.New()
	h.Write(part)
	sum := h.Sum(nil)
	if f.h == nil {
		f.mu.Lock()
		f.parts[pn] = partCRC{crcValue(sum), int64(len(part))}
		f.mu.Unlock()
	}
	return base64.StdEncoding.EncodeToString(sum)
}

// setPart records the raw CRC digest of part pn (n bytes), computed by the
// caller; safe for concurrent use. Combinable algorithms only.
func (f *fullHasher) setPart(pn int32, sum []byte, n int64) {
	f.mu.Lock()
	f.parts[pn] = partCRC{crcValue(sum), n}
	f.mu.Unlock()
}

// sum is the digest of parts 1..N.
func (f *fullHasher) sum() []byte {
	if f.h != nil {
		return f.h.Sum(nil)
	}
	crc := crcValue(f.alg.New().Sum(nil)) // CRC of the empty string
	for pn := int32(1); ; pn++ {
		p, ok := f.parts[pn]
		if !ok {
			return crcBytes(f.alg, crc)
		}
		crc = CombineCRC(f.alg, crc, p.crc, p.n)
	}
}

// algState is an S3 store's checksum algorithm. Chosen automatically (zero
// S3Options.Checksum) it starts at CRC64NVME and steps down to CRC32C, then
// Content-MD5, when the server rejects the checksum before any write with
// it succeeded (older S3-compatible stores); after a success it is fixed.
type algState struct {
	mu    gosync.Mutex
	cur   ChecksumAlgorithm
	fixed bool
}

func (a *algState) get() ChecksumAlgorithm {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur
}

func (a *algState) confirm(used ChecksumAlgorithm) {
	a.mu.Lock()
	if a.cur == used {
		a.fixed = true
	}
	a.mu.Unlock()
}

// downgrade reports whether the write that failed with err using tried
// should be retried with the store's (possibly new) algorithm.
func (a *algState) downgrade(s *S3Store, tried ChecksumAlgorithm, err error) bool {
	if !isCode(err, "NotImplemented", "InvalidArgument", "InvalidRequest") {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur != tried {
		return true // another write stepped down already
	}
	if a.fixed || tried == ChecksumMD5 {
		return false
	}
	a.cur = ChecksumMD5
	if tried == ChecksumCRC64NVME {
		a.cur = ChecksumCRC32C
	}
	s.log.Warn("the server rejected the checksum algorithm; falling back (set the algorithm explicitly to silence this)",
		"rejected", tried, "now", a.cur, "err", err)
	return true
}
