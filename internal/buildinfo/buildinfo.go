// Package buildinfo says which build of a binary is running: its version,
// commit, commit date and toolchain, whichever way it was built.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamp is what a release build sets with -ldflags -X in its main package.
// Empty fields are filled from the build information the Go toolchain
// records, so go build, go install and the release all print something true.
type Stamp struct {
	Version string
	Commit  string
	Date    string
}

// Info describes one build. Its JSON form is what `version --json` prints.
type Info struct {
	// Version is a release tag (v1.2.3), the module version that go install
	// or go build recorded (a tag or a pseudo-version), or "devel".
	Version string `json:"version"`
	// Commit is the full revision, empty when the build recorded none
	// (go run, go install pkg@version, a build outside a git clone).
	Commit string `json:"commit,omitempty"`
	// Date is the commit's time in RFC 3339, not the time of the build, so
	// that two builds of one commit are byte for byte the same.
	Date string `json:"date,omitempty"`
	// Dirty says the work tree had uncommitted changes at build time.
	Dirty    bool   `json:"dirty,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// Devel is the version of a build that recorded none.
const Devel = "devel"

// Read describes the running binary.
func Read(s Stamp) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return FromBuildInfo(bi, s, runtime.GOOS+"/"+runtime.GOARCH)
}

// FromBuildInfo combines a stamp with recorded build information (nil when
// the binary has none); the stamp wins where both say something.
func FromBuildInfo(bi *debug.BuildInfo, s Stamp, platform string) Info {
	info := Info{Version: s.Version, Commit: s.Commit, Date: s.Date, Go: runtime.Version(), Platform: platform}
	if bi == nil {
		if info.Version == "" {
			info.Version = Devel
		}
		return info
	}
	if bi.GoVersion != "" {
		info.Go = bi.GoVersion
	}
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" {
		info.Version = Devel
	}
	var revision, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			revision = kv.Value
		case "vcs.time":
			if info.Date == "" {
				info.Date = kv.Value
			}
		case "vcs.modified":
			modified = kv.Value
		}
	}
	// The dirty flag belongs to the recorded revision: a stamp naming
	// another commit says nothing about the tree this one was built from.
	if info.Commit == "" || info.Commit == revision {
		info.Commit = revision
		info.Dirty = modified == "true"
	}
	return info
}

// String is the line after the program's name, e.g. "v1.2.3 (commit
// 0123456789ab, committed 2026-01-02T03:04:05Z, go1.26.8, linux/amd64)".
// The commit is cut to 12 hex digits, as Go's pseudo-versions cut it.
func (i Info) String() string {
	var parts []string
	if i.Commit != "" {
		parts = append(parts, "commit "+short(i.Commit))
	}
	if i.Dirty {
		parts = append(parts, "dirty")
	}
	if i.Date != "" {
		parts = append(parts, "committed "+i.Date)
	}
	parts = append(parts, i.Go)
	if i.Platform != "" {
		parts = append(parts, i.Platform)
	}
	return fmt.Sprintf("%s (%s)", i.Version, strings.Join(parts, ", "))
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
