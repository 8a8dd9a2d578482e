package jobrun

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/datahash"
)

func TestDatasets(t *testing.T) {
	f := newFixture(t, 0)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a.csv"), []byte("x,y\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.host.Config.Datasets = map[string]string{"train-set": src, "other": t.TempDir()}
	want, err := datahash.Hash(t.Context(), src, datahash.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	f.host.Engine = &hostEngine{volume: func(ctx context.Context, digest, dir, image string) (string, error) {
		calls = append(calls, digest+" "+dir+" "+image)
		return "mlci-data-" + digest[:10], nil
	}}
	t.Run("mounted by digest", func(t *testing.T) {
		ms, env, err := f.host.Datasets(t.Context(), "train-set", "img:1")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].Digest != string(want.Root) || ms[0].Target != "/datasets/train-set" {
			t.Fatalf("mounts = %+v; want train-set at /datasets/train-set with digest %s", ms, want.Root)
		}
		if env["MLCI_DATASET_TRAIN_SET"] != "/datasets/train-set" || env["MLCI_DATASET_TRAIN_SET_DIGEST"] != string(want.Root) {
			t.Errorf("env = %v", env)
		}
		if len(calls) != 1 || calls[0] != string(want.Root)+" "+src+" img:1" {
			t.Errorf("DatasetVolume calls = %v", calls)
		}
	})
	t.Run("changed folder, new digest", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(src, "b.csv"), []byte("3,4\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ms, _, err := f.host.Datasets(t.Context(), "train-set", "img:1")
		if err != nil {
			t.Fatal(err)
		}
		if ms[0].Digest == string(want.Root) {
			t.Error("digest did not change with the folder's content")
		}
	})
	t.Run("none asked", func(t *testing.T) {
		ms, env, err := f.host.Datasets(t.Context(), "", "img:1")
		if err != nil || ms != nil || env != nil {
			t.Errorf("got %v %v %v", ms, env, err)
		}
	})
	t.Run("unknown name", func(t *testing.T) {
		_, _, err := f.host.Datasets(t.Context(), "train-set,imagenet", "img:1")
		if err == nil || !strings.Contains(err.Error(), `"imagenet", which this runner does not offer (it offers: other, train-set;`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no volume support", func(t *testing.T) {
		f.host.Engine = nil
		if _, _, err := f.host.Datasets(t.Context(), "train-set", "img:1"); err == nil {
			t.Error("no error without an engine")
		}
	})
}
