//go:build integration

// Package goreleaser_test builds the release that .goreleaser.yaml describes
// as a GoReleaser snapshot and checks every artifact, so the release
// configuration breaks in the tests and not on the day of a release.
package goreleaser_test

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

// goreleaser is pinned here and in .github/workflows/release.yml.
const goreleaser = "github.com/goreleaser/goreleaser/v2@v2.17.0"

// metadata is the part of dist/metadata.json the test reads.
type metadata struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
}

// artifact is one entry of dist/artifacts.json.
type artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Type   string `json:"type"`
	Goos   string `json:"goos"`
	Goarch string `json:"goarch"`
	Extra  struct {
		ID string `json:"ID"`
	} `json:"extra"`
}

func TestReleaseSnapshot(t *testing.T) {
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
		t.Fatal("mlci-runner for linux/arm64 needs cgo and a cross C compiler: apt-get install gcc-aarch64-linux-gnu (.ci/run does)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dist := snapshot(t, root)
	// The platforms of .goreleaser.yaml's builds.
	mlciTargets := []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64", "windows_amd64", "windows_arm64"}
	runnerTargets := []string{"linux_amd64", "linux_arm64"}

	var meta metadata
	readJSON(t, filepath.Join(dist, "metadata.json"), &meta)
	if !strings.Contains(meta.Version, "SNAPSHOT") || len(meta.Commit) != 40 {
		t.Fatalf("metadata.json: version %q commit %q, want a snapshot version and a full commit", meta.Version, meta.Commit)
	}
	var arts []artifact
	readJSON(t, filepath.Join(dist, "artifacts.json"), &arts)

	var archives, sboms []string
	for _, target := range mlciTargets {
		ext := ".tar.gz"
		if strings.HasPrefix(target, "windows") {
			ext = ".zip"
		}
		archives = append(archives, "mlci_"+meta.Version+"_"+target+ext)
		sboms = append(sboms, "mlci_"+meta.Version+"_"+target+".cdx.json")
	}
	for _, target := range runnerTargets {
		archives = append(archives, "mlci-runner_"+meta.Version+"_"+target+".tar.gz")
		sboms = append(sboms, "mlci-runner_"+meta.Version+"_"+target+".cdx.json")
	}

	t.Run("archives", func(t *testing.T) {
		sameSet(t, "archives", names(arts, "Archive"), archives)
		for _, name := range archives {
			want := []string{"README.md", "mlci"}
			switch {
			case strings.HasPrefix(name, "mlci-runner_"):
				want = []string{"README.md", "deploy/github/mlci-runner-hook.sh", "deploy/github/runner.env", "deploy/gitlab/config.toml", "deploy/mlci-runner.yaml", "mlci-runner"}
			case strings.HasSuffix(name, ".zip"):
				want = []string{"README.md", "mlci.exe"}
			}
			sameSet(t, name, archiveFiles(t, filepath.Join(dist, name)), want)
		}
	})

	t.Run("checksums", func(t *testing.T) {
		sums := readChecksums(t, filepath.Join(dist, "checksums.txt"))
		sameSet(t, "checksums.txt", mapKeys(sums), slices.Concat(archives, sboms))
		for name, want := range sums {
			if got := sha256File(t, filepath.Join(dist, name)); got != want {
				t.Errorf("%s: sha256 %s, checksums.txt says %s", name, got, want)
			}
		}
	})

	t.Run("sboms", func(t *testing.T) {
		sameSet(t, "SBOMs", names(arts, "SBOM"), sboms)
		for _, name := range sboms {
			mods := sbomModules(t, filepath.Join(dist, name))
			// The CLI is static and never links NVML; the runner does.
			wantNVML := strings.HasPrefix(name, "mlci-runner_")
			if !slices.Contains(mods, "github.com/spf13/cobra") || slices.Contains(mods, "github.com/NVIDIA/go-nvml") != wantNVML {
				t.Errorf("%s: modules %v; want cobra, and go-nvml only in mlci-runner's", name, mods)
			}
		}
	})

	t.Run("binaries", func(t *testing.T) {
		bins := map[string]string{} // "mlci linux_amd64" -> path
		for _, a := range arts {
			if a.Type == "Binary" {
				path := a.Path
				if !filepath.IsAbs(path) {
					path = filepath.Join(root, path)
				}
				bins[a.Extra.ID+" "+a.Goos+"_"+a.Goarch] = path
			}
		}
		if len(bins) != len(mlciTargets)+len(runnerTargets) {
			t.Errorf("binaries %v, want %d", bins, len(mlciTargets)+len(runnerTargets))
		}
		// CGO_ENABLED=0 makes mlci static; mlci-runner is cgo, dynamically
		// linked against glibc, and built for the right machine.
		for _, tt := range []struct {
			key     string
			machine elf.Machine
			dynamic bool
		}{
			{"mlci linux_amd64", elf.EM_X86_64, false},
			{"mlci linux_arm64", elf.EM_AARCH64, false},
			{"mlci-runner linux_amd64", elf.EM_X86_64, true},
			{"mlci-runner linux_arm64", elf.EM_AARCH64, true},
		} {
			machine, dynamic := elfKind(t, bins[tt.key])
			if machine != tt.machine || dynamic != tt.dynamic {
				t.Errorf("%s: %v, dynamic %v; want %v, dynamic %v", tt.key, machine, dynamic, tt.machine, tt.dynamic)
			}
		}
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
			t.Skipf("no release binary runs on %s/%s", runtime.GOOS, runtime.GOARCH)
		}
		here := runtime.GOOS + "_" + runtime.GOARCH
		for _, prog := range []string{"mlci", "mlci-runner"} {
			bin := bins[prog+" "+here]
			// What `version` prints in a release: the tag's version, the
			// commit and its date from the ldflags stamp; "dirty" only
			// where the toolchain recorded uncommitted changes.
			dirty := ""
			if modified(t, bin) {
				dirty = ", dirty"
			}
			want := fmt.Sprintf("%s v%s (commit %s%s, committed %s, %s, %s/%s)\n",
				prog, meta.Version, meta.Commit[:12], dirty, commitDate(t, root, meta.Commit), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			out, err := exec.Command(bin, "version").CombinedOutput()
			if err != nil || string(out) != want {
				t.Errorf("%s version: %v\n got  %s want %s", prog, err, out, want)
			}
		}
	})
}

// snapshot runs goreleaser on the repository at root with its dist in a
// temporary folder, and returns that folder.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	config, err := os.ReadFile(filepath.Join(root, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains("\n"+string(config), "\ndist:") {
		t.Fatal(".goreleaser.yaml sets dist:, which this test sets to a temporary folder")
	}
	tmp := t.TempDir()
	dist := filepath.Join(tmp, "dist")
	cfg := filepath.Join(tmp, "goreleaser.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(config, "\ndist: %s\n", dist), 0o644); err != nil {
		t.Fatal(err)
	}
	// GoReleaser refuses to start with more than one forge token set,
	// and a snapshot needs none.
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains([]string{"GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN"}, k) {
			env = append(env, kv)
		}
	}
	// Without a remote GoReleaser reads no git state at all and names the
	// commit "none"; a clone has one, a fresh repository may not.
	if out, err := exec.Command("git", "-C", root, "remote").Output(); err == nil && len(out) == 0 {
		env = append(env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=remote.origin.url", "GIT_CONFIG_VALUE_0=https://github.com/mlci/mlci.git")
	}
	// check fails on deprecated settings too, which release only warns of.
	// The image needs a base image from a registry, which the tests cannot
	// reach; everything else is built as a release builds it.
	for _, args := range [][]string{
		{"check", "--config", cfg},
		{"release", "--snapshot", "--clean", "--skip=docker", "--config", cfg},
	} {
		cmd := exec.Command("go", append([]string{"run", goreleaser}, args...)...)
		cmd.Dir, cmd.Env = root, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("goreleaser %s: %v\n%s", args[0], err, out)
		}
		t.Logf("goreleaser %s took %v", strings.Join(args[:len(args)-2], " "), time.Since(start).Round(time.Second))
	}
	return dist
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func names(arts []artifact, typ string) []string {
	var n []string
	for _, a := range arts {
		if a.Type == typ {
			n = append(n, a.Name)
		}
	}
	return n
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func mapKeys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return k
}

// archiveFiles lists the regular files in a .tar.gz or .zip.
func archiveFiles(t *testing.T, path string) []string {
	t.Helper()
	var files []string
	if strings.HasSuffix(path, ".zip") {
		z, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		for _, f := range z.File {
			if !f.FileInfo().IsDir() {
				files = append(files, f.Name)
			}
		}
		return files
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			files = append(files, h.Name)
		}
	}
}

// readChecksums parses sha256sum's format: "HEX  NAME" per line.
func readChecksums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("checksums.txt: malformed line %q", sc.Text())
		}
		sums[name] = sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sbomModules checks that path is a CycloneDX document and returns the
// names of its components.
func sbomModules(t *testing.T, path string) []string {
	t.Helper()
	var bom struct {
		BOMFormat  string `json:"bomFormat"`
		Components []struct {
			Name string `json:"name"`
		} `json:"components"`
	}
	readJSON(t, path, &bom)
	if bom.BOMFormat != "CycloneDX" {
		t.Errorf("%s: bomFormat %q, want CycloneDX", path, bom.BOMFormat)
	}
	var mods []string
	for _, c := range bom.Components {
		mods = append(mods, c.Name)
	}
	return mods
}

// elfKind returns an ELF binary's machine and whether it asks for a
// dynamic loader.
func elfKind(t *testing.T, path string) (elf.Machine, bool) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dynamic := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	return f.Machine, dynamic
}

// modified reports whether the binary's build recorded a work tree with
// uncommitted changes (never in a release, which refuses a dirty tree).
func modified(t *testing.T, path string) bool {
	t.Helper()
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(bi.Settings, debug.BuildSetting{Key: "vcs.modified", Value: "true"})
}

// commitDate is the commit's time as GoReleaser's CommitDate writes it.
func commitDate(t *testing.T, root, commit string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "show", "-s", "--format=%ct", commit).Output()
	if err != nil {
		t.Fatal(err)
	}
	var unix int64
	if _, err := fmt.Sscan(string(out), &unix); err != nil {
		t.Fatal(err)
	}
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}
