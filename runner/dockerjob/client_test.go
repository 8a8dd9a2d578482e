package dockerjob

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewUnreachableEngine(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "no-dockerd.sock")
	t.Setenv("DOCKER_HOST", host)
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	c, err := New(context.Background())
	if err == nil {
		c.Close()
		t.Fatal("New succeeded without an engine")
	}
	for _, want := range []string{"cannot reach the Docker Engine (DOCKER_HOST=" + host + ")", "start dockerd or set DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New error %q does not contain %q", err, want)
		}
	}
}
