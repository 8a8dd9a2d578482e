//go:build integration

package dockerengine_test

import (
	"os"
	"testing"

	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// TestMain removes what this run left on the Docker Engine and fails the
// run if anything labelled with its dockertest.RunID remains.
func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }
