package sync

import (
	"fmt"
	"time"
)

// Mode selects how the engine decides that an object is unchanged.
type Mode int

const (
	// ModeJournal (default) compares the source identity with the state
	// journal and the target listing (size, ETag) with what was written.
	ModeJournal Mode = iota
	// ModeChecksum compares content checksums (reads the source when the
	// listing carries none).
	ModeChecksum
	// ModeSizeOnly skips an object whose sizes are equal on both sides.
	ModeSizeOnly
	// ModeModTime is the size + LastModified heuristic (target newer or
	// equal and same size means unchanged). Only behind a flag: S3
	// LastModified has 1 s resolution on some servers.
	ModeModTime
)

// String names the mode as on the command line.
func (m Mode) String() string {
	switch m {
	case ModeJournal:
		return "journal"
	case ModeChecksum:
		return "checksum"
	case ModeSizeOnly:
		return "size-only"
	case ModeModTime:
		return "modtime"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Action is what the engine does with one key.
type Action int

const (
	// ActSkip: nothing to do, the target holds the source's content.
	ActSkip Action = iota
	// ActCopy: write the source object to the target.
	ActCopy
	// ActDelete: remove the target object (only with --delete).
	ActDelete
	// ActAdopt: the target holds an object evac has no record of; one HEAD
	// decides whether it equals the source (then it is journaled) or not
	// (then it is copied).
	ActAdopt
	// ActVerify: compare content checksums before deciding (--checksum
	// when a listing carries none).
	ActVerify
	// ActConflict: the target changed since evac wrote it; reported, not
	// overwritten (--force overwrites).
	ActConflict
	// ActForget: the key is in the journal only; the entry is dropped.
	ActForget
)

var actionNames = [...]string{"skip", "copy", "delete", "adopt", "verify", "conflict", "forget"}

// String names the action for reports.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Reasons, as written in reports.
const (
	ReasonNew            = "new"
	ReasonUnchanged      = "unchanged"
	ReasonSourceChanged  = "source changed"
	ReasonTargetMissing  = "target missing"
	ReasonTargetChanged  = "target changed externally"
	ReasonForced         = "target changed externally; overwritten (--force)"
	ReasonRacy           = "racily clean: source changed within the timestamp tick of the last copy"
	ReasonSizeDiffers    = "size differs"
	ReasonSizeEqual      = "same size (--size-only)"
	ReasonChecksumEqual  = "same checksum"
	ReasonChecksumDiffer = "checksum differs"
	ReasonNoChecksum     = "no checksum in listing"
	ReasonTargetOlder    = "target older than source"
	ReasonTargetNewer    = "same size, target not older (--modtime)"
	ReasonUntracked      = "on target, not in journal"
	ReasonExtra          = "not on source"
	ReasonExtraKept      = "not on source; kept (no --delete)"
	ReasonJournalOnly    = "in journal only"
)

// JournalEntry is what the journal records per key after a copy.
type JournalEntry struct {
	SrcIdentity string    `json:"s"`           // source Object.Identity when it was read
	Size        int64     `json:"n"`           // bytes written
	ETag        string    `json:"e"`           // target ETag acknowledged by the write
	Checksum    string    `json:"c,omitempty"` // target full-object checksum ("CRC64NVME:...")
	Racy        bool      `json:"r,omitempty"` // source mtime within one tick of the read: re-check next pass
	At          time.Time `json:"t"`           // when it was recorded
}

// DecideOptions are the run-wide inputs of Decide.
type DecideOptions struct {
	Mode   Mode
	Force  bool // overwrite (or delete) objects changed on the target by someone else
	Delete bool // delete target objects missing on the source
}

// Decision is Decide's answer.
type Decision struct {
	Action Action
	Reason string
}

// Decide is the pure sync decision for one key. src and dst are the
// listing entries (nil when absent on that side), j the journal entry (nil
// when evac has no record). It never does I/O: every input comes from the
// listings and the journal, so an unchanged resync sends no per-object
// request.
func Decide(src, dst *Object, j *JournalEntry, o DecideOptions) Decision {
	switch {
	case src == nil && dst == nil:
		return Decision{ActForget, ReasonJournalOnly}
	case src == nil:
		return decideExtra(dst, j, o)
	case dst == nil:
		if j == nil {
			return Decision{ActCopy, ReasonNew}
		}
		return Decision{ActCopy, ReasonTargetMissing}
	}
	switch o.Mode {
	case ModeSizeOnly:
		return decideSize(src, dst)
	case ModeChecksum:
		return decideChecksum(src, dst)
	case ModeModTime:
		return decideModTime(src, dst)
	}
	return decideJournal(src, dst, j, o)
}

func decideExtra(dst *Object, j *JournalEntry, o DecideOptions) Decision {
	if !o.Delete {
		return Decision{ActSkip, ReasonExtraKept}
	}
	if j != nil && targetChanged(dst, j) && !o.Force {
		return Decision{ActConflict, ReasonTargetChanged}
	}
	return Decision{ActDelete, ReasonExtra}
}

func decideJournal(src, dst *Object, j *JournalEntry, o DecideOptions) Decision {
	if j == nil {
		if src.Size != dst.Size {
			return Decision{ActCopy, ReasonSizeDiffers}
		}
		return Decision{ActAdopt, ReasonUntracked}
	}
	if targetChanged(dst, j) {
		if o.Force {
			return Decision{ActCopy, ReasonForced}
		}
		return Decision{ActConflict, ReasonTargetChanged}
	}
	if src.Identity != j.SrcIdentity {
		return Decision{ActCopy, ReasonSourceChanged}
	}
	if j.Racy {
		return Decision{ActCopy, ReasonRacy}
	}
	return Decision{ActSkip, ReasonUnchanged}
}

// targetChanged reports whether the target listing differs from what evac
// wrote. An ETag is compared only when both are known.
func targetChanged(dst *Object, j *JournalEntry) bool {
	if dst.Size != j.Size {
		return true
	}
	return dst.ETag != "" && j.ETag != "" && dst.ETag != j.ETag
}

func decideSize(src, dst *Object) Decision {
	if src.Size == dst.Size {
		return Decision{ActSkip, ReasonSizeEqual}
	}
	return Decision{ActCopy, ReasonSizeDiffers}
}

func decideChecksum(src, dst *Object) Decision {
	if src.Size != dst.Size {
		return Decision{ActCopy, ReasonSizeDiffers}
	}
	if src.Checksum == "" || dst.Checksum == "" {
		return Decision{ActVerify, ReasonNoChecksum}
	}
	if src.Checksum == dst.Checksum {
		return Decision{ActSkip, ReasonChecksumEqual}
	}
	return Decision{ActCopy, ReasonChecksumDiffer}
}

func decideModTime(src, dst *Object) Decision {
	if src.Size != dst.Size {
		return Decision{ActCopy, ReasonSizeDiffers}
	}
	if dst.ModTime.Before(src.ModTime) {
		return Decision{ActCopy, ReasonTargetOlder}
	}
	return Decision{ActSkip, ReasonTargetNewer}
}
