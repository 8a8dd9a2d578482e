package dockerjob

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCheckUserMount plants what a job can leave in its workspace (links to
// the Docker socket, to /, to /dev) and asks for what a job can ask for in
// container.volumes or -v; only folders under the allowed roots, reached
// without links, get through, and the engine is given the resolved path.
func TestCheckUserMount(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "runner", "_work")
	ext := filepath.Join(dir, "runner", "externals")
	shared := filepath.Join(dir, "shared")
	for _, d := range []string{filepath.Join(work, "repo", "data"), ext, shared} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "runner", ".credentials"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"x.sock":      "/var/run/docker.sock",
		"root":        "/",
		"dev":         "/dev",
		"inside":      filepath.Join(work, "repo"),
		"repo/parent": "..",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A root reached through a link resolves to the real folder.
	viaLink := filepath.Join(dir, "work-link")
	if err := os.Symlink(work, viaLink); err != nil {
		t.Fatal(err)
	}
	roots := []HostRoot{{Path: work}, {Path: ext, ReadOnly: true}, {Path: shared, ReadOnly: true}, {Path: viaLink}}

	tests := []struct {
		name    string
		m       Mount
		want    string // resolved source; "" when refused
		wantErr string
	}{
		{"workspace itself", Mount{Source: work, Target: "/__w"}, work, ""},
		{"folder in the workspace", Mount{Source: work + "/repo/data", Target: "/d"}, work + "/repo/data", ""},
		{"dotdot inside the workspace", Mount{Source: work + "/repo/../repo/data", Target: "/d"}, work + "/repo/data", ""},
		{"read-only root read-only", Mount{Source: shared, Target: "/s", ReadOnly: true}, shared, ""},
		{"root named through a link", Mount{Source: viaLink + "/repo", Target: "/r"}, work + "/repo", ""},
		{"named volume", Mount{Source: "pip-cache", Target: "/c", Volume: true}, "pip-cache", ""},
		{"anonymous volume", Mount{Target: "/c", Volume: true}, "", ""},

		{"link to the docker socket", Mount{Source: work + "/x.sock", Target: "/x"}, "", "symbolic link"},
		{"link to the host root", Mount{Source: work + "/root", Target: "/h"}, "", "symbolic link"},
		{"through a link to the host root", Mount{Source: work + "/root/etc", Target: "/h"}, "", "symbolic link"},
		{"link to /dev", Mount{Source: work + "/dev", Target: "/h"}, "", "symbolic link"},
		{"link that stays inside", Mount{Source: work + "/inside", Target: "/h"}, "", "symbolic link"},
		{"link up one level", Mount{Source: work + "/repo/parent/x.sock", Target: "/h"}, "", "symbolic link"},
		{"dotdot out of the workspace", Mount{Source: work + "/../.credentials", Target: "/c"}, "", "allow_mounts"},
		{"runner folder", Mount{Source: filepath.Join(dir, "runner"), Target: "/r"}, "", "allow_mounts"},
		{"host etc", Mount{Source: "/etc", Target: "/h"}, "", "allow_mounts"},
		{"host var lib", Mount{Source: "/var/lib", Target: "/h"}, "", "allow_mounts"},
		{"host root", Mount{Source: "/", Target: "/h"}, "", "Docker socket"},
		{"read-only root written", Mount{Source: ext, Target: "/__e"}, "", "must be read-only"},
		{"missing folder", Mount{Source: work + "/nope", Target: "/n"}, "", "does not exist"},
		{"dataset volume", Mount{Source: "mlci-data-blake3-0123456789abcdef0123456789abcdef", Target: "/d", Volume: true}, "", "belong to mlci-runner"},
		{"cache volume", Mount{Source: "mlci-cache-gitlab.com-42", Target: "/cache", Volume: true}, "", "belong to mlci-runner"},
		{"volume over the hidden mounts", Mount{Source: "mine", Target: "/.mlci-mounts/0", Volume: true}, "", "where mlci-runner mounts folders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rel, err := checkUserMount(tt.m, roots)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("checkUserMount(%+v) = %+v, %v; want an error containing %q", tt.m, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("checkUserMount(%+v): %v", tt.m, err)
			}
			if p := filepath.Join(got.Source, rel); got.Source != "" && p != tt.want || got.Source == "" && tt.want != "" {
				t.Errorf("source = %q + %q, want %q", got.Source, rel, tt.want)
			}
		})
	}
}

// TestComposeRefusesUnlistedBinds: with no roots nothing on the host can be
// mounted, and the refusal is typed so callers can tell policy from typos.
func TestComposeRefusesUnlistedBinds(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []Spec{
		{Image: "i", UserMounts: []Mount{{Source: dir, Target: "/d"}}},
		{Image: "i", Options: Options{Mounts: []Mount{{Source: dir, Target: "/d"}}}},
		{Image: "i", Options: Options{Mounts: []Mount{{Source: "mlci-data-sha256-00", Target: "/d", Volume: true}}}},
	} {
		_, err := Compose(spec)
		var refused *MountRefusedError
		if !errors.As(err, &refused) {
			t.Errorf("Compose(%+v) = %v, want a MountRefusedError", spec, err)
		}
	}
	// mlci-runner's own mounts are not the job's: its dataset volumes and
	// job folder are taken as they are.
	if _, err := Compose(Spec{Image: "i", Mounts: []Mount{{Source: "mlci-data-sha256-00", Target: "/d", Volume: true, ReadOnly: true}, {Source: dir, Target: "/mlci", ReadOnly: true}}}); err != nil {
		t.Errorf("Compose refused the runner's own mounts: %v", err)
	}
}

// TestComposeLinksSubFolders: a sub-folder of an allowed folder is not
// handed to the engine as a path it would resolve at start; the folder is
// mounted whole at a hidden place and the target is a link into it, which
// the container resolves in its own file system.
func TestComposeLinksSubFolders(t *testing.T) {
	work := t.TempDir()
	for _, d := range []string{"repo/data", "_temp/_github_home"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	req, err := Compose(Spec{
		Image: "i",
		UserMounts: []Mount{
			{Source: work, Target: "/__w"},
			{Source: work + "/_temp/_github_home", Target: "/github/home"},
			// In view through /__w already, as the runner mounts it.
			{Source: work + "/_temp", Target: "/__w/_temp"},
		},
		Options:   Options{Mounts: []Mount{{Source: work + "/repo/data", Target: "/data/", ReadOnly: true}}},
		HostRoots: []HostRoot{{Path: work}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range req.Host.Mounts {
		got = append(got, fmt.Sprintf("%s:%s:%v", m.Source, m.Target, m.ReadOnly))
	}
	want := []string{work + ":/__w:false", work + ":/.mlci-mounts/0:false", work + ":/.mlci-mounts/1:true"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("mounts (-want +got):\n%s", d)
	}
	wantLinks := []Link{{Path: "/github/home", Target: "/.mlci-mounts/0/_temp/_github_home"}, {Path: "/data", Target: "/.mlci-mounts/1/repo/data"}}
	if d := cmp.Diff(wantLinks, req.Links); d != "" {
		t.Errorf("links (-want +got):\n%s", d)
	}
	// The first container of a job: nothing of the job runs yet, so the
	// sub-folders are mounted by their resolved paths, no links.
	first, err := Compose(Spec{Image: "i", UserMounts: []Mount{{Source: work, Target: "/__w"}, {Source: work + "/_temp/_github_home", Target: "/github/home"}},
		HostRoots: []HostRoot{{Path: work}}, FirstContainer: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Links) != 0 || len(first.Host.Mounts) != 2 || first.Host.Mounts[1].Source != work+"/_temp/_github_home" {
		t.Errorf("first container: mounts %+v, links %+v; want both mounted directly", first.Host.Mounts, first.Links)
	}
	// A writable folder other jobs share is raced from outside the job:
	// links even in the first container.
	shared, err := Compose(Spec{Image: "i", UserMounts: []Mount{{Source: work + "/repo/data", Target: "/data"}},
		HostRoots: []HostRoot{{Path: work, Shared: true}}, FirstContainer: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(shared.Links) != 1 {
		t.Errorf("first container, shared folder: links %+v; want the sub-folder linked", shared.Links)
	}
	inside := Spec{Image: "i", UserMounts: []Mount{{Source: work, Target: "/__w"}, {Source: work + "/repo/data", Target: "/__w/elsewhere"}}, HostRoots: []HostRoot{{Path: work}}}
	if _, err := Compose(inside); err == nil || !strings.Contains(err.Error(), "inside the mount at /__w") {
		t.Errorf("a sub-folder mounted inside another mount: %v; want it refused (its link would be written into the workspace)", err)
	}
	if _, err := Compose(Spec{Image: "i", UserMounts: []Mount{{Source: work, Target: "/.mlci-mounts/0"}}, HostRoots: []HostRoot{{Path: work}}}); err == nil {
		t.Error("a job could mount over mlci-runner's hidden mounts")
	}
}
