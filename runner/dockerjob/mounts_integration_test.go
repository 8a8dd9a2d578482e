//go:build integration

package dockerjob

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testSwappedFolder: a job swaps the folder it asked to mount for a link to
// the host's /var/run after mlci-runner checked it and before the engine
// mounts it at start (a job's own background process, or a service, can).
// The engine must not follow the link on the host: the container sees its
// own /var/run through the link, never the Docker socket.
func (e *engine) testSwappedFolder(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	work := t.TempDir()
	sub := filepath.Join(work, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	s := e.spec("sleep")
	s.UserMounts = []Mount{{Source: sub, Target: "/x"}}
	s.HostRoots = []HostRoot{{Path: work}}
	id, err := e.c.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.Remove(testCtx(t, time.Minute), id) })

	if err := os.Rename(sub, sub+".checked"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/var/run", sub); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code, err := e.c.Exec(ctx, id, ExecSpec{Cmd: []string{"/prog", "ls", "/x"}, Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "docker.sock") {
		t.Fatalf("the job sees the host's /var/run through the swapped folder: %s", out.String())
	}
	ins, err := e.c.api.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ins.Mounts {
		if strings.HasPrefix(m.Source, "/var/run") || strings.HasPrefix(m.Source, "/run") {
			t.Errorf("docker inspect: %s mounted from %s", m.Destination, m.Source)
		}
	}
	t.Logf("ls /x in the container: exit %d, %q %q", code, out.String(), errOut.String())
}
