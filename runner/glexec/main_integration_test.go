//go:build integration

package glexec

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/volume"

	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// TestMain removes what this run left on the Docker Engine and fails the
// run if anything labelled with its dockertest.RunID remains.
func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

// labelCache creates j's cache volume, labelled for this run, before the
// job's container would create it unlabelled: removeJob removes it by its
// name, and dockertest.Main by its label if removeJob never ran.
func (e *engine) labelCache(t *testing.T, j job) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.api.VolumeCreate(ctx, volume.CreateOptions{Name: j.volume(), Labels: dockertest.Labels()}); err != nil {
		t.Fatalf("create cache volume %s: %v", j.volume(), err)
	}
}
