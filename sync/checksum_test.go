package sync

import (
	"encoding/base64"
	"encoding/binary"
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
