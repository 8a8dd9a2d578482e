package action

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeBinary stands in for mlci in the archives: the tests check that the
// installed file is the one the archive held.
const fakeBinary = "#!/bin/sh\necho fake mlci\n"

func tarGz(t *testing.T, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, body string }{{"README.md", "readme\n"}, {name, body}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func zipped(t *testing.T, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	zw.Close()
	return buf.Bytes()
}

// releaseServer serves releases as GitHub does, laid out as GoReleaser
// names them (.goreleaser.yaml): /download/vX.Y.Z/<archive> and
// checksums.txt, and the releases API under /api. It counts downloads.
func releaseServer(t *testing.T, tamper bool) (srv *httptest.Server, downloads *atomic.Int32) {
	t.Helper()
	files := map[string][]byte{
		"mlci_1.2.3_linux_amd64.tar.gz":  tarGz(t, "mlci", fakeBinary),
		"mlci_1.2.3_darwin_arm64.tar.gz": tarGz(t, "mlci", fakeBinary),
		"mlci_1.2.3_windows_amd64.zip":   zipped(t, "mlci.exe", fakeBinary),
	}
	var sums strings.Builder
	for name, data := range files {
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(data), name)
	}
	if tamper {
		files["mlci_1.2.3_linux_amd64.tar.gz"] = tarGz(t, "mlci", "#!/bin/sh\necho evil\n")
	}
	files["checksums.txt"] = []byte(sums.String())
	downloads = new(atomic.Int32)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /download/v1.2.3/{file}", func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.PathValue("file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		downloads.Add(1)
		w.Write(data)
	})
	mux.HandleFunc("GET /api/repos/mlci/mlci/releases", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"tag_name": "v2.0.0"}, {"tag_name": "v1.3.0-rc.1"}, {"tag_name": "v1.2.3"}, {"tag_name": "v1.1.0"}, {"tag_name": "v1.10.0-beta"}]`))
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, downloads
}

type installRun struct {
	code           int
	stdout, stderr string
	outputs        string // what it wrote to $GITHUB_OUTPUT
}

func install(t *testing.T, srv *httptest.Server, toolCache string, env ...string) installRun {
	t.Helper()
	output := filepath.Join(t.TempDir(), "output")
	cmd := exec.Command("bash", "../setup/install.sh")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"RUNNER_OS=Linux", "RUNNER_ARCH=X64", "RUNNER_TOOL_CACHE=" + toolCache, "RUNNER_TEMP=" + t.TempDir(),
		"GITHUB_OUTPUT=" + output,
		"MLCI_DOWNLOAD_URL=" + srv.URL + "/download", "MLCI_API_URL=" + srv.URL + "/api",
	}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(output)
	return installRun{code, stdout.String(), stderr.String(), string(out)}
}

func TestInstallScript(t *testing.T) {
	tests := []struct {
		name    string
		tamper  bool
		env     []string
		wantBin string // installed under the tool cache, relative to it
		wantVer string
		wantErr string // the one line on stderr when it fails
	}{
		{name: "exact version", env: []string{"MLCI_VERSION=v1.2.3"}, wantBin: "mlci/1.2.3/amd64/mlci", wantVer: "v1.2.3"},
		{name: "major tag resolves to its newest release", env: []string{"MLCI_VERSION=v1"}, wantBin: "mlci/1.2.3/amd64/mlci", wantVer: "v1.2.3"},
		{name: "minor tag", env: []string{"MLCI_VERSION=v1.2"}, wantBin: "mlci/1.2.3/amd64/mlci", wantVer: "v1.2.3"},
		{name: "macOS on ARM", env: []string{"MLCI_VERSION=v1.2.3", "RUNNER_OS=macOS", "RUNNER_ARCH=ARM64"}, wantBin: "mlci/1.2.3/arm64/mlci", wantVer: "v1.2.3"},
		{name: "Windows zip", env: []string{"MLCI_VERSION=v1.2.3", "RUNNER_OS=Windows"}, wantBin: "mlci/1.2.3/amd64/mlci.exe", wantVer: "v1.2.3"},
		{name: "bad checksum", tamper: true, env: []string{"MLCI_VERSION=v1.2.3"}, wantErr: "::error::mlci setup: checksum mismatch for mlci_1.2.3_linux_amd64.tar.gz"},
		{name: "unknown OS", env: []string{"MLCI_VERSION=v1.2.3", "RUNNER_OS=FreeBSD"}, wantErr: "no mlci release for runner OS 'FreeBSD'"},
		{name: "unknown architecture", env: []string{"MLCI_VERSION=v1.2.3", "RUNNER_ARCH=X86"}, wantErr: "no mlci release for runner architecture 'X86'"},
		{name: "no archive for the platform", env: []string{"MLCI_VERSION=v1.2.3", "RUNNER_OS=Windows", "RUNNER_ARCH=ARM64"}, wantErr: "cannot download SRV/download/v1.2.3/mlci_1.2.3_windows_arm64.zip: (22) The requested URL returned error: 404"},
		{name: "no release matches", env: []string{"MLCI_VERSION=v3"}, wantErr: "no mlci release matches version 'v3'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, downloads := releaseServer(t, tt.tamper)
			cache := t.TempDir()
			r := install(t, srv, cache, tt.env...)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "SRV", srv.URL)
				if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("exit %d stderr %q; want exit 1 and one line containing %q", r.code, r.stderr, want)
				}
				if entries, _ := os.ReadDir(filepath.Join(cache, "mlci", "1.2.3")); len(entries) != 0 {
					t.Errorf("a failed install left %d entries in the tool cache", len(entries))
				}
				return
			}
			bin := filepath.Join(cache, tt.wantBin)
			if r.code != 0 || !strings.Contains(r.stdout, "installed in") {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if data, err := os.ReadFile(bin); err != nil || string(data) != fakeBinary {
				t.Fatalf("installed binary %s: %q, %v", bin, data, err)
			}
			wantOut := fmt.Sprintf("dir=%s\nbin=%s\nversion=%s\n", filepath.Dir(bin), bin, tt.wantVer)
			if r.outputs != wantOut {
				t.Errorf("outputs %q, want %q", r.outputs, wantOut)
			}
			// The next job on the host finds it in the tool cache.
			before := downloads.Load()
			again := install(t, srv, cache, tt.env...)
			if again.code != 0 || !strings.Contains(again.stdout, "from the tool cache") || downloads.Load() != before || again.outputs != wantOut {
				t.Errorf("second run: exit %d, %d more downloads, outputs %q\n%s%s", again.code, downloads.Load()-before, again.outputs, again.stdout, again.stderr)
			}
		})
	}
}
