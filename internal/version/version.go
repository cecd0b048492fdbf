// Package version reports what evac binary is running: the release version
// and commit stamped at build time, and the Go toolchain that built it.
//
// The Makefile sets both variables:
//
//	go build -ldflags "-X github.com/evac-dev/evac/internal/version.Version=v0.1.0 \
//	  -X github.com/evac-dev/evac/internal/version.Commit=$(git rev-parse --short HEAD)" ./cmd/evac
//
// Without -ldflags, Commit falls back to the VCS revision that `go build`
// embeds when it runs inside a git checkout.
package version

import (
	"runtime"
	"runtime/debug"
)

var (
	// Version is the release version ("v0.1.0"); "dev" for local builds.
	Version = "dev"
	// Commit is the git commit the binary was built from.
	Commit = ""
)

// Info is what `evac version` prints.
type Info struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// GoVersion is the Go toolchain that built the binary ("go1.26.0").
func GoVersion() string { return runtime.Version() }

// Get returns the version information of the running binary.
func Get() Info {
	return Info{
		Version:  Version,
		Commit:   commit(),
		Go:       GoVersion(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// String is the one-line form used in reports and the User-Agent:
// "evac dev (commit abc1234, go1.26.0)".
func String() string {
	i := Get()
	return "evac " + i.Version + " (commit " + i.Commit + ", " + i.Go + ")"
}

func commit() string {
	if Commit != "" {
		return Commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
