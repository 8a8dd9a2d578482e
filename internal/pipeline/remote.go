package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/datasync"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/remote"
)

// StatusNotPushed is a data check result's status when the dataset matches
// the lock but the remote the run checks lacks some of its objects.
const StatusNotPushed = "not-pushed"

// DataRemote is the remote a run proves the datasets are in.
type DataRemote struct {
	Name  string // as mlci.yaml's remotes: names it, for messages
	Store remote.Store
}

// checkRemote marks each dataset that matches the lock but whose objects
// the remote lacks as failed, naming the first missing files and the fix.
// Nothing is downloaded but tree objects a clone lacks.
func checkRemote(ctx context.Context, p *project.Project, r *DataRemote, lock *lockfile.Lock, manifests *lockfile.Manifests, results []datacheck.Result) (failed int, err error) {
	for i := range results {
		res := &results[i]
		ds, ok := lock.Datasets[res.Name]
		if res.Status != datacheck.StatusOK || !ok {
			continue // failed already, or not locked
		}
		msg, err := remoteMessage(ctx, p, r, lock, manifests, res.Name, ds)
		if err != nil {
			return 0, err
		}
		if msg != "" {
			res.Status, res.Message = StatusNotPushed, msg
			failed++
		}
	}
	return failed, nil
}

// remoteMessage says what the remote lacks of one dataset; "" when
// nothing.
func remoteMessage(ctx context.Context, p *project.Project, r *DataRemote, lock *lockfile.Lock, manifests *lockfile.Manifests, name string, ds *lockfile.Dataset) (string, error) {
	fix := fmt.Sprintf("run mlci data push %s --remote %s where its files are", name, r.Name)
	if ds.InTrees() {
		err := datasync.FetchTrees(ctx, p.Root, r.Store, name, ds)
		switch {
		case errors.Is(err, remote.ErrNotFound):
			return fmt.Sprintf("its tree objects are not in remote %s: %s", r.Name, fix), nil
		case err != nil:
			return "", remoteError(r, err)
		}
	}
	sets, err := datasync.Sets(lock, manifests, []string{name})
	if err != nil {
		return "", err
	}
	res, err := datasync.Check(ctx, r.Store, sets[0], datasync.CheckOptions{})
	if err != nil {
		return "", remoteError(r, err)
	}
	if len(res.Missing) == 0 {
		return "", nil
	}
	m := res.Missing[0]
	return fmt.Sprintf("%d of %d objects are not in remote %s (first: %s %s); %s", len(res.Missing), res.Objects, r.Name, m.Kind, m.Paths[0], fix), nil
}

// remoteError: refused credentials or a remote that kept failing are the
// service's failure (exit 3).
func remoteError(r *DataRemote, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return exitcode.With(exitcode.Service, fmt.Errorf("remote %s: %w", r.Name, err))
}
