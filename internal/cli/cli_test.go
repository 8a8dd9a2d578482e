package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/datacheck"
)

var update = flag.Bool("update", false, "rewrite golden files")

type result struct {
	code           int
	stdout, stderr string
}

// run executes mlci in-process, as a user would from dir.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), args, IO{
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string { return env[k] },
	})
	return result{code, stdout.String(), stderr.String()}
}

// quickstart copies the bundled example project into a temp dir.
func quickstart(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "quickstart")
	src := filepath.Join("..", "..", "testdata", "quickstart")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == ".mlci" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if d.Name() == "mlci-report.md" {
			// Left by someone running the quick start: not part of it.
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
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

// changeThree adds, removes and modifies one file each.
func changeThree(t *testing.T, dir string) {
	t.Helper()
	ds := filepath.Join(dir, "data", "digits")
	writeFile(t, filepath.Join(ds, "train/3/3-000.pgm"), "P5\n8 8\n255\nchanged")
	if err := os.Remove(filepath.Join(ds, "val/9/9-006.pgm")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ds, "val/9/9-100.pgm"), "new")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, d)
	}
}

func TestQuickstartCheckPasses(t *testing.T) {
	dir := quickstart(t)
	r := run(t, nil, "-C", dir, "data", "check")
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	golden(t, "check-ok.txt", r.stdout)
	if _, err := os.Stat(filepath.Join(dir, ".mlci", ".gitignore")); err != nil {
		t.Errorf("state cache directory is not git-ignored: %v", err)
	}
}

func TestCheckNamesChangedFiles(t *testing.T) {
	dir := quickstart(t)
	changeThree(t, dir)
	r := run(t, nil, "-C", dir, "data", "check")
	if r.code != ExitFailed {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, ExitFailed, r.stderr)
	}
	golden(t, "check-changed.txt", r.stdout)
	if lines := strings.Count(r.stderr, "\n"); lines != 1 || !strings.Contains(r.stderr, "run mlci data lock") {
		t.Errorf("stderr = %q, want one line saying what to do", r.stderr)
	}

	r = run(t, nil, "-C", dir, "--json", "data", "check")
	var doc struct {
		OK       bool
		Datasets []datacheck.Result
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, r.stdout)
	}
	if doc.OK || len(doc.Datasets) != 1 || doc.Datasets[0].Changes == nil {
		t.Fatalf("json = %+v", doc)
	}
	c := doc.Datasets[0].Changes
	got := []string{c.Added[0].Path, c.Removed[0].Path, c.Modified[0].Path}
	want := []string{"val/9/9-100.pgm", "val/9/9-006.pgm", "train/3/3-000.pgm"}
	if !cmp.Equal(got, want) || len(c.Added)+len(c.Removed)+len(c.Modified) != 3 {
		t.Errorf("changes = %+v, want %v", c, want)
	}

	// Accepting the change: lock, then the check passes.
	if r := run(t, nil, "-C", dir, "-q", "data", "lock"); r.code != ExitOK || r.stdout != "" {
		t.Fatalf("lock: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "-C", dir, "data", "check"); r.code != ExitOK {
		t.Fatalf("check after lock: exit %d, %s", r.code, r.stderr)
	}
}

// A pull request that changes 3 files of a 100,000-file dataset must fail
// with those 3 paths named.
func TestCheckLargeDatasetNamesThreeFiles(t *testing.T) {
	dir := t.TempDir()
	ds := filepath.Join(dir, "big")
	for d := range 100 {
		sub := filepath.Join(ds, "d"+strconv.Itoa(d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 1000 {
			if err := os.WriteFile(filepath.Join(sub, strconv.Itoa(f)), []byte(strconv.Itoa(d*1000+f)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeFile(t, filepath.Join(dir, "mlci.yaml"), "data: [big]\n")
	if r := run(t, nil, "-C", dir, "-q", "data", "lock"); r.code != ExitOK {
		t.Fatalf("lock: %d %s", r.code, r.stderr)
	}
	writeFile(t, filepath.Join(ds, "d7", "70"), "edited")
	writeFile(t, filepath.Join(ds, "d42", "new"), "added")
	if err := os.Remove(filepath.Join(ds, "d99", "999")); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "-C", dir, "data", "check")
	if r.code != ExitFailed {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	for _, p := range []string{"~  big/d7/70", "+  big/d42/new", "-  big/d99/999"} {
		if !strings.Contains(r.stdout, p) {
			t.Errorf("output does not name %q:\n%s", p, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "1 added, 1 removed, 1 modified") {
		t.Errorf("summary missing:\n%s", r.stdout)
	}
}

func TestDataHash(t *testing.T) {
	dir := quickstart(t)
	r := run(t, nil, "-C", dir, "--json", "data", "hash", "data/digits/labels.csv", "digits")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc struct{ Datasets []hashOutput }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Datasets) != 2 || doc.Datasets[0].Files != 1 || doc.Datasets[1].Files != 351 {
		t.Fatalf("datasets = %+v", doc.Datasets)
	}
	if b3, err := exec.LookPath("b3sum"); err == nil {
		out, err := exec.Command(b3, filepath.Join(dir, "data/digits/labels.csv")).Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := "blake3:" + strings.Fields(string(out))[0]; string(doc.Datasets[0].Digest) != want {
			t.Errorf("single-file digest %s, b3sum says %s", doc.Datasets[0].Digest, want)
		}
	}
	// The lock holds the same digest the hash command prints.
	lock, _ := os.ReadFile(filepath.Join(dir, "mlci.lock"))
	if !strings.Contains(string(lock), string(doc.Datasets[1].Digest)) {
		t.Errorf("mlci.lock does not hold %s", doc.Datasets[1].Digest)
	}
	plain := run(t, nil, "-C", dir, "data", "hash", "--algo", "sha256", "data/digits")
	if plain.code != ExitOK || !strings.HasPrefix(plain.stdout, "sha256:") || !strings.Contains(plain.stdout, "351 files") {
		t.Errorf("sha256 hash: exit %d stdout %q", plain.code, plain.stdout)
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		args    []string
		code    int
		wantErr string
	}{
		{"unknown flag", nil, []string{"data", "check", "--nope"}, ExitUsage, "unknown flag: --nope"},
		{"unknown command", nil, []string{"dta"}, ExitUsage, `unknown command "dta"`},
		{"bad -C", nil, []string{"-C", "/no/such/dir", "data", "check"}, ExitUsage, "-C /no/such/dir"},
		{"corrupt lock", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "mlci.lock"), "{\"version\": 1,\n") },
			[]string{"data", "check"}, ExitUsage, "mlci.lock:2:1: malformed"},
		{"newer lock", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "mlci.lock"), `{"version": 9}`) },
			[]string{"data", "check"}, ExitUsage, "upgrade mlci"},
		{"missing lock", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "mlci.lock")) },
			[]string{"data", "check"}, ExitUsage, "run mlci data lock first"},
		{"unknown config key", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "mlci.yaml"), "data:\n  - path: data/digits\n    exlude: [a]\n")
		}, []string{"data", "check"}, ExitUsage, `mlci.yaml:3:5: unknown key "exlude"`},
		{"missing dataset path", nil, []string{"data", "hash", "nope"}, ExitUsage, "no such file or directory"},
		{"bad algorithm", nil, []string{"data", "hash", "--algo", "md5", "data"}, ExitUsage, "choose blake3 or sha256"},
		{"unknown dataset name", nil, []string{"data", "check", "images"}, ExitUsage, `no dataset "images"`},
		{"tampered manifest", func(t *testing.T, dir string) {
			changeThree(t, dir)
			p := filepath.Join(dir, "mlci.lock.d", "digits.tsv")
			data, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(data, []byte("\t75\t"), []byte("\t76\t"), 1), 0o644)
			data, _ = os.ReadFile(p)
			lines := strings.SplitN(string(data), "\n", 3)
			f := strings.Split(lines[1], "\t")
			f[2] = strings.Repeat("0", 64)
			lines[1] = strings.Join(f, "\t")
			os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
		}, []string{"data", "check"}, ExitUsage, "mlci.lock.d/digits.tsv does not match mlci.lock"},
		{"dataset not locked", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "extra", "f"), "x")
			writeFile(t, filepath.Join(dir, "mlci.yaml"), "data:\n  - name: digits\n    path: data/digits\n    exclude: [\"*.tmp\", .DS_Store]\n  - extra\n")
		}, []string{"data", "check"}, ExitFailed, "1 of 2 datasets differ"},
		{"config changed since lock", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "mlci.yaml"), "data:\n  - name: digits\n    path: data/digits\n")
		}, []string{"data", "check"}, ExitFailed, "1 of 1 datasets differ"},
		{"empty dataset", func(t *testing.T, dir string) { os.MkdirAll(filepath.Join(dir, "empty"), 0o755) },
			[]string{"data", "hash", "empty"}, ExitUsage, "has no files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := quickstart(t)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			args := append([]string{"-C", dir}, tt.args...)
			if tt.args[0] == "-C" {
				args = tt.args
			}
			r := run(t, nil, args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
			}
			last := r.stderr[strings.LastIndex(strings.TrimSuffix(r.stderr, "\n"), "\n")+1:]
			if !strings.HasPrefix(last, "mlci: ") || !strings.Contains(last, tt.wantErr) || strings.Count(last, "\n") != 1 {
				t.Errorf("last stderr line = %q, want one line containing %q", last, tt.wantErr)
			}
		})
	}
}

func TestVersionAndCompletion(t *testing.T) {
	r := run(t, nil, "version")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "mlci ") {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := run(t, nil, "completion", shell)
		if r.code != ExitOK || !strings.Contains(r.stdout, "mlci") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, r.code, len(r.stdout))
		}
	}
}
