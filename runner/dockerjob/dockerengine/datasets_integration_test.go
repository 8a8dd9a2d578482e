//go:build integration

package dockerengine_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/datasync"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/remote"
	"github.com/mlci/mlci/runner/dockerjob"
	"github.com/mlci/mlci/runner/dockerjob/dockerengine"
	"github.com/mlci/mlci/runner/dockerjob/dockertest"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
)

// TestDatasetByDigestVolume runs the whole path on a real engine: a
// dataset pushed as mlci data push does, asked for by digest by a job on
// a host that never had it, pulled, verified and copied into a sealed
// volume a job container reads; a second job gets the same volume
// without the remote.
func TestDatasetByDigestVolume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dj, err := dockerjob.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dj.Close() })
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	image := dockertest.BusyboxImage(t, api, "cat", "find")

	// Unique content, so the digest (and the volume named after it) is
	// this run's alone.
	project := t.TempDir()
	files := map[string]string{"a.txt": "alpha " + dockertest.RunID(), "sub/b.txt": "beta"}
	for p, c := range files {
		dst := filepath.Join(project, "ds", p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := datahash.Hash(ctx, filepath.Join(project, "ds"), datahash.Options{Algorithm: digest.Default})
	if err != nil {
		t.Fatal(err)
	}
	remoteDir := t.TempDir()
	store, err := remote.OpenLocal(remoteDir)
	if err != nil {
		t.Fatal(err)
	}
	set := datasync.NewSet("ds", &lockfile.Dataset{Digest: res.Root, Path: "ds"}, res.Entries)
	if _, err := datasync.Push(ctx, project, store, set, remote.TransferOptions{}); err != nil {
		t.Fatal(err)
	}

	cfg := hostconfig.Default()
	cfg.StateDir = t.TempDir()
	cfg.DatasetRemote = &hostconfig.DatasetRemote{URL: "local:" + remoteDir}
	host := &jobrun.Host{Config: cfg, Engine: dockerengine.New(dj)}
	ms, env, err := host.Datasets(ctx, "train@"+string(res.Root), image)
	if err != nil {
		t.Fatal(err)
	}
	vol := ms[0].Volume
	t.Cleanup(func() {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := api.VolumeRemove(rctx, vol, true); err != nil {
			t.Errorf("remove dataset volume %s: %v", vol, err)
		}
	})
	if env["MLCI_DATASET_TRAIN_DIGEST"] != string(res.Root) {
		t.Errorf("env = %v", env)
	}

	read := func(cmd ...string) string {
		t.Helper()
		spec := dockerjob.Spec{Image: image, Cmd: cmd, User: "65534", Labels: dockertest.Labels(),
			Mounts: []dockerjob.Mount{{Source: vol, Target: ms[0].Target, Volume: true, ReadOnly: true}}}
		var out, errOut bytes.Buffer
		if code, err := dj.Run(ctx, spec, &out, &errOut); err != nil || code != 0 {
			t.Fatalf("%v: exit %d, %v: %s", cmd, code, err, errOut.String())
		}
		return out.String()
	}
	if got := read("cat", "/datasets/train/a.txt", "/datasets/train/sub/b.txt"); got != files["a.txt"]+"beta" {
		t.Errorf("job read %q", got)
	}
	want := "/datasets/train/" + dockerjob.CompleteMarker + "\n/datasets/train/a.txt\n/datasets/train/sub/b.txt\n"
	if got := read("find", "/datasets/train", "-type", "f"); !sameLines(got, want) {
		t.Errorf("volume holds\n%s\nwant\n%s", got, want)
	}

	if err := os.RemoveAll(filepath.Join(remoteDir, "objects")); err != nil {
		t.Fatal(err)
	}
	again, _, err := host.Datasets(ctx, "other@"+string(res.Root), image)
	if err != nil || again[0].Volume != vol {
		t.Fatalf("second job: %+v, %v; want volume %s without the remote", again, err, vol)
	}
}

func sameLines(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	if len(x) != len(y) {
		return false
	}
	seen := map[string]int{}
	for _, s := range x {
		seen[s]++
	}
	for _, s := range y {
		if seen[s]--; seen[s] < 0 {
			return false
		}
	}
	return true
}
