package sync

import (
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc64"
	"io"
	"strings"
	"testing"
)

func TestChecksumVectors(t *testing.T) {
	// Check values of the CRC catalogue for "123456789".
	cases := map[ChecksumAlgorithm]uint64{ChecksumCRC64NVME: 0xae8b14860a799888, ChecksumCRC32C: 0xe3069283}
	for a, want := range cases {
		h := a.New()
		io.WriteString(h, "123456789")
		sum := h.Sum(nil)
		var got uint64
		if len(sum) == 8 {
			got = binary.BigEndian.Uint64(sum)
		} else {
			got = uint64(binary.BigEndian.Uint32(sum))
		}
		if got != want {
			t.Errorf("%s(123456789) = %x, want %x", a, got, want)
		}
	}
}

func TestHashingReader(t *testing.T) {
	hr := NewHashingReader(strings.NewReader("123456789"), "")
	io.Copy(io.Discard, hr)
	want := "CRC64NVME:" + base64.StdEncoding.EncodeToString([]byte{0xae, 0x8b, 0x14, 0x86, 0x0a, 0x79, 0x98, 0x88})
	if hr.Checksum() != want || hr.N() != 9 {
		t.Fatalf("Checksum = %s (n %d), want %s", hr.Checksum(), hr.N(), want)
	}
	if a, b, ok := SplitChecksum(want); !ok || a != ChecksumCRC64NVME || b == "" {
		t.Fatalf("SplitChecksum = %s %s %v", a, b, ok)
	}
	for in, want := range map[string]ChecksumAlgorithm{"": ChecksumCRC64NVME, "crc32c": ChecksumCRC32C, "md5": ChecksumMD5} {
		if got, err := ParseChecksumAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseChecksumAlgorithm(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := ParseChecksumAlgorithm("sha1"); err == nil || !strings.Contains(err.Error(), "use CRC64NVME, CRC32C or MD5") {
		t.Errorf("sha1: %v", err)
	}
}

func TestCombineCRC(t *testing.T) {
	data := make([]byte, 100000)
	for i := range data {
		data[i] = byte(i*7 + i/300)
	}
	for _, a := range []ChecksumAlgorithm{ChecksumCRC64NVME, ChecksumCRC32C} {
		whole := ChecksumBytes(a, data)
		for _, cuts := range [][]int{{0}, {1}, {99999}, {5, 17, 4096, 65536}, {50000, 50000}} {
			f := newFullHasher(a)
			prev := 0
			for i, c := range append(cuts, len(data)) {
				c = max(c, prev)
				f.part(int32(i+1), data[prev:c])
				prev = c
			}
			if got := base64.StdEncoding.EncodeToString(f.sum()); got != whole {
				t.Errorf("%s cuts %v: combined %s, want %s", a, cuts, got, whole)
			}
		}
	}
	f := newFullHasher(ChecksumMD5)
	f.stream(data[:10])
	f.stream(data[10:])
	if got := base64.StdEncoding.EncodeToString(f.sum()); got != ChecksumBytes(ChecksumMD5, data) {
		t.Errorf("MD5 full = %s", got)
	}
}

// The table-driven CRC-64/NVME agrees with hash/crc64 for every length and
// split of writes.
func TestCRC64NVMEMatchesStdlib(t *testing.T) {
	ref := crc64.MakeTable(0x9a6c9329ac4bc9b5)
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i*31 + 7)
	}
	for n := 0; n <= len(data); n += 37 {
		for _, cut := range []int{0, n / 3, n} {
			h := ChecksumCRC64NVME.New()
			h.Write(data[:cut])
			h.Write(data[cut:n])
			if got, want := h.(hash.Hash64).Sum64(), crc64.Checksum(data[:n], ref); got != want {
				t.Fatalf("n=%d cut=%d: %x, want %x", n, cut, got, want)
			}
		}
	}
}
