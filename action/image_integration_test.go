//go:build integration

package action

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// These tests build the action's image with the real Docker Engine and run
// it the way the GitHub runner runs a container action. No image can be
// pulled here, so the base is imported from this machine's own git and sh,
// and the binary is built outside; the image's final stage is the shipped
// Dockerfile's, unchanged but for the package install the base already has.

func docker(t *testing.T, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// engineAPI is a client of the Docker Engine, closed when the test ends.
func engineAPI(t *testing.T) client.APIClient {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

// newScope returns the labels for what one test makes on the engine, which
// is removed by them when the test ends (dockertest.Scope).
func newScope(t *testing.T) map[string]string {
	t.Helper()
	return dockertest.Scope(t, engineAPI(t))
}

// labelFlags is labels as docker's repeated flag (--label k=v, or
// --change "LABEL k=v" for docker import).
func labelFlags(flag, format string, labels map[string]string) []string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		args = append(args, flag, fmt.Sprintf(format, k, labels[k]))
	}
	return args
}

// baseImage imports a root filesystem with git, sh and their libraries.
func baseImage(t *testing.T, name string, labels map[string]string) string {
	// tail: act keeps its job container alive with tail -f /dev/null.
	files := []string{"/bin/sh", "/usr/bin/git", "/usr/bin/tail", "/lib64/ld-linux-x86-64.so.2"}
	out, err := exec.Command("ldd", "/usr/bin/git", "/bin/sh", "/usr/bin/tail").Output()
	if err != nil {
		t.Fatalf("ldd: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "/lib") || strings.HasPrefix(f, "/usr/lib") {
			files = append(files, f)
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"tmp/", "etc/", "usr/local/bin/"} {
		tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o1777})
	}
	gitconfig := "[safe]\n\tdirectory = *\n"
	tw.WriteHeader(&tar.Header{Name: "etc/gitconfig", Mode: 0o644, Size: int64(len(gitconfig))})
	tw.Write([]byte(gitconfig))
	seen := map[string]bool{}
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil || seen[f] {
			continue
		}
		seen[f] = true
		data, err := os.ReadFile(real)
		if err != nil {
			t.Fatal(err)
		}
		tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(f, "/"), Mode: 0o755, Size: int64(len(data))})
		tw.Write(data)
	}
	tw.Close()
	docker(t, &buf, append(append([]string{"import"}, labelFlags("--change", "LABEL %s=%s", labels)...), "-", name)...)
	return name
}

// buildImage builds the shipped Dockerfile's final stage on the test base;
// the base is left as the image's name plus "-base". Both carry labels, by
// which the test's scope removes them; their tag holds the run's ID, so
// another run on the engine never builds over them.
func buildImage(t *testing.T, labels map[string]string) string {
	name := "mlci-action-test:" + dockertest.RunID() + "-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	base := baseImage(t, name+"-base", labels)
	ctx := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(ctx, "bin", "mlci"), "../cmd/mlci")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	entry, err := os.ReadFile("entrypoint.sh")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(ctx, "action"), 0o755)
	os.WriteFile(filepath.Join(ctx, "action", "entrypoint.sh"), entry, 0o755)
	shipped, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(shipped)
	final := text[strings.LastIndex(text, "\nFROM ${BASE_IMAGE}")+1:]
	var lines []string
	skip := false
	for _, l := range strings.Split(final, "\n") {
		// The base already has git and safe.directory: drop the install.
		if strings.HasPrefix(l, "RUN apk add") {
			skip = true
		}
		if skip {
			skip = strings.HasSuffix(l, `\`)
			continue
		}
		lines = append(lines, l)
	}
	if !strings.Contains(final, "COPY --from=build /out/mlci") {
		t.Fatalf("the Dockerfile's final stage changed shape:\n%s", final)
	}
	// --label reaches the last stage only, and the build stage's image
	// stays behind untagged: it gets the labels from a LABEL line.
	var stage []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		stage = append(stage, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	dockerfile := "ARG BASE_IMAGE\nFROM scratch AS build\nLABEL " + strings.Join(stage, " ") + "\nCOPY bin/mlci /out/mlci\n" + strings.Join(lines, "\n")
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644)
	args := append([]string{"build", "-q", "--build-arg", "BASE_IMAGE=" + base, "-t", name}, labelFlags("--label", "%s=%s", labels)...)
	docker(t, nil, append(args, ctx)...)
	return name
}

func TestActionImage(t *testing.T) {
	image := buildImage(t, newScope(t))
	size := docker(t, nil, "image", "inspect", "--format", "{{.Size}}", image)
	t.Logf("image size: %s bytes (test base; the alpine base adds git's packages)", size)

	// A workspace as actions/checkout leaves it, owned by another user.
	ws := t.TempDir()
	if err := os.CopyFS(filepath.Join(ws, "testdata", "quickstart"), os.DirFS("../testdata/quickstart")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(ws, "testdata", "quickstart", "mlci-report.md"))
	gitInit(t, ws)
	exec.Command("chown", "-R", "1001:1001", ws).Run()

	api := githubfake.New(t)
	api.AddToken("tok", "github-actions", true, false)
	api.AddRepo("o", "r")
	api.AddPullRequest("o", "r", 5, "headsha", "open")
	os.WriteFile(filepath.Join(ws, "event.json"), []byte(`{"pull_request": {"number": 5, "head": {"sha": "headsha"}}}`), 0o644)
	os.WriteFile(filepath.Join(ws, "output"), nil, 0o666)

	run := func(extra ...string) (string, error) {
		args := []string{"run", "--rm", "--network", "host",
			"-v", ws + ":/github/workspace", "-w", "/github/workspace",
			"-e", "GITHUB_ACTIONS=true", "-e", "GITHUB_API_URL=" + api.URL(), "-e", "GITHUB_REPOSITORY=o/r",
			"-e", "GITHUB_EVENT_NAME=pull_request", "-e", "GITHUB_EVENT_PATH=/github/workspace/event.json",
			"-e", "GITHUB_OUTPUT=/github/workspace/output",
			"-e", "INPUT_TOKEN=tok", "-e", "INPUT_WORKING_DIRECTORY=testdata/quickstart",
			"-e", "INPUT_COMMAND=ci --baseline baseline/metrics.json", "-e", "INPUT_COMMENT-MODE=update"}
		args = append(args, extra...)
		args = append(args, image)
		out, err := exec.Command("docker", args...).CombinedOutput()
		return string(out), err
	}
	start := time.Now()
	out, err := run()
	t.Logf("first run (cold container, full ci): %v", time.Since(start))
	if err != nil {
		t.Fatalf("action run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "mlci: PASS") {
		t.Errorf("output:\n%s", out)
	}
	if c := api.Comments("o", "r", 5); len(c) != 1 {
		t.Fatalf("comments after the first run: %d", len(c))
	}
	if out, err := run(); err != nil || !strings.Contains(out, "(unchanged)") || len(api.Comments("o", "r", 5)) != 1 {
		t.Errorf("second run: %v, %d comments\n%s", err, len(api.Comments("o", "r", 5)), out)
	}
	outputs, _ := os.ReadFile(filepath.Join(ws, "output"))
	if !strings.Contains(string(outputs), "verdict") || !strings.Contains(string(outputs), "pass") {
		t.Errorf("action outputs = %q", outputs)
	}

	// A failing gate fails the container, so it fails the job.
	os.WriteFile(filepath.Join(ws, "testdata", "quickstart", "metrics.json"), []byte(`{"eval": {"val": {"accuracy": 0.5, "loss": 0.39, "macro_f1": 0.97}}}`), 0o644)
	out, err = run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("failing gate: err %v\n%s", err, out)
	}

	start = time.Now()
	if _, err := run("-e", "INPUT_COMMAND=version"); err != nil {
		t.Fatal(err)
	}
	t.Logf("cold start (docker run of mlci version): %v", time.Since(start))
}
