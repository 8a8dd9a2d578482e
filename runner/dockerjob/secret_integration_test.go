//go:build integration

package dockerjob

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoHeaders writes a request's headers the way a registry (or a proxy in
// front of one) that echoes them into an error body might.
func echoHeaders(r *http.Request) string {
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "%s: %s; ", k, strings.Join(r.Header[k], ","))
	}
	return b.String()
}

// echoRegistry is a registry on 127.0.0.1, which dockerd treats as insecure
// (plain HTTP) by default, that asks for credentials and then fails the
// step named by fail with a body echoing the request's headers.
type echoRegistry struct {
	srv    *httptest.Server
	bearer bool   // challenge with a token server instead of Basic
	fail   string // "manifest-400", "manifest-401", "blob-400", "token-400"

	mu   sync.Mutex
	auth []string // Authorization headers dockerd sent
}

// registryToken is what the fake token server issues; it is as secret as
// the password.
const registryToken = "tok-SECRET-123"

func (g *echoRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a := r.Header.Get("Authorization"); a != "" {
		g.mu.Lock()
		g.auth = append(g.auth, a)
		g.mu.Unlock()
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config": map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json",
			"size": len(cfg), "digest": fmt.Sprintf("sha256:%x", sha256.Sum256(cfg))},
		"layers": []any{},
	})
	switch {
	case r.URL.Path == "/token":
		if g.fail == "token-400" {
			http.Error(w, echoHeaders(r), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"token": registryToken})
	case r.URL.Path == "/v2/" && r.Header.Get("Authorization") == "":
		if g.bearer {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="echo"`, g.srv.URL))
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="echo"`)
		}
		w.WriteHeader(http.StatusUnauthorized)
	case r.URL.Path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case strings.Contains(r.URL.Path, "/manifests/") && g.fail == "manifest-400":
		http.Error(w, echoHeaders(r), http.StatusBadRequest)
	case strings.Contains(r.URL.Path, "/manifests/") && g.fail == "manifest-401":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]string{"code": "UNAUTHORIZED", "message": echoHeaders(r)}}})
	case strings.Contains(r.URL.Path, "/manifests/"):
		w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
		w.Header().Set("Docker-Content-Digest", fmt.Sprintf("sha256:%x", sha256.Sum256(manifest)))
		_, _ = w.Write(manifest)
	default: // blobs
		http.Error(w, echoHeaders(r), http.StatusBadRequest)
	}
}

// The engine forwards our registry credentials to the registry and quotes
// the registry's error body in the pull error; EnsureImage must scrub them
// whether the error comes back from the pull call or inside its stream.
func TestEnsureImageEchoingRegistry(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	c, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tests := []struct {
		name   string
		bearer bool
		fail   string
		scheme string // the scheme dockerd sends to the failing step
	}{
		{"basic, manifest 400", false, "manifest-400", "Basic"},
		{"basic, manifest 401 with the headers as message", false, "manifest-401", "Basic"},
		{"basic, blob 400 in the pull stream", false, "blob-400", "Basic"},
		{"bearer, manifest 400", true, "manifest-400", "Bearer"},
		{"bearer, token server 400", true, "token-400", "Basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &echoRegistry{bearer: tt.bearer, fail: tt.fail}
			reg.srv = httptest.NewServer(reg)
			t.Cleanup(reg.srv.Close)
			host := strings.TrimPrefix(reg.srv.URL, "http://")
			auth := testAuth
			auth.ServerAddress = host
			ref := host + "/private/img-" + randHex(t, 4) + ":v1"

			err := c.EnsureImage(ctx, ref, auth)
			if err == nil {
				t.Fatal("EnsureImage succeeded")
			}
			t.Logf("error: %v", err)
			reg.mu.Lock()
			sent := slices.Clone(reg.auth)
			reg.mu.Unlock()
			// Without forwarded credentials the test would prove nothing.
			if !slices.ContainsFunc(sent, func(a string) bool { return strings.HasPrefix(a, tt.scheme+" ") }) {
				t.Fatalf("dockerd sent no %s Authorization header (sent %q)", tt.scheme, sent)
			}
			noLeak(t, err.Error(), auth)
			for _, want := range []string{"pulling image " + ref, "Authorization: " + tt.scheme + " [redacted]"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q", want)
				}
			}
		})
	}
}
