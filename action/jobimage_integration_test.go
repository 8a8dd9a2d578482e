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

	"github.com/docker/docker/client"

	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// No image can be pulled here, so the act job's image is imported from
// this machine's own programs and their libraries.

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

// jobImage imports a root filesystem with what a runner image offers the
// action: bash and the tools setup/install.sh uses, git (with its HTTP
// transport) for mlci, and tail, with which act keeps its job container
// alive.
func jobImage(t *testing.T, labels map[string]string) string {
	t.Helper()
	name := "mlci-action-test:" + dockertest.RunID() + "-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	// git-remote-http lets git fetch from and push to a remote over HTTP,
	// as the nightly test's job does.
	files := []string{"/bin/sh", "/lib64/ld-linux-x86-64.so.2", "/usr/lib/git-core/git-remote-http"}
	for _, prog := range []string{"bash", "git", "tail", "curl", "sha256sum", "tar", "gzip", "awk", "grep", "sed", "cut", "head",
		"mkdir", "mktemp", "mv", "rm", "chmod", "touch", "cat"} {
		p, err := exec.LookPath(prog)
		if err != nil {
			t.Skipf("the job image needs %s: %v", prog, err)
		}
		files = append(files, p)
	}
	out, err := exec.Command("ldd", files...).Output()
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
