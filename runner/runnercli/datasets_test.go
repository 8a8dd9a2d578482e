package runnercli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/runner/runnercli"
)

// pulled is a dataset copy as the runner keeps it under
// state_dir/datasets: its folder, and beside it a record of its size
// dated by its last use.
type pulled struct {
	name  string
	size  int
	day   int // last used on this day of January 2026
	inUse bool
}

func (p pulled) digest() digest.Digest {
	h := digest.Default.New()
	h.Write([]byte(p.name))
	return digest.New(digest.Default, h.Sum(nil))
}

func (p pulled) lastUsed() string {
	return time.Date(2026, 1, p.day, 12, 0, 0, 0, time.UTC).Local().Format("2006-01-02 15:04:05")
}

// withPulled lays the copies out in h's state directory; one in use is
// locked as a job being set up holds it, until the test ends.
func (h *host) withPulled(ps ...pulled) {
	t := h.t
	t.Helper()
	for _, p := range ps {
		d := p.digest()
		dir := filepath.Join(h.env["MLCI_RUNNER_STATE_DIR"], "datasets", string(d.Algorithm())+"-"+d.Hex())
		writeFile(t, filepath.Join(dir, "data.bin"), strings.Repeat("x", p.size))
		writeFile(t, dir+".json", fmt.Sprintf(`{"name":%q,"bytes":%d,"files":1}`, p.name, p.size))
		at := time.Date(2026, 1, p.day, 12, 0, 0, 0, time.UTC)
		if err := os.Chtimes(dir+".json", at, at); err != nil {
			t.Fatal(err)
		}
		if p.inUse {
			f, err := os.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDatasetsCmd(t *testing.T) {
	a := pulled{name: "imagenet", size: 3 << 20, day: 1}
	b := pulled{name: "weights", size: 1536, day: 2, inUse: true}
	c := pulled{name: "eval", size: 10, day: 3}
	tests := []struct {
		name   string
		config string
		copies []pulled
		args   []string
		want   string
	}{
		{
			name: "nothing pulled",
			args: []string{"datasets"},
			want: "no datasets pulled\n",
		},
		{
			name:   "listed least recently used first",
			config: "dataset_max_bytes: 4MiB\ndataset_cache_max_bytes: 8MiB\n",
			copies: []pulled{c, a, b},
			args:   []string{"datasets"},
			want: "" +
				"NAME      DIGEST                                                                   SIZE    LAST USED            IN USE\n" +
				"imagenet  " + string(a.digest()) + "  3MiB    " + a.lastUsed() + "  no\n" +
				"weights   " + string(b.digest()) + "  1.5KiB  " + b.lastUsed() + "  yes\n" +
				"eval      " + string(c.digest()) + "  10B     " + c.lastUsed() + "  no\n" +
				"3.0MiB in 3 datasets, of 8MiB allowed (dataset_cache_max_bytes)\n",
		},
		{
			name:   "prune evicts the least recently used down to the cap",
			config: "dataset_max_bytes: 2KiB\ndataset_cache_max_bytes: 2KiB\n",
			copies: []pulled{a, b, c},
			args:   []string{"datasets", "prune"},
			want: "evicted imagenet " + string(a.digest()) + " (3MiB, last used " + a.lastUsed() + ")\n" +
				"freed 3MiB in 1 dataset; 1.5KiB in 2 datasets kept, of 2KiB allowed\n",
		},
		{
			name:   "prune under the cap evicts nothing",
			copies: []pulled{a, c},
			args:   []string{"datasets", "prune"},
			want:   "freed 0B in 0 datasets; 3.0MiB in 2 datasets kept, of 400GiB allowed\n",
		},
		{
			name:   "prune --all keeps only what a job is reading",
			copies: []pulled{a, b, c},
			args:   []string{"datasets", "prune", "--all"},
			want: "evicted imagenet " + string(a.digest()) + " (3MiB, last used " + a.lastUsed() + ")\n" +
				"evicted eval " + string(c.digest()) + " (10B, last used " + c.lastUsed() + ")\n" +
				"kept weights " + string(b.digest()) + " (1.5KiB): a job is reading it\n" +
				"freed 3.0MiB in 2 datasets; 1.5KiB in 1 dataset kept, of 400GiB allowed\n",
		},
		{
			name:   "over the cap with what jobs are reading",
			config: "dataset_max_bytes: 1KiB\ndataset_cache_max_bytes: 1KiB\n",
			copies: []pulled{b},
			args:   []string{"datasets", "prune"},
			want: "kept weights " + string(b.digest()) + " (1.5KiB): a job is reading it\n" +
				"freed 0B in 0 datasets; 1.5KiB in 1 dataset kept, of 1KiB allowed\n" +
				"still over dataset_cache_max_bytes: 1 in use; a job reads its datasets only while its volumes are filled, so prune again in a moment\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, nil)
			if tc.config != "" {
				writeFile(t, h.env["MLCI_RUNNER_CONFIG"], tc.config)
			}
			h.withPulled(tc.copies...)
			r := h.mustRun(tc.args...)
			if r.stdout != tc.want {
				t.Errorf("mlci-runner %s printed\n%s\nwant\n%s", strings.Join(tc.args, " "), r.stdout, tc.want)
			}
		})
	}
}

func TestDatasetsCmdJSON(t *testing.T) {
	h := newHost(t, nil)
	a := pulled{name: "imagenet", size: 100, day: 1}
	b := pulled{name: "weights", size: 10, day: 2, inUse: true}
	h.withPulled(a, b)

	var list struct {
		Datasets []struct {
			Name   string `json:"name"`
			Digest string `json:"digest"`
			Bytes  int64  `json:"bytes"`
			InUse  bool   `json:"in_use"`
		} `json:"datasets"`
		MaxBytes int64 `json:"max_bytes"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("--json", "datasets").stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Datasets) != 2 || list.Datasets[0].Name != "imagenet" || list.Datasets[0].Digest != string(a.digest()) ||
		list.Datasets[0].Bytes != 100 || list.Datasets[0].InUse || !list.Datasets[1].InUse || list.MaxBytes != 400<<30 {
		t.Errorf("datasets --json = %+v", list)
	}

	var pruned struct {
		Evicted []struct {
			Name string `json:"name"`
		} `json:"evicted"`
		Kept []struct {
			Name string `json:"name"`
		} `json:"kept"`
		Bytes int64 `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(h.mustRun("--json", "datasets", "prune", "--all").stdout), &pruned); err != nil {
		t.Fatal(err)
	}
	if len(pruned.Evicted) != 1 || pruned.Evicted[0].Name != "imagenet" || len(pruned.Kept) != 1 || pruned.Kept[0].Name != "weights" || pruned.Bytes != 10 {
		t.Errorf("datasets prune --all --json = %+v", pruned)
	}
}

func TestDatasetsCmdBadConfig(t *testing.T) {
	h := newHost(t, nil)
	writeFile(t, h.env["MLCI_RUNNER_CONFIG"], "dataset_max_bytes: 100GiB\ndataset_cache_max_bytes: 10GiB\n")
	r := h.run("datasets")
	if r.code != runnercli.ExitUsage {
		t.Errorf("exit %d, want %d", r.code, runnercli.ExitUsage)
	}
	oneErrorLine(t, r.stderr, "dataset_cache_max_bytes (10GiB) is smaller than dataset_max_bytes (100GiB)")
}
