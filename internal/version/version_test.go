package version

import (
	"runtime"
	"strings"
	"testing"
)

func TestGetUsesStampedValues(t *testing.T) {
	oldV, oldC := Version, Commit
	t.Cleanup(func() { Version, Commit = oldV, oldC })
	Version, Commit = "v1.2.3", "abc1234"

	i := Get()
	if i.Version != "v1.2.3" || i.Commit != "abc1234" || i.Go != runtime.Version() {
		t.Fatalf("Get() = %+v", i)
	}
	want := "evac v1.2.3 (commit abc1234, " + runtime.Version() + ")"
	if got := String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestCommitFallback(t *testing.T) {
	oldC := Commit
	t.Cleanup(func() { Commit = oldC })
	Commit = ""
	if c := Get().Commit; c == "" || strings.ContainsAny(c, " \n") {
		t.Fatalf("fallback commit %q", c)
	}
}
