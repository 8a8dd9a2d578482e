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

// Datasets resolves MLCI_DATASETS (comma-separated names from the runner
// config's datasets:) for a job running image. The host folders are hashed
// with mlci's data hasher; its state cache under the state directory makes
// an unchanged folder cost a stat per file.
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
	var out []DatasetMount
	env := map[string]string{}
	for _, n := range names {
		src, ok := h.Config.Datasets[n]
		if !ok {
			return nil, nil, fmt.Errorf("%s names dataset %q, which this runner does not offer (it offers: %s)", EnvDatasets, n, strings.Join(known, ", "))
		}
		res, err := datahash.Hash(ctx, src, datahash.Options{
			Algorithm: digest.Default,
			Cache:     statecache.Open(cacheDir, src, string(digest.Default)),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("dataset %s (%s): %w", n, src, err)
		}
		vol, err := h.Engine.DatasetVolume(ctx, string(res.Root), src, image)
		if err != nil {
			return nil, nil, fmt.Errorf("dataset %s: %w", n, err)
		}
		m := DatasetMount{Name: n, Digest: string(res.Root), Volume: vol, Target: DatasetsDir + "/" + n}
		out = append(out, m)
		key := "MLCI_DATASET_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(n))
		env[key] = m.Target
		env[key+"_DIGEST"] = m.Digest
		h.logf("dataset %s: %s at %s (read-only)", n, m.Digest, m.Target)
	}
	return out, env, nil
}
