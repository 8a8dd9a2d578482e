package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/remote"
	"github.com/mlci/mlci/internal/remote/remotetest"
)

// remoteProject makes a project whose dataset "ds" (data/ds) has nested
// folders, two files with the same content and a link, with remotes
// written as given under remotes:, and locks it with alg.
func remoteProject(t *testing.T, alg digest.Algorithm, remotes string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mlci.yaml"), "hash: "+string(alg)+"\ndata:\n  - name: ds\n    path: data/ds\n"+strings.Join(extra, "")+"remotes:\n"+remotes)
	ds := filepath.Join(dir, "data", "ds")
	writeFile(t, filepath.Join(ds, "a.txt"), "alpha\n")
	writeFile(t, filepath.Join(ds, "same", "a-again.txt"), "alpha\n")
	writeFile(t, filepath.Join(ds, "deep", "er", "b.bin"), strings.Repeat("b", 70000))
	writeFile(t, filepath.Join(ds, "empty"), "")
	if runtime.GOOS != "windows" {
		if err := os.Symlink("deep/er/b.bin", filepath.Join(ds, "link")); err != nil {
			t.Fatal(err)
		}
	}
	if r := run(t, nil, "-C", dir, "data", "lock"); r.code != 0 {
		t.Fatalf("data lock: %d %s", r.code, r.stderr)
	}
	return dir
}

// cloneProject is what a fresh clone of dir holds: its config and lock,
// none of its data.
func cloneProject(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	for _, f := range []string{"mlci.yaml", "mlci.lock"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, f), string(b))
	}
	entries, err := os.ReadDir(filepath.Join(dir, "mlci.lock.d"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "mlci.lock.d", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, "mlci.lock.d", e.Name()), string(b))
	}
	return dst
}

// tree lists the files and links under dir, with their content or target.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// roundTrip pushes dir's datasets, pulls them into a fresh clone, and
// checks the clone's data is the same and passes data check.
func roundTrip(t *testing.T, dir string, env map[string]string, remoteFlag ...string) string {
	t.Helper()
	push := run(t, env, append([]string{"-C", dir, "data", "push"}, remoteFlag...)...)
	if push.code != 0 {
		t.Fatalf("push: %d %s", push.code, push.stderr)
	}
	again := run(t, env, append([]string{"-C", dir, "--json", "data", "push"}, remoteFlag...)...)
	var out struct {
		Datasets []transferOutput `json:"datasets"`
	}
	if err := json.Unmarshal([]byte(again.stdout), &out); err != nil || again.code != 0 {
		t.Fatalf("second push: %d %s %v", again.code, again.stderr, err)
	}
	if d := out.Datasets[0]; d.Transferred != 0 || d.Skipped != d.Objects {
		t.Errorf("second push sent objects again: %+v", d)
	}
	clone := cloneProject(t, dir)
	if pull := run(t, env, append([]string{"-C", clone, "data", "pull"}, remoteFlag...)...); pull.code != 0 {
		t.Fatalf("pull: %d %s", pull.code, pull.stderr)
	}
	if check := run(t, env, "-C", clone, "data", "check"); check.code != 0 {
		t.Fatalf("data check after pull: %d %s %s", check.code, check.stdout, check.stderr)
	}
	ds := filepath.Join("data", "ds")
	if d := cmp.Diff(tree(t, filepath.Join(dir, ds)), tree(t, filepath.Join(clone, ds))); d != "" {
		t.Errorf("pulled data differs (-pushed +pulled):\n%s", d)
	}
	return clone
}

func TestDataPushPullLocal(t *testing.T) {
	store := t.TempDir()
	dir := remoteProject(t, digest.BLAKE3, "  - name: shared\n    url: "+store+"\n")
	clone := roundTrip(t, dir, nil)

	t.Run("pull again fetches nothing", func(t *testing.T) {
		r := run(t, nil, "-C", clone, "--json", "data", "pull")
		var out struct {
			Datasets []transferOutput `json:"datasets"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
			t.Fatalf("pull: %d %s %v", r.code, r.stderr, err)
		}
		if d := out.Datasets[0]; d.Transferred != 0 || *d.Placed != 0 || *d.Present != 5 {
			t.Errorf("second pull: %+v placed %d present %d", d, *d.Placed, *d.Present)
		}
	})

	t.Run("check remote complete", func(t *testing.T) {
		r := run(t, nil, "-C", clone, "data", "check", "--remote", "shared")
		if r.code != 0 || !strings.Contains(r.stdout, "remote shared holds all") {
			t.Fatalf("check --remote: %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// A dataset over manifest_max_files keeps its file list as tree objects,
// out of git: a fresh clone gets them from the remote.
func TestDataPushPullTrees(t *testing.T) {
	store := t.TempDir()
	dir := remoteProject(t, digest.BLAKE3, "  - name: shared\n    url: "+store+"\n", "manifest_max_files: 2\n")
	lock, err := os.ReadFile(filepath.Join(dir, "mlci.lock"))
	if err != nil || !strings.Contains(string(lock), `"trees": "objects"`) {
		t.Fatalf("the dataset is not tree-locked: %s %v", lock, err)
	}
	roundTrip(t, dir, nil)

	// Without its root tree, the remote cannot give a clone the dataset.
	root := struct {
		Datasets map[string]struct {
			Digest digest.Digest `json:"digest"`
		} `json:"datasets"`
	}{}
	if err := json.Unmarshal(lock, &root); err != nil {
		t.Fatal(err)
	}
	d := root.Datasets["ds"].Digest
	if err := os.Remove(filepath.Join(store, "objects", "blake3", d.Hex()[:2], d.Hex())); err != nil {
		t.Fatal(err)
	}
	clone := cloneProject(t, dir)
	r := run(t, nil, "-C", clone, "data", "check", "--remote", "shared")
	if r.code != 1 || !strings.Contains(r.stderr, "dataset ds: tree "+string(d)+": not in local:") || !strings.Contains(r.stderr, "run mlci data push ds") {
		t.Fatalf("check --remote without the root tree: %d %q", r.code, r.stderr)
	}
}

// objectPath is where a local remote keeps the content of a file.
func objectPath(t *testing.T, store, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h := digest.BLAKE3.New()
	h.Write(b)
	d := digest.New(digest.BLAKE3, h.Sum(nil))
	return filepath.Join(store, "objects", "blake3", d.Hex()[:2], d.Hex())
}

func TestDataCheckRemoteIncomplete(t *testing.T) {
	store := t.TempDir()
	dir := remoteProject(t, digest.BLAKE3, "  - name: shared\n    url: "+store+"\n")
	if r := run(t, nil, "-C", dir, "data", "push"); r.code != 0 {
		t.Fatalf("push: %s", r.stderr)
	}
	gone := objectPath(t, store, filepath.Join(dir, "data", "ds", "deep", "er", "b.bin"))
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "-C", dir, "data", "check", "--remote", "shared")
	if r.code != 1 {
		t.Fatalf("check --remote: %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "data/ds/deep/er/b.bin") || !strings.Contains(r.stdout, "MISSING") {
		t.Errorf("the missing file is not named:\n%s", r.stdout)
	}
	want := "mlci: remote shared lacks 1 of "
	if !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "data/ds/deep/er/b.bin of ds") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr = %q, want one line starting %q naming the file", r.stderr, want)
	}
	j := run(t, nil, "-C", dir, "--json", "data", "check", "--remote", "shared")
	var out remoteCheckOutput
	if err := json.Unmarshal([]byte(j.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.OK || out.Missing != 1 || len(out.Datasets[0].Missing) != 1 || out.Datasets[0].Missing[0].Paths[0] != "data/ds/deep/er/b.bin" || out.Datasets[0].Missing[0].Kind != "file" {
		t.Errorf("json: %+v", out)
	}
}

func TestDataRemoteErrors(t *testing.T) {
	store := t.TempDir()
	dir := remoteProject(t, digest.BLAKE3, "  - name: one\n    url: "+store+"\n  - name: two\n    url: local:elsewhere\n")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown remote", []string{"data", "push", "--remote", "three"}, 2, `no remote "three" in ` + filepath.Join(dir, "mlci.yaml") + "; configured: one, two"},
		{"unknown dataset", []string{"data", "pull", "nope"}, 2, `dataset "nope" is not in mlci.lock; locked: ds`},
		{"check unknown remote", []string{"data", "check", "--remote", "x"}, 2, "configured: one, two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"-C", dir}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
	t.Run("no remotes", func(t *testing.T) {
		d := t.TempDir()
		writeFile(t, filepath.Join(d, "mlci.yaml"), "data: [x]\n")
		writeFile(t, filepath.Join(d, "x"), "x")
		if r := run(t, nil, "-C", d, "data", "lock"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		r := run(t, nil, "-C", d, "data", "push")
		if r.code != 2 || !strings.Contains(r.stderr, "no remotes configured: add one under remotes: in mlci.yaml") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("changed since lock", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "data", "ds", "a.txt"), "ALPHA\n")
		r := run(t, nil, "-C", dir, "data", "push")
		want := "data/ds/a.txt changed since mlci data lock"
		if r.code != 2 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "run mlci data lock ds") {
			t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
		}
	})
}

func TestDataPullCorruptObject(t *testing.T) {
	store := t.TempDir()
	dir := remoteProject(t, digest.BLAKE3, "  - name: shared\n    url: "+store+"\n")
	if r := run(t, nil, "-C", dir, "data", "push"); r.code != 0 {
		t.Fatalf("push: %s", r.stderr)
	}
	obj := objectPath(t, store, filepath.Join(dir, "data", "ds", "deep", "er", "b.bin"))
	if err := os.Chmod(obj, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, bytes.Repeat([]byte("x"), 70000), 0o644); err != nil {
		t.Fatal(err)
	}
	clone := cloneProject(t, dir)
	r := run(t, nil, "-C", clone, "data", "pull")
	if r.code != 3 || !strings.Contains(r.stderr, "data/ds/deep/er/b.bin") || !strings.Contains(r.stderr, "corrupt") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("pull of a corrupt object: exit %d, stderr %q; want 3 naming the file", r.code, r.stderr)
	}
	if _, err := os.Lstat(filepath.Join(clone, "data", "ds", "deep", "er", "b.bin")); !os.IsNotExist(err) {
		t.Fatalf("the corrupt file was written: %v", err)
	}
	// Repaired, a rerun completes what the failed pull left, fetching
	// only what is missing.
	if r := run(t, nil, "-C", dir, "data", "push"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if err := os.Remove(obj); err != nil {
		t.Fatal(err)
	}
	if r := run(t, nil, "-C", dir, "data", "push"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, nil, "-C", clone, "data", "pull"); r.code != 0 {
		t.Fatalf("rerun: %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "-C", clone, "data", "check"); r.code != 0 {
		t.Fatalf("check after the rerun: %d %s", r.code, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(clone, ".mlci", "tmp")); err == nil {
		if left, _ := os.ReadDir(filepath.Join(clone, ".mlci", "tmp")); len(left) > 0 {
			t.Errorf("staging left behind: %v", left)
		}
	}
}

func TestDataPushPullOCI(t *testing.T) {
	host := remotetest.StartRegistry(t, nil)
	dir := remoteProject(t, digest.SHA256, "  - name: registry\n    url: oci://"+host+"/mlci/data\n")
	clone := roundTrip(t, dir, nil)
	if r := run(t, nil, "-C", clone, "data", "check", "--remote", "registry"); r.code != 0 {
		t.Fatalf("check --remote: %d %s%s", r.code, r.stdout, r.stderr)
	}

	t.Run("blake3 refused", func(t *testing.T) {
		dir := remoteProject(t, digest.BLAKE3, "  - name: registry\n    url: oci://"+host+"/mlci/blake3\n")
		r := run(t, nil, "-C", dir, "data", "push")
		if r.code != 2 || !strings.Contains(r.stderr, "hash datasets kept in a registry with sha256") {
			t.Fatalf("push of a blake3 dataset to a registry: %d %q", r.code, r.stderr)
		}
	})
}

// mlci ci proves the datasets are in the remote --data-remote names (or
// the GitHub Action's data-remote input, or MLCI_DATA_REMOTE): a missing
// object fails the data check, naming the file and the fix.
func TestCIDataRemote(t *testing.T) {
	store := t.TempDir()
	dir := remoteProject(t, digest.BLAKE3, "  - name: shared\n    url: "+store+"\n")
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "data")
	ci := []string{"-C", dir, "ci", "--forge", "local", "--comment-mode", "off"}
	if r := run(t, nil, append(ci, "--data-remote", "shared")...); r.code != 1 || !strings.Contains(r.stdout, "objects are not in remote shared") ||
		!strings.Contains(r.stdout, "run mlci data push") || strings.Contains(r.stdout, "run mlci data lock") {
		t.Fatalf("ci before a push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "-C", dir, "data", "push"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, nil, append(ci, "--data-remote", "shared")...); r.code != 0 {
		t.Fatalf("ci after the push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := os.Remove(objectPath(t, store, filepath.Join(dir, "data", "ds", "a.txt"))); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", nil, append(ci, "--data-remote", "shared")},
		{"environment", map[string]string{"MLCI_DATA_REMOTE": "shared"}, ci},
		{"action input", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_WORKING-DIRECTORY": dir, "INPUT_COMMAND": "ci --forge local", "INPUT_COMMENT-MODE": "off", "INPUT_DATA-REMOTE": "shared"}, []string{"action"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, tt.args...)
			want := "1 of 8 objects are not in remote shared (first: file data/ds/a.txt); run mlci data push ds --remote shared where its files are"
			if r.code != 1 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stderr, "data failed") {
				t.Fatalf("exit %d, stdout:\n%s\nstderr: %s\nwant 1 and %q", r.code, r.stdout, r.stderr, want)
			}
		})
	}
}

func TestRemoteError(t *testing.T) {
	r := config.Remote{Name: "shared"}
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"credentials refused", fmt.Errorf("has x: %w", remote.ErrAuth), ExitService},
		{"remote kept failing", fmt.Errorf("%w: reset", remote.ErrTransient), ExitService},
		{"algorithm the remote cannot keep", fmt.Errorf("x: %w", remote.ErrUnsupported), ExitUsage},
		{"disk full", &fs.PathError{Op: "write", Path: ".mlci/tmp/x", Err: syscall.ENOSPC}, ExitUsage},
		{"object the remote lacks", fmt.Errorf("get x: %w", remote.ErrNotFound), ExitFailed},
		{"own code kept", checkFailed(errors.New("missing")), ExitFailed},
		{"interrupted", context.Canceled, exitcode.Interrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitcode.Of(remoteError(r, tt.err), ExitUsage); got != tt.code {
				t.Errorf("exit %d, want %d", got, tt.code)
			}
		})
	}
}
