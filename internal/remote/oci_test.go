package remote

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/remote/remotetest"
)

func openT(t *testing.T, spec string, opt Options) Store {
	t.Helper()
	s, err := Open(context.Background(), spec, "", opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOCIRegistry(t *testing.T) {
	host := remotetest.StartRegistry(t, nil)
	t.Run("contract", func(t *testing.T) {
		storeContract(t, openT(t, "oci://"+host+"/mlci/contract", Options{}), digest.SHA256)
	})
	t.Run("round trip", func(t *testing.T) {
		roundTrip(t, openT(t, "oci://"+host+"/mlci/roundtrip", Options{}), digest.SHA256)
	})
	t.Run("blake3 refused", func(t *testing.T) {
		s := openT(t, "oci://"+host+"/mlci/blake3", Options{})
		d, content := blob(digest.BLAKE3, "blake3")
		if err := s.Put(context.Background(), d, int64(len(content)), bytes.NewReader(content)); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("Put of a blake3 object: %v, want ErrUnsupported", err)
		}
	})
}

// TestOCIAuth puts HTTP basic authentication in front of the registry.
func TestOCIAuth(t *testing.T) {
	host := remotetest.StartRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "right-password" {
				w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	creds := func(pass string) Options {
		return Options{Credential: func(string) (string, string, error) { return "ci", pass, nil }}
	}
	tests := []struct {
		name    string
		opt     Options
		wantErr error
	}{
		{"right password", creds("right-password"), nil},
		{"wrong password", creds("wrong-password"), ErrAuth},
		{"anonymous", Options{}, ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openT(t, "oci://"+host+"/mlci/auth", tt.opt)
			ds := makeDataset(digest.SHA256, 3)
			_, err := Push(context.Background(), s, ds.objects, ds.open, fast)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("push: %v, want %v", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "wrong-password") || strings.Contains(err.Error(), "\n")) {
				t.Fatalf("message holds the password or several lines: %q", err)
			}
		})
	}
}

func TestOCIFlakyConnection(t *testing.T) {
	host := remotetest.StartRegistry(t, nil)
	const drops = 4
	proxy := flakyProxy(t, "http://"+host, drops, func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") ||
			r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
	})
	flaky := openT(t, "oci://"+strings.TrimPrefix(proxy.srv.URL, "http://")+"/mlci/flaky", Options{})
	ds := makeDataset(digest.SHA256, 20)
	st, err := Push(context.Background(), flaky, ds.objects, ds.open, fast)
	if err != nil || st.Retries < drops {
		t.Fatalf("push through dropped connections: %+v, %v", st, err)
	}
	// Straight from the registry, every object is whole.
	direct := openT(t, "oci://"+host+"/mlci/flaky", Options{})
	dir := t.TempDir()
	if _, err := Pull(context.Background(), direct, ds.objects, ds.into(t, dir), fast); err != nil {
		t.Fatal(err)
	}
	ds.check(t, dir)
	proxy.reset(drops)
	dir = t.TempDir()
	if st, err = Pull(context.Background(), flaky, ds.objects, ds.into(t, dir), fast); err != nil || st.Retries < drops {
		t.Fatalf("pull through dropped connections: %+v, %v", st, err)
	}
	ds.check(t, dir)
}
