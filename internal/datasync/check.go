package datasync

import (
	"context"
	"fmt"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/remote"
)

// DefaultBatch is how many digests one Has call asks about.
const DefaultBatch = 1000

// CheckResult is how much of one dataset a remote holds.
type CheckResult struct {
	Dataset string        `json:"dataset"`
	Digest  digest.Digest `json:"digest"`
	Objects int           `json:"objects"` // distinct blobs and trees
	Missing []Missing     `json:"missing"` // in the order the objects were listed
}

// CheckOptions control one Check.
type CheckOptions struct {
	// Batch is how many digests one Has call asks about; 0 means
	// DefaultBatch.
	Batch int
	// Progress, when set, is told of each object asked about.
	Progress remote.Progress
}

// Check asks store, in batches, whether it holds every blob and tree
// object of s, downloading nothing.
func Check(ctx context.Context, store remote.Store, s *Set, opts CheckOptions) (CheckResult, error) {
	batch := opts.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	blobs, trees := s.Blobs(), s.treeObjects()
	objects := append(blobs, trees...)
	res := CheckResult{Dataset: s.Name, Digest: s.Dataset.Digest, Objects: len(objects), Missing: []Missing{}}
	if opts.Progress != nil {
		opts.Progress.SetTotal(int64(len(objects)), 0)
	}
	// Asked in digest order, which S3 answers by listing (remote.ByDigest);
	// reported in the dataset's order, files before trees.
	index := make(map[digest.Digest]int, len(objects))
	for i, o := range objects {
		index[o.Digest] = i
	}
	sorted := remote.ByDigest(objects)
	absent := make([]bool, len(objects))
	for start := 0; start < len(sorted); start += batch {
		part := sorted[start:min(start+batch, len(sorted))]
		ds := make([]digest.Digest, len(part))
		for i, o := range part {
			ds[i] = o.Digest
		}
		present, err := store.Has(ctx, ds)
		if err != nil {
			return res, fmt.Errorf("dataset %s: %w", s.Name, err)
		}
		if opts.Progress != nil {
			opts.Progress.Add(int64(len(part)), 0)
		}
		for i, ok := range present {
			if !ok {
				absent[index[ds[i]]] = true
			}
		}
	}
	for i, gone := range absent {
		if !gone {
			continue
		}
		d := objects[i].Digest
		m := Missing{Dataset: s.Name, Digest: d}
		if i < len(blobs) {
			m.Kind = s.Entries[s.byDigest[d][0]].Type.String()
			m.Paths = s.Paths(d)
		} else {
			m.Kind = "tree"
			m.Paths = []string{s.treePath(d)}
		}
		res.Missing = append(res.Missing, m)
	}
	return res, nil
}
