package jobrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/statecache"
	"github.com/mlci/mlci/runner/hostconfig"
)

// DatasetsDir is where datasets appear in a job container.
const DatasetsDir = "/datasets"

// DatasetMount is one host dataset a job asked for, as a read-only cache
// volume keyed by the folder's content digest: jobs that see the same bytes
// share one copy, and a changed folder gets a new volume.
type DatasetMount struct {
	Name   string
	Digest string
	Volume string
	Target string
}

// Datasets resolves MLCI_DATASETS for a job running image: comma-separated
// names from the runner config's datasets:, or NAME@DIGEST for the exact
// version a lock pins (mlci.lock's digest), which the runner pulls from its
// dataset_remote when it does not hold it. The host folders are hashed
// with mlci's data hasher; its state cache under the state directory makes
// an unchanged folder cost a stat per file.
//
// A copy pulled by digest stays locked against the cache's eviction until
// its volume is filled, which is the last time the job needs it: the job
// reads the volume, never the copy.
func (h *Host) Datasets(ctx context.Context, list, image string) ([]DatasetMount, map[string]string, error) {
	names := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' })
	if len(names) == 0 {
		return nil, nil, nil
	}
	if h.Engine == nil {
		return nil, nil, errors.New("this runner cannot mount datasets (no Docker volume support configured)")
	}
	known := make([]string, 0, len(h.Config.Datasets))
	for n := range h.Config.Datasets {
		known = append(known, n)
	}
	sort.Strings(known)
	cacheDir := filepath.Join(h.Config.StateDir, "cache")
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("dataset cache: %w", err)
	}
	var held []*heldCopy
	defer func() {
		for _, c := range held {
			c.release()
		}
	}()
	var out []DatasetMount
	env := map[string]string{}
	seen := map[string]bool{}
	for _, item := range names {
		n, want, err := parseDatasetItem(item)
		if err != nil {
			return nil, nil, err
		}
		if seen[n] {
			return nil, nil, fmt.Errorf("%s names dataset %s twice: each name is one folder under %s", EnvDatasets, n, DatasetsDir)
		}
		seen[n] = true
		var src string
		var root digest.Digest
		if want != "" {
			var c *heldCopy
			if src, c, err = h.datasetByDigest(ctx, n, want, cacheDir); err != nil {
				return nil, nil, err
			}
			if c != nil {
				held = append(held, c)
			}
			root = want
		} else {
			var ok bool
			if src, ok = h.Config.Datasets[n]; !ok {
				return nil, nil, fmt.Errorf("%s names dataset %q, which this runner does not offer (it offers: %s; or ask for a locked version as %s@DIGEST)", EnvDatasets, n, strings.Join(known, ", "), n)
			}
			res, err := datahash.Hash(ctx, src, datahash.Options{
				Algorithm:  digest.Default,
				Cache:      statecache.Open(cacheDir, src, string(digest.Default)),
				MaxEntries: datahash.NoEntries,
			})
			if err != nil {
				return nil, nil, fmt.Errorf("dataset %s (%s): %w", n, src, err)
			}
			root = res.Root
		}
		vol, err := h.Engine.DatasetVolume(ctx, string(root), src, image)
		if err != nil {
			return nil, nil, fmt.Errorf("dataset %s: %w", n, err)
		}
		m := DatasetMount{Name: n, Digest: string(root), Volume: vol, Target: DatasetsDir + "/" + n}
		out = append(out, m)
		key := "MLCI_DATASET_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(n))
		env[key] = m.Target
		env[key+"_DIGEST"] = m.Digest
		h.logf("dataset %s: %s at %s (read-only)", n, m.Digest, m.Target)
	}
	return out, env, nil
}

// parseDatasetItem reads NAME or NAME@DIGEST. The name becomes a folder
// under DatasetsDir and an environment variable, so it is held to the
// host config's rule for names.
func parseDatasetItem(item string) (string, digest.Digest, error) {
	n, d, pinned := strings.Cut(item, "@")
	if !hostconfig.ValidName(n) {
		return "", "", fmt.Errorf("%s: %q is not a valid dataset name (letters, digits, '-', '_', '.')", EnvDatasets, n)
	}
	if !pinned {
		return n, "", nil
	}
	want, err := digest.Parse(d)
	if err != nil {
		return "", "", fmt.Errorf("%s: dataset %s: %w", EnvDatasets, n, err)
	}
	return n, want, nil
}
