package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
)

// These tests run the real binary, for what only a process shows: signals,
// exit codes and file permissions.

func buildMLCI(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mlci")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// openTree makes a world-readable temp dir, so the test can run mlci as
// another user when it runs as root.
func openTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPermissionDenied(t *testing.T) {
	bin := buildMLCI(t)
	dir := openTree(t)
	ds := filepath.Join(dir, "data")
	if err := os.MkdirAll(ds, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ok.bin", "secret.bin"} {
		if err := os.WriteFile(filepath.Join(ds, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(ds, "secret.bin"), 0); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-C", dir, "data", "hash", "--no-cache", "data")
	cmd.Env = []string{"HOME=" + dir, "XDG_CACHE_HOME=" + dir}
	if os.Getuid() == 0 {
		// Root reads everything: run as nobody to meet the error users see.
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("err = %v, want exit 2; stderr %q", err, stderr.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, "secret.bin") || !strings.Contains(msg, "permission denied") || strings.Count(msg, "\n") != 1 {
		t.Errorf("stderr = %q, want one line naming secret.bin and the permission problem", msg)
	}
}

// TestInterruptLeavesLockWhole interrupts a re-lock and checks that
// mlci.lock is as it was. The signal must land after main has installed its
// handler and before the lock is written, on a machine of any speed, so the
// dataset holds FIFOs, which the walk skips with one warning each: the first
// sorts first, so its warning says the handler is in place; the many that
// sort last write more warnings than a pipe holds, so the walk, and with it
// the lock, cannot finish until the test reads them, which it does only
// after the signal.
func TestInterruptLeavesLockWhole(t *testing.T) {
	bin := buildMLCI(t)
	dir := t.TempDir()
	ds := filepath.Join(dir, "data")
	payload := bytes.Repeat([]byte("x"), 64<<10)
	for i := range 64 {
		sub := filepath.Join(ds, strconv.Itoa(i%8))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, strconv.Itoa(i)), payload, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// "-" sorts before the folders 0 to 7, "z" after them.
	if err := syscall.Mkfifo(filepath.Join(ds, "-started"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each warning is over 60 bytes: 4096 of them overfill a 64 KiB pipe
	// four times.
	for i := range 4096 {
		if err := syscall.Mkfifo(filepath.Join(ds, fmt.Sprintf("z%04d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "mlci.yaml"), []byte("data: [data]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"-C", dir}, args...)...)
		cmd.Env = []string{"HOME=" + dir}
		return cmd
	}
	if out, err := run("-q", "data", "lock").CombinedOutput(); err != nil {
		t.Fatalf("lock: %v %s", err, out)
	}
	before, err := os.ReadFile(filepath.Join(dir, "mlci.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ds, "0", "0"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := run("data", "lock", "--no-cache", "-j", "1")
	// A pipe read only here, not a buffer that a goroutine drains: the
	// child blocks once it is full.
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stderr := bufio.NewReader(pipe)
	first, err := stderr.ReadString('\n')
	if err != nil || !strings.Contains(first, "-started: a FIFO is not data") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("first stderr line %q, %v; want the warning for data/-started", first, err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(stderr)
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("lock after SIGINT: %v, want exit 130; stderr ends %q", err, tail(string(rest), 300))
	}
	if !strings.Contains(string(rest), "interrupted") {
		t.Errorf("stderr ends %q, want it to say interrupted", tail(string(rest), 300))
	}
	after, err := os.ReadFile(filepath.Join(dir, "mlci.lock"))
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("interrupted lock changed mlci.lock (err %v)", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// tail is the last n bytes of s, for messages about long output.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// BenchmarkPostProcess times what a CI step pays to post the report: a
// fresh mlci process that reads the metrics, renders the report and updates
// the sticky comment on a (fake) GitHub. It reports peak memory and HTTP
// requests per post. The first iteration creates the comment; later ones
// find and update it, as every push after the first does.
func BenchmarkPostProcess(b *testing.B) {
	bin := buildMLCI(b)
	api := githubfake.New(b)
	api.AddToken("tok", "mlci-bot", true, false)
	api.AddRepo("o", "r")
	api.AddPullRequest("o", "r", 7, "headsha", "open")
	dir := b.TempDir()
	files := map[string]string{
		"mlci.yaml":         "metrics: [metrics.json]\ngates:\n  - {name: acc, metric: acc, goal: maximize, min: 0.5}\n",
		"metrics.json":      `{"acc": 0.9, "loss": 0.2}`,
		"base/metrics.json": `{"acc": 0.8, "loss": 0.3}`,
		"event.json":        `{"pull_request": {"number": 7, "head": {"sha": "headsha"}}}`,
	}
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	env := []string{
		"HOME=" + dir, "GITHUB_ACTIONS=true", "GITHUB_API_URL=" + api.URL(), "GITHUB_REPOSITORY=o/r",
		"GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH=" + filepath.Join(dir, "event.json"), "GITHUB_TOKEN=tok",
	}
	var maxRSS int64
	before := len(api.Requests())
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// A new metric value each time, so every post is a real update.
		os.WriteFile(filepath.Join(dir, "metrics.json"), []byte(`{"acc": 0.9, "loss": 0.`+strconv.Itoa(100+i)+`}`), 0o644)
		cmd := exec.Command(bin, "-C", dir, "-q", "report", "--post", "--baseline", "base/metrics.json")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > maxRSS {
			maxRSS = ru.Maxrss
		}
	}
	b.StopTimer()
	if n := len(api.Comments("o", "r", 7)); n != 1 {
		b.Fatalf("%d comments after %d posts, want 1", n, b.N)
	}
	b.ReportMetric(float64(len(api.Requests())-before)/float64(b.N), "requests/post")
	b.ReportMetric(float64(maxRSS)/1024, "peak-MiB")
}

// The action's binary is built without cgo and must stay small: NVML and
// the Docker client belong to mlci-runner only.
func TestActionBinaryLinksNoRunnerCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/NVIDIA/go-nvml", "github.com/docker/docker", "github.com/mlci/mlci/runner"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("cmd/mlci depends on %s", dep)
			}
		}
	}
}
