//go:build integration

package dockerjob

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// labelTest marks everything these tests create, with the run's
// dockertest.RunID, so cleanup finds it and parallel runs on one engine do
// not collide.
const labelTest = dockertest.LabelTest

// engine is what every subtest shares: one client and one tiny image.
type engine struct {
	c     *Client
	image string
	run   string
}

// testCtx bounds each test so a hung engine fails it instead of hanging.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	return dockertest.RandomHex(t, n)
}

func TestEngine(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	c, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e := &engine{c: c, run: dockertest.RunID()}
	// Registered before the image so it runs after everything else.
	t.Cleanup(func() { e.removeLeftovers(t) })
	e.image = e.buildImage(ctx, t)

	t.Run("Run", e.testRun)
	t.Run("ExecAndStop", e.testExecAndStop)
	t.Run("Mounts", e.testMounts)
	t.Run("GPURequest", e.testGPURequest)
	t.Run("NoGPU", e.testNoGPU)
	t.Run("DatasetVolume", e.testDatasetVolume)
	t.Run("UnsealedDatasetVolume", e.testUnsealedDatasetVolume)
	t.Run("SwappedFolder", e.testSwappedFolder)
	t.Run("Network", e.testNetwork)
	t.Run("ImageExists", e.testImageExists)
	t.Run("RunCancelled", e.testRunCancelled)
	t.Run("BuildImage", e.testBuildImage)
	t.Run("WaitHealthy", e.testWaitHealthy)
	t.Run("WaitPorts", e.testWaitPorts)
}

// buildImage compiles testdata/prog statically and builds it FROM scratch,
// so the tests need no registry.
func (e *engine) buildImage(ctx context.Context, t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "prog"), "./testdata/prog")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build test program: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(filepath.Join(dir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	return dockertest.BuildImage(t, e.c.api, "FROM scratch\nCOPY prog /prog\nENTRYPOINT [\"/prog\"]\n", map[string][]byte{"prog": prog})
}

// removeLeftovers removes whatever a failed test left: containers first, as
// they hold volumes and networks.
func (e *engine) removeLeftovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ct := range dockertest.Leftovers(t, e.c.api, labelTest, e.run).Containers {
		if err := e.c.Remove(ctx, ct.ID); err != nil {
			t.Errorf("remove leftover container: %v", err)
		}
	}
}

// spec is a job container of the test image, labelled for cleanup.
func (e *engine) spec(cmd ...string) Spec {
	return Spec{Image: e.image, Cmd: cmd, Labels: map[string]string{labelTest: e.run}}
}

func (e *engine) containers(ctx context.Context, t *testing.T, extra map[string]string) []container.Summary {
	t.Helper()
	f := filters.NewArgs(filters.Arg("label", labelTest+"="+e.run))
	for k, v := range extra {
		f.Add("label", k+"="+v)
	}
	cs, err := e.c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	return cs
}

// create creates a container and removes it when the test ends.
func (e *engine) create(ctx context.Context, t *testing.T, spec Spec) string {
	t.Helper()
	id, err := e.c.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.c.Remove(ctx, id); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	return id
}

// cancelOn cancels a context once word has been written to it.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	word   string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.word) {
		w.cancel()
	}
	return len(p), nil
}

func (e *engine) logs(ctx context.Context, t *testing.T, id string) string {
	t.Helper()
	rc, err := e.c.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		t.Fatalf("read logs: %v", err)
	}
	return out.String()
}

// waitForLog follows the container's output until word appears.
func (e *engine) waitForLog(ctx context.Context, t *testing.T, id, word string) {
	t.Helper()
	rc, err := e.c.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, Follow: true})
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	defer rc.Close()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &cancelOn{word: word, cancel: cancel}
	go func() {
		_, _ = stdcopy.StdCopy(w, io.Discard, rc)
	}()
	<-fctx.Done()
	if ctx.Err() != nil {
		t.Fatalf("container never printed %q: %v", word, ctx.Err())
	}
}
