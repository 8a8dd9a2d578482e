package artifact

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge/retry"
)

// A registry that accepts connections and never answers must not hang
// register or pull: each attempt times out, as the forge clients' do, and
// the retries end.
func TestRegistryThatNeverAnswers(t *testing.T) {
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	s, err := Open(ctx, "oci://"+host+"/mlci/digits", "", Options{
		Timeout: 100 * time.Millisecond,
		Retry:   retry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(file, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	ops := []struct {
		name string
		do   func() error
	}{
		{"push", func() error { _, err := s.Push(ctx, "digits", file, nil); return err }},
		{"tag", func() error {
			return s.Tag(ctx, "sha256:0000000000000000000000000000000000000000000000000000000000000000", "digits-dev")
		}},
		{"pull", func() error {
			_, err := s.Pull(ctx, "digits-dev", filepath.Join(t.TempDir(), "out"), PullOptions{})
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			requests.Store(0)
			done := make(chan error, 1)
			go func() { done <- op.do() }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "timeout") {
					t.Errorf("error = %v; want a timeout", err)
				}
				if n := requests.Load(); n != 3 {
					t.Errorf("%d requests, want 3 (the first and two retries)", n)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("did not return within 10s")
			}
		})
	}
}

func TestOpenKeepsCredentialsOutOfErrors(t *testing.T) {
	for _, spec := range []string{"oci://bot:s3cret@registry.example.com/ml/digits", "oci://s3cret@registry.example.com/ml/digits"} {
		_, err := Open(context.Background(), spec, "", Options{})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error = %v; want one without the credentials", spec, err)
		}
	}
}
