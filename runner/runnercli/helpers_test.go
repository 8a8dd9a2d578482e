package runnercli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/mlci/mlci/internal/buildinfo"
	"github.com/mlci/mlci/runner/gpu/gputest"
	"github.com/mlci/mlci/runner/runnercli"
)

// result is what one in-process mlci-runner run left behind.
type result struct {
	code           int
	stdout, stderr string
}

// host is a fake runner host: NVML, environment and stdin for runs.
type host struct {
	t       *testing.T
	env     map[string]string
	nvml    func() nvml.Interface
	stdin   string
	version buildinfo.Info
}

// newHost is a host with srv as its NVML (nil: no NVIDIA driver), its own
// state directory and an empty runner config, so nothing on the machine
// running the tests (say /etc/mlci-runner/config.yaml) leaks in.
func newHost(t *testing.T, srv *gputest.Server) *host {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "gpu_wait: 1m\n")
	h := &host{t: t, env: map[string]string{
		"MLCI_RUNNER_STATE_DIR": filepath.Join(dir, "state"),
		"MLCI_RUNNER_CONFIG":    cfg,
	}}
	if srv != nil {
		h.nvml = func() nvml.Interface { return srv }
	} else {
		h.nvml = noDriver
	}
	return h
}

// healthyHost is a DGX A100-like host with 8 healthy GPUs.
func healthyHost(t *testing.T) (*host, *gputest.Server) {
	t.Helper()
	srv := gputest.NewServer(t, 8)
	return newHost(t, srv), srv
}

// noDriver is NVML on a host without the NVIDIA driver.
func noDriver() nvml.Interface {
	return &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
}

// run executes mlci-runner in-process.
func (h *host) run(args ...string) result {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	code := runnercli.Execute(context.Background(), args, runnercli.IO{
		Stdin:      strings.NewReader(h.stdin),
		Stdout:     &stdout,
		Stderr:     &stderr,
		Getenv:     func(k string) string { return h.env[k] },
		Version:    h.version,
		Executable: "/opt/mlci-runner/bin/mlci-runner",
		NVML:       h.nvml,
	})
	return result{code, stdout.String(), stderr.String()}
}

// mustRun runs and fails the test unless mlci-runner exits 0 with nothing
// on stderr.
func (h *host) mustRun(args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != runnercli.ExitOK || r.stderr != "" {
		h.t.Fatalf("mlci-runner %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// oneErrorLine fails the test unless stderr is exactly one line starting
// "mlci-runner: " and containing every want; it returns the line.
func oneErrorLine(t *testing.T, stderr string, want ...string) string {
	t.Helper()
	line, rest, ok := strings.Cut(stderr, "\n")
	if !ok || rest != "" || !strings.HasPrefix(line, "mlci-runner: ") {
		t.Fatalf("stderr = %q, want one line starting \"mlci-runner: \"", stderr)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("error line %q does not contain %q", line, w)
		}
	}
	return line
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
