package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/artifact"
	"github.com/mlci/mlci/internal/registry"
)

// storeProject is a registry project with an artifact store and a second
// model, bundle, whose artifact is a folder holding what must never be
// written over a checkout: .git/config and mlci.yaml. It registers both and
// promotes both to dev.
func storeProject(t *testing.T) (dir string, mlci func(args ...string) result) {
	t.Helper()
	dir, _ = registryProject(t)
	cfg, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	writeFile(t, filepath.Join(dir, "mlci.yaml"), string(cfg)+"  - name: bundle\n    artifact: bundle\nartifact_store: oci-layout:store\n")
	writeFile(t, filepath.Join(dir, ".gitignore"), "store/\nbundle/\n")
	writeFile(t, filepath.Join(dir, "bundle", "model.bin"), "bundle weights")
	writeFile(t, filepath.Join(dir, "bundle", "mlci.yaml"), "metrics: [evil.json]\n")
	writeFile(t, filepath.Join(dir, "bundle", ".git", "config"), "[core]\n\tbare = false # from the artifact\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "store")
	mlci = func(args ...string) result { return run(t, nil, append([]string{"-C", dir}, args...)...) }
	for _, m := range []string{"digits", "bundle"} {
		if r := mlci("model", "register", m, "--baseline", "baseline/metrics.json"); r.code != ExitOK {
			t.Fatalf("register %s: %d %s", m, r.code, r.stderr)
		}
		if r := mlci("promote", m, "--to", "dev"); r.code != ExitOK {
			t.Fatalf("promote %s: %d %s", m, r.code, r.stderr)
		}
	}
	return dir, mlci
}

// Whoever can write to the artifact store cannot swap the model a stage
// holds: pull fetches the manifest the registry's tag recorded.
func TestPullByRecordedDigest(t *testing.T) {
	dir, mlci := storeProject(t)
	ctx := context.Background()
	store, err := artifact.Open(ctx, "oci-layout:store", dir, artifact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(t.TempDir(), "knn.bin")
	writeFile(t, evil, "backdoored weights")
	pushed, err := store.Push(ctx, "digits", evil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"digits-dev", "digits-v0.0.1"} {
		if err := store.Tag(ctx, pushed.Digest, tag); err != nil {
			t.Fatal(err)
		}
	}
	for _, ref := range []string{"digits#dev", "digits@v0.0.1"} {
		out := filepath.Join(t.TempDir(), "out")
		r := mlci("model", "pull", ref, "-o", out)
		if r.code != ExitOK || strings.Contains(r.stdout, pushed.Digest) {
			t.Fatalf("pull %s: %d %s%s", ref, r.code, r.stdout, r.stderr)
		}
		if got, _ := os.ReadFile(filepath.Join(out, "knn.bin")); string(got) != "weights v1" {
			t.Errorf("pull %s gave %q, not the registered artifact", ref, got)
		}
	}
}

func TestPullOutput(t *testing.T) {
	dir, mlci := storeProject(t)
	t.Chdir(dir) // where -o goes if it were taken from the process, not -C
	config, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
	gitConfig, _ := os.ReadFile(filepath.Join(dir, ".git", "config"))
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr on failure, in stdout on success
	}{
		{"artifact with .git into the checkout", []string{"model", "pull", "bundle#dev", "-o", "."}, ExitUsage, `refusing tar entry ".git/": mlci never writes a ".git" folder`},
		{"artifact with .git anywhere", []string{"model", "pull", "bundle#dev", "-o", "elsewhere"}, ExitUsage, `refusing tar entry ".git/": mlci never writes a ".git" folder`},
		{"into .git", []string{"model", "pull", "digits#dev", "-o", ".git/hooks"}, ExitUsage, "-o .git/hooks is inside a .git folder"},
		{"into a nested .git", []string{"model", "pull", "digits#dev", "-o", "sub/.git"}, ExitUsage, "-o sub/.git is inside a .git folder"},
		{"over an existing file", []string{"model", "pull", "digits#dev", "-o", "model"}, ExitUsage, "knn.bin exists in model; pass --force to replace"},
		{"unknown stage", []string{"model", "pull", "digits#prod", "-o", "x"}, ExitUsage, "no version of digits is in prod (stages with a version: dev)"},
		{"unknown version", []string{"model", "pull", "digits@v9.9.9", "-o", "x"}, ExitUsage, "digits v9.9.9 is not registered (versions: v0.0.1)"},
		{"unknown model", []string{"model", "pull", "nope#dev", "-o", "x"}, ExitUsage, "no versions of nope are registered"},
		{"not a reference", []string{"model", "pull", "digits", "-o", "x"}, ExitUsage, "name a stage (NAME#STAGE) or a version"},
		{"default folder", []string{"model", "pull", "digits#dev"}, ExitOK, "into digits-v0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mlci(tt.args...)
			out := r.stderr
			if tt.code == ExitOK {
				out = r.stdout
			}
			if r.code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", r.code, r.stdout, r.stderr, tt.code, tt.want)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml")); string(got) != string(config) {
				t.Errorf("mlci.yaml was overwritten:\n%s", got)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, ".git", "config")); string(got) != string(gitConfig) {
				t.Errorf(".git/config was overwritten:\n%s", got)
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "digits-v0.0.1", "knn.bin")); string(got) != "weights v1" {
		t.Errorf("default folder: knn.bin = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("a refused pull left its folder")
	}
	// A second pull into the default folder needs --force, and gets it.
	if r := mlci("model", "pull", "digits#dev"); r.code != ExitUsage || !strings.Contains(r.stderr, "--force") {
		t.Errorf("second pull: exit %d %s", r.code, r.stderr)
	}
	if r := mlci("model", "pull", "digits#dev", "--force"); r.code != ExitOK {
		t.Errorf("second pull with --force: exit %d %s", r.code, r.stderr)
	}
	if r := mlci("model", "pull", "digits#dev", "-o", "model", "--force"); r.code != ExitOK {
		t.Errorf("pull over the model with --force: exit %d %s", r.code, r.stderr)
	}
}

// A registration whose record names a store tag instead of a digest is
// refused: the store would resolve the tag, which it can move.
func TestPullRefusesRecordWithoutDigest(t *testing.T) {
	dir, mlci := storeProject(t)
	writeFile(t, filepath.Join(dir, "params.yaml"), "k: 9\n")
	git(t, dir, "commit", "-q", "-am", "next")
	msg := registry.FormatMessage(registry.Tag{Artifact: "digits", Version: "v0.0.9"}, registry.Record{Manifest: "digits-dev"})
	git(t, dir, "tag", "-a", "digits@v0.0.9", "-m", msg)
	r := mlci("model", "pull", "digits@v0.0.9", "-o", filepath.Join(t.TempDir(), "out"), "--remote", "")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "not a digest") {
		t.Errorf("pull of a record naming a tag: %d %s%s; want exit 2 saying it is not a digest", r.code, r.stdout, r.stderr)
	}
}
