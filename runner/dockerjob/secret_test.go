package dockerjob

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// testAuth has a password with characters that Go's %q, JSON and URL
// encoding all escape, so each encoded form is a different string.
var testAuth = Auth{Username: "alice", Password: `s3cret"Pw\!`, ServerAddress: "registry.example.com"}

// leaks lists the forms of testAuth's password no message may hold.
func leaks(t *testing.T, a Auth) []string {
	t.Helper()
	ra, err := registryAuth(a)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.URLEncoding.DecodeString(ra)
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		a.Password,
		`s3cret\"Pw\\!`, // as %q and JSON write it
		"s3cret%22Pw%5C%21",
		base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password)),
		ra,
		base64.StdEncoding.EncodeToString(raw),
		"tok-SECRET-123",
		"id-token-SECRET",
	}
}

func noLeak(t *testing.T, msg string, a Auth) {
	t.Helper()
	for _, l := range leaks(t, a) {
		if strings.Contains(msg, l) {
			t.Errorf("message holds the secret %q:\n%s", l, msg)
		}
	}
}

func TestScrub(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(testAuth.Username + ":" + testAuth.Password))
	ra, err := registryAuth(testAuth)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		{
			// dockerd 20.10, registry answering the manifest GET with a 400
			// whose body lists the request's headers.
			name: "manifest 400 body quoted by the engine",
			in:   `Error response from daemon: error parsing HTTP 400 response body: invalid character 'A' looking for beginning of value: "Accept-Encoding: gzip; Authorization: Basic ` + basic + `; Connection: close; User-Agent: docker/20.10.24"`,
			want: `Error response from daemon: error parsing HTTP 400 response body: invalid character 'A' looking for beginning of value: "Accept-Encoding: gzip; Authorization: Basic [redacted]; Connection: close; User-Agent: docker/20.10.24"`,
		},
		{
			name: "401 with the headers as the error's message",
			in:   `Error response from daemon: Head "http://127.0.0.1:46815/v2/private/img/manifests/v1": unauthorized: Accept-Encoding: gzip; Authorization: Basic ` + basic + `; Connection: close;`,
			want: `Error response from daemon: Head "http://127.0.0.1:46815/v2/private/img/manifests/v1": unauthorized: Accept-Encoding: gzip; Authorization: Basic [redacted]; Connection: close;`,
		},
		{
			name: "registry bearer token, lower-case header",
			in:   `error parsing HTTP 400 response body: "authorization: Bearer tok-SECRET-123\r\nuser-agent: docker"`,
			want: `error parsing HTTP 400 response body: "authorization: Bearer [redacted]\r\nuser-agent: docker"`,
		},
		{
			name: "Go's printing of an http.Header",
			in:   `bad request: map[Authorization:[Bearer tok-SECRET-123] User-Agent:[docker/20.10.24]]`,
			want: `bad request: map[Authorization:[Bearer [redacted]] User-Agent:[docker/20.10.24]]`,
		},
		{
			name: "JSON headers inside a %q-quoted body",
			in:   `error parsing HTTP 400 response body: "{\"Authorization\":[\"Bearer tok-SECRET-123\"],\"Accept\":[\"*/*\"]}"`,
			want: `error parsing HTTP 400 response body: "{\"Authorization\":[\"Bearer [redacted]\"],\"Accept\":[\"*/*\"]}"`,
		},
		{
			name: "identity token without a scheme",
			in:   `denied: Proxy-Authorization=id-token-SECRET, retry`,
			want: `denied: Proxy-Authorization=[redacted], retry`,
		},
		{
			name: "X-Registry-Auth echoed",
			in:   `400: X-Registry-Auth: ` + ra,
			want: `400: X-Registry-Auth: [redacted]`,
		},
		{
			name: "X-Registry-Auth without its header name",
			in:   `invalid config ` + ra + ` given`,
			want: `invalid config [redacted] given`,
		},
		{
			name: "basic credentials without a header name",
			in:   `token server said: bad credentials ` + basic,
			want: `token server said: bad credentials [redacted]`,
		},
		{
			name: "raw password from an echoed form body",
			in:   `error parsing HTTP 400 response body: "grant_type=password&username=alice&password=s3cret%22Pw%5C%21"`,
			want: `error parsing HTTP 400 response body: "grant_type=password&username=alice&password=[redacted]"`,
		},
		{
			name: "raw password as %q writes it",
			in:   `unauthorized: "password s3cret\"Pw\\! rejected"`,
			want: `unauthorized: "password [redacted] rejected"`,
		},
		{
			name: "raw password verbatim",
			in:   `unauthorized: password s3cret"Pw\! rejected for alice`,
			want: `unauthorized: password [redacted] rejected for alice`,
		},
		{
			name: "nothing secret stays as it was",
			in:   `Error response from daemon: unauthorized: authentication required; WWW-Authenticate: Basic realm="registry"`,
			want: `Error response from daemon: unauthorized: authentication required; WWW-Authenticate: Basic realm="registry"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scrub(tt.in, testAuth)
			if got != tt.want {
				t.Errorf("scrub:\n got %s\nwant %s", got, tt.want)
			}
			noLeak(t, got, testAuth)
		})
	}
}

func TestScrubWithoutCredentials(t *testing.T) {
	in := `pull access denied for x, repository does not exist or may require 'docker login'`
	if got := scrub(in, Auth{}); got != in {
		t.Errorf("scrub changed %q to %q", in, got)
	}
	if got := scrub("Authorization: Bearer tok-SECRET-123", Auth{}); got != "Authorization: Bearer [redacted]" {
		t.Errorf("scrub without credentials kept a header value: %q", got)
	}
}

// scrubErr keeps what callers branch on.
func TestScrubErrKeepsClasses(t *testing.T) {
	secret := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+testAuth.Password))
	tests := []struct {
		name string
		err  error
		is   func(error) bool
	}{
		{"not found", cerrdefs.ErrNotFound.WithMessage("manifest unknown: " + secret), cerrdefs.IsNotFound},
		{"unauthenticated", cerrdefs.ErrUnauthenticated.WithMessage(secret), cerrdefs.IsUnauthorized},
		{"cancelled", fmt.Errorf("%s: %w", secret, context.Canceled), func(err error) bool { return errors.Is(err, context.Canceled) }},
		{"engine", engineError{errors.New(secret)}, func(err error) bool { return errors.Is(err, ErrEngine) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("pulling image x: %w", scrubErr(tt.err, testAuth))
			if !tt.is(err) {
				t.Errorf("%v lost its class", err)
			}
			if !strings.Contains(err.Error(), "Authorization: Basic [redacted]") {
				t.Errorf("error %q is not scrubbed", err)
			}
			noLeak(t, err.Error(), testAuth)
		})
	}
	if scrubErr(nil, testAuth) != nil {
		t.Error("scrubErr(nil) != nil")
	}
	plain := errors.New("no such image")
	if got := scrubErr(plain, testAuth); got != plain {
		t.Errorf("scrubErr wrapped an error with nothing to scrub: %#v", got)
	}
}

// fakeEngine answers the Docker API calls EnsureImage makes: the image is
// missing, and the pull fails with a message that echoes the credentials
// the client sent, as dockerd does for a registry that echoes headers.
func fakeEngine(t *testing.T, pull func(w http.ResponseWriter, echo string)) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/json") && strings.Contains(r.URL.Path, "/images/"):
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": "No such image"})
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/images/create"):
			ra := r.Header.Get("X-Registry-Auth")
			data, err := base64.URLEncoding.DecodeString(ra)
			if err != nil {
				t.Errorf("X-Registry-Auth %q: %v", ra, err)
			}
			var cfg struct{ Username, Password string }
			if err := json.Unmarshal(data, &cfg); err != nil {
				t.Errorf("X-Registry-Auth %s: %v", data, err)
			}
			basic := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))
			pull(w, fmt.Sprintf("Authorization: Basic %s; X-Registry-Auth: %s; password=%s", basic, ra, cfg.Password))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	t.Cleanup(srv.Close)
	api, err := client.NewClientWithOpts(client.WithHost("tcp://"+strings.TrimPrefix(srv.URL, "http://")), client.WithVersion("1.41"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return FromAPI(api)
}

func TestEnsureImageScrubsCredentials(t *testing.T) {
	tests := []struct {
		name     string
		pull     func(w http.ResponseWriter, echo string)
		notFound bool
	}{
		{
			name: "engine refuses the pull",
			pull: func(w http.ResponseWriter, echo string) {
				w.WriteHeader(http.StatusNotFound)
				_ = json.NewEncoder(w).Encode(map[string]string{"message": "manifest for x not found: " + echo})
			},
			notFound: true,
		},
		{
			name: "pull fails inside the progress stream",
			pull: func(w http.ResponseWriter, echo string) {
				enc := json.NewEncoder(w)
				_ = enc.Encode(map[string]string{"status": "Pulling from private/img"})
				_ = enc.Encode(map[string]string{"error": "error parsing HTTP 400 response body: " + echo})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeEngine(t, tt.pull)
			err := c.EnsureImage(context.Background(), "registry.example.com/private/img:v1", testAuth)
			if err == nil {
				t.Fatal("EnsureImage succeeded")
			}
			noLeak(t, err.Error(), testAuth)
			for _, want := range []string{"pulling image registry.example.com/private/img:v1", "Authorization: Basic [redacted]", "X-Registry-Auth: [redacted]"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if got := cerrdefs.IsNotFound(err); got != tt.notFound {
				t.Errorf("cerrdefs.IsNotFound = %v, want %v (%v)", got, tt.notFound, err)
			}
		})
	}
}
