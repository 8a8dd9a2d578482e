//go:build integration

package dockerjob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

func (e *engine) testRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		spec       Spec
		wantCode   int
		wantStdout []string // lines that must appear
		wantStderr string
	}{
		{name: "output", spec: e.spec("echo", "hello", "world"), wantStdout: []string{"hello", "world"}},
		{name: "exit code", spec: e.spec("exit", "3"), wantCode: 3},
		{name: "stderr apart from stdout", spec: e.spec("stderr", "oops"), wantStderr: "oops\n"},
		{name: "env", spec: func() Spec {
			s := e.spec("env")
			s.Env = map[string]string{"FOO": "bar"}
			s.Options = Options{Env: map[string]string{"OPT": "1"}}
			return s
		}(), wantStdout: []string{"FOO=bar", "OPT=1", "NVIDIA_VISIBLE_DEVICES=void"}},
		{name: "workdir", spec: func() Spec {
			s := e.spec("pwd")
			s.WorkingDir = "/job/work"
			return s
		}(), wantStdout: []string{"/job/work"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t, time.Minute)
			tt.spec.Labels["mlci.case"] = strconv.Itoa(i)
			var stdout, stderr bytes.Buffer
			code, err := e.c.Run(ctx, tt.spec, &stdout, &stderr)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			lines := strings.Split(stdout.String(), "\n")
			for _, w := range tt.wantStdout {
				if !slices.Contains(lines, w) {
					t.Errorf("stdout %q lacks line %q", stdout.String(), w)
				}
			}
			if tt.wantStderr != "" && stderr.String() != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantStderr != "" && stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			if cs := e.containers(ctx, t, map[string]string{"mlci.case": strconv.Itoa(i)}); len(cs) != 0 {
				t.Errorf("Run left %d containers behind", len(cs))
			}
		})
	}
}

func (e *engine) testExecAndStop(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	spec := e.spec("sleep")
	spec.Labels["mlci.case"] = "exec"
	spec.Env = map[string]string{"JOB": "1"}
	spec.WorkingDir = "/job"
	id := e.create(ctx, t, spec)
	if err := e.c.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.waitForLog(ctx, t, id, "ready")

	tests := []struct {
		name     string
		exec     ExecSpec
		wantCode int
		wantOut  []string
	}{
		{"env reaches the exec", ExecSpec{Cmd: []string{"/prog", "env"}, Env: map[string]string{"STEP": "2"}},
			0, []string{"STEP=2", "JOB=1", "NVIDIA_VISIBLE_DEVICES=void"}},
		{"container workdir", ExecSpec{Cmd: []string{"/prog", "pwd"}}, 0, []string{"/job"}},
		{"exec workdir", ExecSpec{Cmd: []string{"/prog", "pwd"}, WorkingDir: "/"}, 0, []string{"/"}},
		{"exit 0", ExecSpec{Cmd: []string{"/prog", "exit", "0"}}, 0, nil},
		{"exit 3", ExecSpec{Cmd: []string{"/prog", "exit", "3"}}, 3, nil},
		{"stdin", ExecSpec{Cmd: []string{"/prog", "stdin"}, Stdin: strings.NewReader("piped\n")}, 0, []string{"piped"}},
		{"user honoured: nobody cannot write root-owned /job", ExecSpec{Cmd: []string{"/prog", "write", "/job/x", "y"}, User: "65534"}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			tt.exec.Stdout, tt.exec.Stderr = &out, &errOut
			code, err := e.c.Exec(ctx, id, tt.exec)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, errOut.String())
			}
			lines := strings.Split(out.String(), "\n")
			for _, w := range tt.wantOut {
				if !slices.Contains(lines, w) {
					t.Errorf("stdout %q lacks line %q", out.String(), w)
				}
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// Cancel once the command is known to run, so no timing is assumed.
		w := &cancelOn{word: "ready", cancel: cancel}
		_, err := e.c.Exec(cctx, id, ExecSpec{Cmd: []string{"/prog", "sleep"}, Stdout: w})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Exec after cancel = %v, want context.Canceled", err)
		}
	})

	alpine, err := e.c.IsAlpine(ctx, id)
	if err != nil || alpine {
		t.Errorf("IsAlpine = %v, %v; want false, nil", alpine, err)
	}

	if err := e.c.Stop(ctx, id, 30*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	ins, err := e.c.api.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ins.State.Running || ins.State.ExitCode != 0 {
		t.Errorf("after Stop: running %v, exit code %d; want stopped with 0 (SIGTERM handled, not killed)", ins.State.Running, ins.State.ExitCode)
	}
	if logs := e.logs(ctx, t, id); !strings.Contains(logs, "terminated") {
		t.Errorf("logs %q lack \"terminated\": SIGTERM did not reach the program within the grace period", logs)
	}

	if err := e.c.Remove(ctx, id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := e.c.Remove(ctx, id); err != nil {
		t.Errorf("second Remove: %v, want nil", err)
	}
	if err := e.c.Stop(ctx, id, 0); err != nil {
		t.Errorf("Stop of removed container: %v, want nil", err)
	}
	if ok, err := e.c.Exists(ctx, id); err != nil || ok {
		t.Errorf("Exists after Remove = %v, %v; want false, nil", ok, err)
	}
	if cs := e.containers(ctx, t, map[string]string{"mlci.case": "exec"}); len(cs) != 0 {
		t.Errorf("Remove left %d containers", len(cs))
	}
	if _, err := e.c.IsAlpine(ctx, id); err == nil {
		t.Error("IsAlpine of a removed container succeeded; want an error")
	}
}

func (e *engine) testMounts(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "in.txt"), []byte("from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(cmd ...string) (int, string, string) {
		t.Helper()
		s := e.spec(cmd...)
		// As the test's own user, so files written land owned by it.
		s.User = strconv.Itoa(os.Getuid())
		s.Mounts = []Mount{{Source: ro, Target: "/ro", ReadOnly: true}}
		s.Options = Options{Mounts: []Mount{{Source: rw, Target: "/rw"}}}
		s.HostRoots = []HostRoot{{Path: rw}}
		var out, errOut bytes.Buffer
		code, err := e.c.Run(ctx, s, &out, &errOut)
		if err != nil {
			t.Fatalf("Run %v: %v", cmd, err)
		}
		return code, out.String(), errOut.String()
	}
	if code, out, _ := run("cat", "/ro/in.txt"); code != 0 || out != "from host" {
		t.Errorf("cat from read-only bind = %d %q, want 0 \"from host\"", code, out)
	}
	if code, _, errOut := run("write", "/rw/out.txt", "from job"); code != 0 {
		t.Errorf("write to read-write bind exited %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(rw, "out.txt")); err != nil || string(b) != "from job" {
		t.Errorf("host sees %q, %v; want \"from job\"", b, err)
	}
	code, _, errOut := run("write", "/ro/out.txt", "x")
	if code == 0 || !strings.Contains(errOut, "read-only") {
		t.Errorf("write to read-only bind = %d %q, want failure with read-only file system", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(ro, "out.txt")); err == nil {
		t.Error("write to read-only bind reached the host")
	}
}

func (e *engine) testGPURequest(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	spec := e.spec("env")
	spec.GPUs = []string{"GPU-aaaa", "GPU-bbbb"}
	// Not started: this engine has no NVIDIA runtime to honour the request.
	id := e.create(ctx, t, spec)
	ins, err := e.c.api.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []container.DeviceRequest{{Driver: "", Count: 0, DeviceIDs: []string{"GPU-aaaa", "GPU-bbbb"}, Capabilities: [][]string{{"gpu"}}}}
	if d := cmp.Diff(want, ins.HostConfig.DeviceRequests); d != "" {
		t.Errorf("DeviceRequests (-want +got):\n%s", d)
	}
	for _, env := range []string{"NVIDIA_VISIBLE_DEVICES=GPU-aaaa,GPU-bbbb", "MLCI_GPUS=GPU-aaaa,GPU-bbbb"} {
		if !slices.Contains(ins.Config.Env, env) {
			t.Errorf("env %v lacks %s", ins.Config.Env, env)
		}
	}
	e.checkHardening(t, ins)
}

func (e *engine) testNoGPU(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	id := e.create(ctx, t, e.spec("env"))
	ins, err := e.c.api.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins.HostConfig.DeviceRequests) != 0 {
		t.Errorf("DeviceRequests = %+v, want none", ins.HostConfig.DeviceRequests)
	}
	if !slices.Contains(ins.Config.Env, "NVIDIA_VISIBLE_DEVICES=void") {
		t.Errorf("env %v lacks NVIDIA_VISIBLE_DEVICES=void", ins.Config.Env)
	}
	e.checkHardening(t, ins)
}

func (e *engine) checkHardening(t *testing.T, ins container.InspectResponse) {
	t.Helper()
	h := ins.HostConfig
	if h.Privileged {
		t.Error("Privileged is true")
	}
	if h.Init == nil || !*h.Init {
		t.Error("Init is not true")
	}
	if !slices.Contains(h.SecurityOpt, "no-new-privileges") {
		t.Errorf("SecurityOpt = %v, want no-new-privileges", h.SecurityOpt)
	}
	if ins.Config.Labels[LabelRunner] != "1" || ins.Config.Labels[labelTest] != e.run {
		t.Errorf("labels = %v, want %s=1 and the test label", ins.Config.Labels, LabelRunner)
	}
	for _, env := range ins.Config.Env {
		if strings.HasPrefix(env, "CUDA_VISIBLE_DEVICES=") {
			t.Errorf("env has %s", env)
		}
	}
}

// datasetDigest gives a dataset digest of this run and its volume's name,
// removed when the test ends.
func (e *engine) datasetDigest(t *testing.T) (digest, name string) {
	t.Helper()
	// Holding the run's ID, the volume's mlci.digest marks it as this
	// run's for dockertest.Main.
	digest = "sha256:" + e.run + randHex(t, 26)
	name, err := DatasetVolumeName(digest)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.c.api.VolumeRemove(ctx, name, true); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove dataset volume: %v", err)
		}
	})
	return digest, name
}

func (e *engine) testDatasetVolume(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	digest, name := e.datasetDigest(t)
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for p, body := range map[string]string{"a.txt": "alpha", "sub/b.txt": "beta"} {
		if err := os.WriteFile(filepath.Join(src, p), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	got, err := e.c.DatasetVolume(ctx, digest, src, e.image)
	if err != nil {
		t.Fatalf("first DatasetVolume: %v", err)
	}
	if got != name {
		t.Errorf("DatasetVolume = %q, want %q", got, name)
	}
	v, err := e.c.api.VolumeInspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if v.Labels[LabelDigest] != digest || v.Labels[LabelSealed] == "" {
		t.Errorf("volume labels = %v, want %s=%s and %s", v.Labels, LabelDigest, digest, LabelSealed)
	}
	// A second call must reuse the complete volume: a file added to the
	// source now would appear only if it copied again.
	if err := os.WriteFile(filepath.Join(src, "sentinel"), []byte("late"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := e.c.DatasetVolume(ctx, digest, src, e.image); err != nil || got != name {
		t.Fatalf("second DatasetVolume = %q, %v; want %q", got, err, name)
	}

	run := func(cmd ...string) (int, string, string) {
		t.Helper()
		s := e.spec(cmd...)
		s.User = "65534" // nobody: the cache must be readable by any job user
		s.Mounts = []Mount{{Source: name, Target: "/data", ReadOnly: true, Volume: true}}
		var out, errOut bytes.Buffer
		code, err := e.c.Run(ctx, s, &out, &errOut)
		if err != nil {
			t.Fatalf("Run %v: %v", cmd, err)
		}
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("ls", "/data")
	if code != 0 {
		t.Fatalf("ls /data exited %d: %s", code, errOut)
	}
	if d := cmp.Diff([]string{".mlci-complete", "a.txt", "sub"}, strings.Fields(out)); d != "" {
		t.Errorf("volume content (-want +got):\n%s", d)
	}
	if code, out, errOut := run("cat", "/data/sub/b.txt"); code != 0 || out != "beta" {
		t.Errorf("cat /data/sub/b.txt = %d %q %q, want 0 \"beta\"", code, out, errOut)
	}
	if code, _, _ := run("write", "/data/a.txt", "changed"); code == 0 {
		t.Error("a job could write to the read-only dataset")
	}
	if cs := e.containers(ctx, t, map[string]string{LabelDigest: digest}); len(cs) != 0 {
		t.Errorf("DatasetVolume left %d helper containers", len(cs))
	}
}

// testUnsealedDatasetVolume: a dataset volume made before jobs were kept
// off mlci-runner's volumes may hold bytes a job wrote; it is filled again
// from the host folder rather than trusted.
func (e *engine) testUnsealedDatasetVolume(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	digest, name := e.datasetDigest(t)
	// What an older mlci-runner made, then a job poisoned while the
	// complete marker stayed.
	if _, err := e.c.api.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: map[string]string{LabelRunner: "1", LabelDigest: digest, labelTest: e.run}}); err != nil {
		t.Fatal(err)
	}
	for _, w := range [][]string{{"/data/a.txt", "poisoned"}, {"/data/" + CompleteMarker, digest + "\n"}} {
		poison := e.spec("write", w[0], w[1])
		poison.Mounts = []Mount{{Source: name, Target: "/data", Volume: true}}
		if code, err := e.c.Run(ctx, poison, io.Discard, io.Discard); err != nil || code != 0 {
			t.Fatalf("poisoning the volume: %d %v", code, err)
		}
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DatasetVolume(ctx, digest, src, e.image); err != nil {
		t.Fatal(err)
	}
	read := e.spec("cat", "/data/a.txt")
	read.Mounts = []Mount{{Source: name, Target: "/data", Volume: true, ReadOnly: true}}
	var out bytes.Buffer
	if code, err := e.c.Run(ctx, read, &out, io.Discard); err != nil || code != 0 || out.String() != "alpha" {
		t.Errorf("dataset volume holds %q (%d %v), want the host folder's \"alpha\"", out.String(), code, err)
	}
}

func (e *engine) testNetwork(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	name := "mlci-test-net-" + e.run
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.c.RemoveNetwork(ctx, name); err != nil {
			t.Errorf("RemoveNetwork: %v", err)
		}
	})
	id1, err := e.c.EnsureNetwork(ctx, name, map[string]string{labelTest: e.run})
	if err != nil {
		t.Fatalf("EnsureNetwork: %v", err)
	}
	id2, err := e.c.EnsureNetwork(ctx, name, nil)
	if err != nil || id2 != id1 {
		t.Fatalf("second EnsureNetwork = %q, %v; want %q", id2, err, id1)
	}
	n, err := e.c.api.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[LabelRunner] != "1" || n.Labels[labelTest] != e.run {
		t.Errorf("network labels = %v", n.Labels)
	}
	s := e.spec("echo", "on the network")
	s.Network = name
	if code, err := e.c.Run(ctx, s, io.Discard, io.Discard); err != nil || code != 0 {
		t.Errorf("Run on network = %d, %v", code, err)
	}
	if err := e.c.RemoveNetwork(ctx, name); err != nil {
		t.Fatalf("RemoveNetwork: %v", err)
	}
	if err := e.c.RemoveNetwork(ctx, name); err != nil {
		t.Errorf("second RemoveNetwork: %v, want nil", err)
	}
}

func (e *engine) testImageExists(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	tests := []struct {
		name string
		ref  string
		want bool
	}{
		{"built", e.image, true},
		{"absent", "mlci-dockerjob-test:absent-" + e.run, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.c.ImageExists(ctx, tt.ref)
			if err != nil || got != tt.want {
				t.Errorf("ImageExists(%s) = %v, %v; want %v", tt.ref, got, err, tt.want)
			}
		})
	}
	s := e.spec("env")
	s.Image = "mlci-dockerjob-test:absent-" + e.run
	if _, err := e.c.Create(ctx, s); err == nil || !strings.Contains(err.Error(), "is not on this host") {
		t.Errorf("Create with a missing image: %v, want \"is not on this host\"", err)
	}
}

func (e *engine) testRunCancelled(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := e.spec("sleep")
	s.Labels["mlci.case"] = "cancelled"
	_, err := e.c.Run(cctx, s, &cancelOn{word: "ready", cancel: cancel}, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
	if cs := e.containers(ctx, t, map[string]string{"mlci.case": "cancelled"}); len(cs) != 0 {
		t.Errorf("cancelled Run left %d containers", len(cs))
	}
}

// A Dockerfile action is built with its folder as the context and then
// runs like any image; a broken Dockerfile is one clear error.
func (e *engine) testBuildImage(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM "+e.image+"\nCOPY msg.txt /msg.txt\n")
	write("msg.txt", "built from the action's folder\n")
	var log bytes.Buffer
	tag, err := e.c.BuildImage(ctx, filepath.Join(dir, "Dockerfile"), &log)
	if err != nil {
		t.Fatalf("BuildImage: %v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		_, _ = e.c.api.ImageRemove(context.WithoutCancel(ctx), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	if !strings.Contains(log.String(), "COPY msg.txt") {
		t.Errorf("build log does not reach the job log:\n%s", log.String())
	}
	s := e.spec("cat", "/msg.txt")
	s.Image = tag
	var stdout bytes.Buffer
	code, err := e.c.Run(ctx, s, &stdout, io.Discard)
	if err != nil || code != 0 || stdout.String() != "built from the action's folder\n" {
		t.Errorf("run of the built image: code %d, err %v, stdout %q", code, err, stdout.String())
	}
	write("Dockerfile", "FROM "+e.image+"\nCOPY missing.txt /\n")
	if _, err := e.c.BuildImage(ctx, filepath.Join(dir, "Dockerfile"), io.Discard); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("broken Dockerfile: err = %v; want one naming missing.txt", err)
	}
}

// Service containers are waited for until their health check passes; a
// failing check or an exited container is an error naming why.
func (e *engine) testWaitHealthy(t *testing.T) {
	t.Parallel()
	check := func(args ...string) *container.HealthConfig {
		return &container.HealthConfig{Test: append([]string{"CMD", "/prog"}, args...), Interval: 100 * time.Millisecond, Timeout: 5 * time.Second, Retries: 1}
	}
	tests := []struct {
		name    string
		cmd     []string
		health  *container.HealthConfig
		wantErr string
	}{
		{name: "healthy", cmd: []string{"sleep", "60"}, health: check("exit", "0")},
		{name: "no health check", cmd: []string{"sleep", "60"}},
		{name: "unhealthy", cmd: []string{"sleep", "60"}, health: check("exit", "1"), wantErr: "unhealthy"},
		{name: "exited", cmd: []string{"exit", "4"}, wantErr: "exited (code 4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t, time.Minute)
			s := e.spec(tt.cmd...)
			s.Options.Health = tt.health
			id, err := e.c.Create(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.c.Remove(context.WithoutCancel(ctx), id) })
			if err := e.c.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
			if tt.name == "exited" {
				// Let it exit first, so the wait sees a stopped container.
				waitC, errC := e.c.api.ContainerWait(ctx, id, container.WaitConditionNotRunning)
				select {
				case <-waitC:
				case err := <-errC:
					t.Fatal(err)
				}
			}
			err = e.c.WaitHealthy(ctx, id, 30*time.Second)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("WaitHealthy: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("WaitHealthy = %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// A service's exposed port is waited for until it opens; one that never
// opens is an error after the timeout.
func (e *engine) testWaitPorts(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	img := dockertest.BusyboxImage(t, e.c.api, "sh", "sleep", "httpd")
	nw := "mlci-ports-" + e.run
	if _, err := e.c.EnsureNetwork(ctx, nw, map[string]string{labelTest: e.run}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.RemoveNetwork(context.WithoutCancel(ctx), nw) })
	start := func(port string, cmd ...string) string {
		id, err := e.c.Create(ctx, Spec{Image: img, Cmd: cmd, Network: nw, Ports: []string{port}, Labels: map[string]string{labelTest: e.run}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.c.Remove(context.WithoutCancel(ctx), id) })
		if err := e.c.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	late := start("8080", "sh", "-c", "sleep 1; exec httpd -f -p 8080")
	if err := e.c.WaitPorts(ctx, late, nw, time.Minute); err != nil {
		t.Errorf("a port opened after a second: %v", err)
	}
	never := start("9090", "sleep", "60")
	if err := e.c.WaitPorts(ctx, never, nw, 2*time.Second); err == nil || !strings.Contains(err.Error(), "port 9090 not open") {
		t.Errorf("a port never opened: err = %v", err)
	}
}
