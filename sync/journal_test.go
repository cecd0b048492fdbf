package sync

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestJournalRoundTripAndOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := OpenJournal(path, JournalOptions{BatchSize: 3, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"a/b", "a-b", "b", "a/c", "ab"}
	for i, k := range keys {
		if err := j.Put(k, JournalEntry{SrcIdentity: fmt.Sprint("id", i), Size: int64(i), ETag: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	if j.Commits() != 1 {
		t.Fatalf("commits = %d, want 1 (batch of 3)", j.Commits())
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for r, err := range j.Entries("") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Key)
	}
	if fmt.Sprint(got) != "[a-b a/b a/c ab b]" {
		t.Fatalf("entries = %v", got)
	}
	got = nil
	for r := range j.Entries("a/") {
		got = append(got, r.Key)
	}
	if fmt.Sprint(got) != "[a/b a/c]" {
		t.Fatalf("prefix entries = %v", got)
	}
	// Second opener is refused while the first holds the lock.
	_, err = OpenJournal(path, JournalOptions{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrJournalLocked) {
		t.Fatalf("second open: %v, want ErrJournalLocked", err)
	}
	if err := j.Delete("b"); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// The snapshot is a complete journal (resume on another machine).
	p2 := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(p2, snap.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	j2, err := OpenJournal(p2, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	e, err := j2.Get("a/c")
	if err != nil || e == nil || e.SrcIdentity != "id3" {
		t.Fatalf("Get a/c = %+v, %v", e, err)
	}
	if e, _ := j2.Get("b"); e != nil {
		t.Fatalf("deleted key still present: %+v", e)
	}
}

func TestJournalUncommittedLostOnCrash(t *testing.T) {
	// A staged entry not yet committed is not durable: reopening (as after
	// kill -9, simulated by copying the file) does not see it.
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := OpenJournal(path, JournalOptions{BatchSize: 100, FlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_ = j.Put("x", JournalEntry{Size: 1})
	var snap bytes.Buffer
	if _, err := j.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	p2 := filepath.Join(t.TempDir(), "c.db")
	_ = os.WriteFile(p2, snap.Bytes(), 0o600)
	j2, err := OpenJournal(p2, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if e, _ := j2.Get("x"); e != nil {
		t.Fatalf("uncommitted entry visible after crash: %+v", e)
	}
}
