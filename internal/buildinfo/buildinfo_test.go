package buildinfo

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"testing"
)

const rev = "a96ce7e0123456789abcdef0123456789abcdef0"

func settings(kv ...string) []debug.BuildSetting {
	var s []debug.BuildSetting
	for i := 0; i+1 < len(kv); i += 2 {
		s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
	}
	return s
}

func TestFromBuildInfo(t *testing.T) {
	vcs := settings("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-05-01T10:00:00Z", "vcs.modified", "false")
	for _, tt := range []struct {
		name  string
		bi    *debug.BuildInfo
		stamp Stamp
		want  Info
		line  string
	}{
		{
			name: "go run: nothing recorded",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/mlci/mlci", Version: "(devel)"}},
			want: Info{Version: "devel", Go: "go1.26.8", Platform: "linux/amd64"},
			line: "devel (go1.26.8, linux/amd64)",
		},
		{
			name: "go build in a clean clone",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260501100000-a96ce7e01234"},
				Settings: vcs},
			want: Info{Version: "v0.0.0-20260501100000-a96ce7e01234", Commit: rev, Date: "2026-05-01T10:00:00Z", Go: "go1.26.8", Platform: "linux/amd64"},
			line: "v0.0.0-20260501100000-a96ce7e01234 (commit a96ce7e01234, committed 2026-05-01T10:00:00Z, go1.26.8, linux/amd64)",
		},
		{
			name: "go build with uncommitted changes",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260501100000-a96ce7e01234+dirty"},
				Settings: settings("vcs.revision", rev, "vcs.time", "2026-05-01T10:00:00Z", "vcs.modified", "true")},
			want: Info{Version: "v0.0.0-20260501100000-a96ce7e01234+dirty", Commit: rev, Date: "2026-05-01T10:00:00Z", Dirty: true, Go: "go1.26.8", Platform: "linux/amd64"},
			line: "v0.0.0-20260501100000-a96ce7e01234+dirty (commit a96ce7e01234, dirty, committed 2026-05-01T10:00:00Z, go1.26.8, linux/amd64)",
		},
		{
			name: "go install at a tag: the module version, no vcs",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			want: Info{Version: "v1.2.3", Go: "go1.26.8", Platform: "linux/amd64"},
			line: "v1.2.3 (go1.26.8, linux/amd64)",
		},
		{
			name:  "release: the stamp wins over the pseudo-version",
			bi:    &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: vcs},
			stamp: Stamp{Version: "v1.2.3", Commit: rev, Date: "2026-05-01T10:00:00Z"},
			want:  Info{Version: "v1.2.3", Commit: rev, Date: "2026-05-01T10:00:00Z", Go: "go1.26.8", Platform: "linux/amd64"},
			line:  "v1.2.3 (commit a96ce7e01234, committed 2026-05-01T10:00:00Z, go1.26.8, linux/amd64)",
		},
		{
			name:  "stamp of another commit: the recorded dirty flag is not its own",
			bi:    &debug.BuildInfo{GoVersion: "go1.26.8", Settings: settings("vcs.revision", rev, "vcs.modified", "true")},
			stamp: Stamp{Version: "v1.2.3", Commit: "0123456789abcdef", Date: "2026-04-01T00:00:00Z"},
			want:  Info{Version: "v1.2.3", Commit: "0123456789abcdef", Date: "2026-04-01T00:00:00Z", Go: "go1.26.8", Platform: "linux/amd64"},
			line:  "v1.2.3 (commit 0123456789ab, committed 2026-04-01T00:00:00Z, go1.26.8, linux/amd64)",
		},
		{
			name:  "image built without .git: only the stamp's version",
			bi:    &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			stamp: Stamp{Version: "v1.2.3"},
			want:  Info{Version: "v1.2.3", Go: "go1.26.8", Platform: "linux/amd64"},
			line:  "v1.2.3 (go1.26.8, linux/amd64)",
		},
		{
			name: "no build information at all",
			want: Info{Version: "devel", Go: runtime.Version(), Platform: "linux/amd64"},
			line: "devel (" + runtime.Version() + ", linux/amd64)",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := FromBuildInfo(tt.bi, tt.stamp, "linux/amd64")
			if got != tt.want {
				t.Errorf("FromBuildInfo = %+v\nwant %+v", got, tt.want)
			}
			if s := got.String(); s != tt.line {
				t.Errorf("String() = %q\nwant %q", s, tt.line)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	for _, tt := range []struct {
		name string
		info Info
		want string
	}{
		{"devel leaves out what is unknown", Info{Version: "devel", Go: "go1.26.8", Platform: "linux/arm64"},
			`{"version":"devel","go":"go1.26.8","platform":"linux/arm64"}`},
		{"everything", Info{Version: "v1.2.3", Commit: rev, Date: "2026-05-01T10:00:00Z", Dirty: true, Go: "go1.26.8", Platform: "darwin/arm64"},
			`{"version":"v1.2.3","commit":"` + rev + `","date":"2026-05-01T10:00:00Z","dirty":true,"go":"go1.26.8","platform":"darwin/arm64"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.info)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

// The test binary itself has build information, so Read says something
// about it whatever the platform.
func TestReadRunningBinary(t *testing.T) {
	got := Read(Stamp{Version: "v9.9.9"})
	if got.Version != "v9.9.9" || got.Go != runtime.Version() || got.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("Read = %+v", got)
	}
}
