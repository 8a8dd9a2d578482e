package dockerengine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/runner/dockerjob"
	"github.com/mlci/mlci/runner/jobrun"
)

func TestSpec(t *testing.T) {
	c := jobrun.Container{
		Name: "job", Image: "img:1", Entrypoint: []string{"tail"}, Cmd: []string{"-f", "/dev/null"},
		Env: map[string]string{"A": "b"}, WorkDir: "/w",
		Mounts:         []jobrun.Mount{{Source: "/state/jobs/x", Target: "/mlci", ReadOnly: true}},
		UserMounts:     []jobrun.Mount{{Source: "/r/_work", Target: "/__w"}},
		HostRoots:      []jobrun.HostRoot{{Path: "/r/_work"}, {Path: "/data", ReadOnly: true, Shared: false}},
		FirstContainer: true,
		Labels:         map[string]string{"mlci.job": "j"},
		Network:        "net", Aliases: []string{"a"}, Ports: []string{"80"},
		GPUs:    []string{"GPU-1"},
		Options: "--shm-size 1g -e X=y",
	}
	got, err := Spec(c)
	if err != nil {
		t.Fatal(err)
	}
	want := dockerjob.Spec{
		Name: "job", Image: "img:1", Entrypoint: []string{"tail"}, Cmd: []string{"-f", "/dev/null"},
		Env: map[string]string{"A": "b"}, WorkingDir: "/w",
		Mounts:         []dockerjob.Mount{{Source: "/state/jobs/x", Target: "/mlci", ReadOnly: true}},
		UserMounts:     []dockerjob.Mount{{Source: "/r/_work", Target: "/__w"}},
		HostRoots:      []dockerjob.HostRoot{{Path: "/r/_work"}, {Path: "/data", ReadOnly: true}},
		FirstContainer: true,
		Labels:         map[string]string{"mlci.job": "j"},
		Network:        "net", Aliases: []string{"a"}, Ports: []string{"80"},
		GPUs:    []string{"GPU-1"},
		Options: dockerjob.Options{ShmSize: 1 << 30, Env: map[string]string{"X": "y"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Spec (-want +got):\n%s", d)
	}
}

// Check refuses what dockerjob's policy refuses, before anything is made;
// the options string's refusals are named as the options'.
func TestCheck(t *testing.T) {
	work := t.TempDir()
	roots := []jobrun.HostRoot{{Path: work}}
	for _, tc := range []struct {
		name string
		c    jobrun.Container
		want string // part of the error; "" for none
	}{
		{name: "nothing asked", c: jobrun.Container{}},
		{name: "mount under a root", c: jobrun.Container{UserMounts: []jobrun.Mount{{Source: work, Target: "/w"}}, HostRoots: roots}},
		{name: "device variable", c: jobrun.Container{Env: map[string]string{"NVIDIA_VISIBLE_DEVICES": "all"}}, want: "NVIDIA_VISIBLE_DEVICES is refused"},
		{name: "refused option", c: jobrun.Container{Options: "--privileged"}, want: "container options: "},
		{name: "mount outside the roots", c: jobrun.Container{UserMounts: []jobrun.Mount{{Source: "/etc", Target: "/e"}}, HostRoots: roots}, want: "/etc"},
		{name: "option mount outside the roots", c: jobrun.Container{Options: "-v /etc:/e", HostRoots: roots}, want: "container options: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.c)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Check = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
