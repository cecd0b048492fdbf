package sync

import (
	"testing"
	"time"
)

func TestDecideTruthTable(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	src := &Object{Key: "k", Size: 10, ModTime: t0, Identity: "id1", Checksum: "CRC64NVME:aaa"}
	srcChanged := &Object{Key: "k", Size: 10, ModTime: t0.Add(time.Second), Identity: "id2"}
	srcBig := &Object{Key: "k", Size: 11, ModTime: t0, Identity: "id3"}
	dst := &Object{Key: "k", Size: 10, ETag: "e1", ModTime: t0.Add(time.Minute), Checksum: "CRC64NVME:aaa"}
	dstOther := &Object{Key: "k", Size: 10, ETag: "e2", ModTime: t0.Add(time.Minute), Checksum: "CRC64NVME:bbb"}
	dstOld := &Object{Key: "k", Size: 10, ETag: "e1", ModTime: t0.Add(-time.Minute)}
	dstNoSum := &Object{Key: "k", Size: 10, ETag: "e1"}
	dstShort := &Object{Key: "k", Size: 9, ETag: "e1"}
	j := &JournalEntry{SrcIdentity: "id1", Size: 10, ETag: "e1"}
	jRacy := &JournalEntry{SrcIdentity: "id1", Size: 10, ETag: "e1", Racy: true}

	J, C, S, M := DecideOptions{}, DecideOptions{Mode: ModeChecksum}, DecideOptions{Mode: ModeSizeOnly}, DecideOptions{Mode: ModeModTime}
	force := DecideOptions{Force: true}
	del := DecideOptions{Delete: true}
	delForce := DecideOptions{Delete: true, Force: true}

	tests := []struct {
		name   string
		src    *Object
		dst    *Object
		j      *JournalEntry
		o      DecideOptions
		action Action
		reason string
	}{
		{"nothing anywhere, journal entry", nil, nil, j, J, ActForget, ReasonJournalOnly},
		{"new object", src, nil, nil, J, ActCopy, ReasonNew},
		{"journaled, target deleted", src, nil, j, J, ActCopy, ReasonTargetMissing},
		{"unchanged", src, dst, j, J, ActSkip, ReasonUnchanged},
		{"source changed", srcChanged, dst, j, J, ActCopy, ReasonSourceChanged},
		{"source changed, target changed", srcChanged, dstOther, j, J, ActConflict, ReasonTargetChanged},
		{"target changed externally", src, dstOther, j, J, ActConflict, ReasonTargetChanged},
		{"target truncated externally", src, dstShort, j, J, ActConflict, ReasonTargetChanged},
		{"target changed, --force", src, dstOther, j, force, ActCopy, ReasonForced},
		{"racily clean entry", src, dst, jRacy, J, ActCopy, ReasonRacy},
		{"untracked, same size", src, dst, nil, J, ActAdopt, ReasonUntracked},
		{"untracked, other size", srcBig, dst, nil, J, ActCopy, ReasonSizeDiffers},
		{"extra, no --delete", nil, dst, nil, J, ActSkip, ReasonExtraKept},
		{"extra, --delete", nil, dst, nil, del, ActDelete, ReasonExtra},
		{"extra journaled, --delete", nil, dst, j, del, ActDelete, ReasonExtra},
		{"extra changed externally, --delete", nil, dstOther, j, del, ActConflict, ReasonTargetChanged},
		{"extra changed externally, --delete --force", nil, dstOther, j, delForce, ActDelete, ReasonExtra},
		{"size-only equal", srcChanged, dstOther, j, S, ActSkip, ReasonSizeEqual},
		{"size-only differ", srcBig, dst, nil, S, ActCopy, ReasonSizeDiffers},
		{"checksum equal", src, dst, nil, C, ActSkip, ReasonChecksumEqual},
		{"checksum differ", src, dstOther, nil, C, ActCopy, ReasonChecksumDiffer},
		{"checksum unknown", src, dstNoSum, j, C, ActVerify, ReasonNoChecksum},
		{"checksum, size differ", srcBig, dst, nil, C, ActCopy, ReasonSizeDiffers},
		{"modtime target newer", src, dst, nil, M, ActSkip, ReasonTargetNewer},
		{"modtime target older", src, dstOld, nil, M, ActCopy, ReasonTargetOlder},
		{"modtime size differ", srcBig, dst, nil, M, ActCopy, ReasonSizeDiffers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.src, tc.dst, tc.j, tc.o)
			if got.Action != tc.action || got.Reason != tc.reason {
				t.Fatalf("Decide = %v %q, want %v %q", got.Action, got.Reason, tc.action, tc.reason)
			}
		})
	}
}
