package register

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ghforge "github.com/mlci/mlci/internal/forge/github"
	"github.com/mlci/mlci/internal/forge/githubfake"
)

func TestRegisterGitHub(t *testing.T) {
	resetFar := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	tests := []struct {
		name     string
		target   GitHubTarget
		opts     GitHubOptions
		token    string // "" means the admin token
		setup    func(f *githubfake.Server)
		want     []error
		contains string
		wantReq  *githubfake.JITRequest
		attempts int // POSTs expected; 0 means 1
	}{
		{
			name:   "repo defaults",
			target: GitHubTarget{Owner: "o", Repo: "r"},
			opts:   GitHubOptions{Name: "gpu-1", Labels: []string{"self-hosted", "gpu", "GPU", " ", "h100"}},
			wantReq: &githubfake.JITRequest{Scope: "repos/o/r", Name: "gpu-1", RunnerGroupID: 1,
				Labels: []string{"self-hosted", "gpu", "h100"}, WorkFolder: "_work"},
		},
		{
			name:    "org with group and folder",
			target:  GitHubTarget{Org: "acme"},
			opts:    GitHubOptions{Name: "gpu-2", Labels: []string{"a100"}, RunnerGroupID: 4, WorkFolder: "/scratch"},
			wantReq: &githubfake.JITRequest{Scope: "orgs/acme", Name: "gpu-2", RunnerGroupID: 4, Labels: []string{"a100"}, WorkFolder: "/scratch"},
		},
		{
			name:   "5xx once then ok",
			target: GitHubTarget{Org: "acme"},
			opts:   GitHubOptions{Name: "gpu-3", Labels: []string{"x"}},
			setup: func(f *githubfake.Server) {
				f.Fail(githubfake.Fault{Method: "POST", Path: "/orgs/*/actions/runners/*", Status: 502})
			},
			attempts: 2,
		},
		{
			name:   "rate limit resets soon then ok",
			target: GitHubTarget{Org: "acme"},
			opts:   GitHubOptions{Name: "gpu-4", Labels: []string{"x"}},
			setup: func(f *githubfake.Server) {
				f.Fail(githubfake.Fault{Path: "/orgs/*/actions/runners/*", Status: 403, Message: "API rate limit exceeded",
					Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10)}})
			},
			attempts: 2,
		},
		{
			name:   "rate limit resets in an hour",
			target: GitHubTarget{Org: "acme"},
			opts:   GitHubOptions{Name: "gpu-5", Labels: []string{"x"}},
			setup: func(f *githubfake.Server) {
				f.Fail(githubfake.Fault{Path: "/orgs/*/actions/runners/*", Status: 403, Message: "API rate limit exceeded",
					Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": resetFar}})
			},
			want: []error{ErrService}, contains: "rate limit",
		},
		{
			name:   "5xx every time",
			target: GitHubTarget{Owner: "o", Repo: "r"},
			opts:   GitHubOptions{Name: "gpu-6", Labels: []string{"x"}},
			setup: func(f *githubfake.Server) {
				f.Fail(githubfake.Fault{Path: "/repos/*/*/actions/runners/*", Status: 502, Times: 10})
			},
			want: []error{ErrService}, contains: "GitHub API failing (HTTP 502) after 3 attempts; retry later", attempts: 3,
		},
		{
			name:   "401 echoing the token",
			target: GitHubTarget{Owner: "o", Repo: "r"},
			opts:   GitHubOptions{Name: "gpu-7", Labels: []string{"x"}},
			setup: func(f *githubfake.Server) {
				f.Fail(githubfake.Fault{Status: 401, Message: "Bad credentials: {token}"})
			},
			want: []error{ErrUsage, ErrUnauthorized}, contains: "token rejected (HTTP 401)",
		},
		{
			name:   "unknown token",
			target: GitHubTarget{Owner: "o", Repo: "r"}, token: "ghp_unknownCCCCCCCCCCCCCCCCCCCC",
			opts: GitHubOptions{Name: "gpu-8", Labels: []string{"x"}},
			want: []error{ErrUsage, ErrUnauthorized}, contains: "HTTP 401",
		},
		{
			name:   "403 without rate limit",
			target: GitHubTarget{Owner: "o", Repo: "r"}, token: "ghp_readonlyDDDDDDDDDDDDDDDDDDDD",
			opts: GitHubOptions{Name: "gpu-9", Labels: []string{"x"}},
			want: []error{ErrUsage, ErrForbidden}, contains: "Administration: write",
		},
		{
			name:   "404 repo",
			target: GitHubTarget{Owner: "o", Repo: "missing"},
			opts:   GitHubOptions{Name: "gpu-10", Labels: []string{"x"}},
			want:   []error{ErrUsage, ErrNotFound}, contains: "repository o/missing not found or the token cannot see it",
		},
		{
			name:   "409 duplicate name",
			target: GitHubTarget{Org: "acme"},
			opts:   GitHubOptions{Name: "taken", Labels: []string{"x"}},
			setup:  func(f *githubfake.Server) { f.AddRunner("orgs/acme", "TAKEN") },
			want:   []error{ErrUsage, ErrExists}, contains: `a runner named "taken" already exists (HTTP 409)`,
		},
		{
			name:   "422 duplicate name",
			target: GitHubTarget{Org: "acme"},
			opts:   GitHubOptions{Name: "dup", Labels: []string{"x"}},
			setup: func(f *githubfake.Server) {
				f.Fail(githubfake.Fault{Status: 422, Message: "Name already exists"})
			},
			want: []error{ErrUsage, ErrExists}, contains: "(HTTP 422)",
		},
		{
			name:   "422 other",
			target: GitHubTarget{Org: "acme"},
			opts:   GitHubOptions{Name: "bad", Labels: []string{"x"}},
			setup: func(f *githubfake.Server) {
				f.Fail(githubfake.Fault{Status: 422, Message: "Validation Failed for {token}"})
			},
			want: []error{ErrUsage}, contains: "GitHub rejected the request (HTTP 422)",
		},
		{name: "both targets", target: GitHubTarget{Owner: "o", Repo: "r", Org: "acme"}, opts: GitHubOptions{Name: "n", Labels: []string{"x"}}, want: []error{ErrUsage}, contains: "not both"},
		{name: "no target", opts: GitHubOptions{Name: "n", Labels: []string{"x"}}, want: []error{ErrUsage}, contains: "no target"},
		{name: "repo without owner", target: GitHubTarget{Repo: "r"}, opts: GitHubOptions{Name: "n", Labels: []string{"x"}}, want: []error{ErrUsage}, contains: "not owner/name"},
		{name: "no labels", target: GitHubTarget{Org: "acme"}, opts: GitHubOptions{Name: "n", Labels: []string{" "}}, want: []error{ErrUsage}, contains: "no labels"},
		{name: "no name", target: GitHubTarget{Org: "acme"}, opts: GitHubOptions{Labels: []string{"x"}}, want: []error{ErrUsage}, contains: "name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newGitHub(t)
			f.AddToken("ghp_readonlyDDDDDDDDDDDDDDDDDDDD", "reader", true, false)
			if tt.setup != nil {
				tt.setup(f)
			}
			if tt.token != "" {
				var err error
				if c, err = NewGitHubClientWith(tt.token, f.URL(), fastRetry()); err != nil {
					t.Fatal(err)
				}
			}
			got, err := RegisterGitHub(context.Background(), c, tt.target, tt.opts)
			checkErr(t, err, tt.want, tt.contains, ghToken, tt.token)
			posts := 0
			for _, r := range f.Requests() {
				if strings.HasPrefix(r, "POST ") {
					posts++
				}
			}
			wantPosts := tt.attempts
			if wantPosts == 0 && (tt.wantReq != nil || tt.setup != nil || tt.token != "" || errors.Is(err, ErrNotFound)) {
				wantPosts = 1
			}
			if posts != wantPosts {
				t.Errorf("POSTs = %d, want %d (%v)", posts, wantPosts, f.Requests())
			}
			if err != nil {
				return
			}
			if got.ID == 0 || got.Name != tt.opts.Name || got.EncodedJITConfig != githubfake.JITConfig(got.ID) {
				t.Errorf("runner = %+v", got)
			}
			if tt.wantReq != nil {
				reqs := f.JITRequests()
				if diff := cmp.Diff([]githubfake.JITRequest{*tt.wantReq}, reqs); diff != "" {
					t.Errorf("request body (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantReq.Labels, got.Labels); diff != "" {
					t.Errorf("labels (-want +got):\n%s", diff)
				}
			}
			js, _ := json.Marshal(got)
			if strings.Contains(string(js), got.EncodedJITConfig) {
				t.Errorf("JSON %s holds the JIT config", js)
			}
		})
	}
}

func TestUnregisterGitHub(t *testing.T) {
	tests := []struct {
		name     string
		target   GitHubTarget
		scope    string
		missing  bool
		fault    *githubfake.Fault
		want     []error
		contains string
	}{
		{name: "repo", target: GitHubTarget{Owner: "o", Repo: "r"}, scope: "repos/o/r"},
		{name: "org", target: GitHubTarget{Org: "acme"}, scope: "orgs/acme"},
		{name: "already gone", target: GitHubTarget{Org: "acme"}, scope: "orgs/acme", missing: true},
		{name: "5xx once", target: GitHubTarget{Org: "acme"}, scope: "orgs/acme", fault: &githubfake.Fault{Method: "DELETE", Path: "/orgs/acme/actions/runners/*", Status: 503}},
		{name: "busy", target: GitHubTarget{Org: "acme"}, scope: "orgs/acme",
			fault: &githubfake.Fault{Method: "DELETE", Path: "/orgs/acme/actions/runners/*", Status: 422, Message: `Bad request - Runner "x" is still running a job"`},
			want:  []error{ErrService}, contains: "still running a job"},
		{name: "403", target: GitHubTarget{Org: "acme"}, scope: "orgs/acme",
			fault: &githubfake.Fault{Method: "DELETE", Status: 403, Message: "Must have admin rights"},
			want:  []error{ErrUsage, ErrForbidden}, contains: "admin:org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newGitHub(t)
			id := f.AddRunner(tt.scope, "gpu")
			if tt.missing {
				id += 100
			}
			if tt.fault != nil {
				f.Fail(*tt.fault)
			}
			err := UnregisterGitHub(context.Background(), c, tt.target, id)
			checkErr(t, err, tt.want, tt.contains, ghToken)
			if left := len(f.Runners(tt.scope)); err == nil && !tt.missing && left != 0 {
				t.Errorf("%d runners left, want 0", left)
			}
		})
	}
}

func TestFindGitHub(t *testing.T) {
	f, c := newGitHub(t)
	// Runners the name filter would hide are all listed, as an old GHES
	// that ignores ?name= would; 250 of them make three pages.
	var wantID int64
	for i := range 250 {
		id := f.AddRunner("orgs/acme", "gpu-"+strconv.Itoa(i))
		if i == 234 {
			wantID = id
		}
	}
	tests := []struct {
		name   string
		find   string
		wantID int64
		wantOK bool
	}{
		{name: "present", find: "gpu-234", wantID: wantID, wantOK: true},
		{name: "case-insensitive", find: "GPU-234", wantID: wantID, wantOK: true},
		{name: "absent", find: "gpu-999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok, err := FindGitHub(context.Background(), c, GitHubTarget{Org: "acme"}, tt.find)
			if err != nil || id != tt.wantID || ok != tt.wantOK {
				t.Errorf("FindGitHub = %d, %v, %v; want %d, %v, nil", id, ok, err, tt.wantID, tt.wantOK)
			}
		})
	}
	t.Run("paginates without the name filter", func(t *testing.T) {
		g, gc := newGitHub(t)
		for i := range 205 {
			g.AddRunner("repos/o/r", "r"+strconv.Itoa(i))
		}
		// An empty name matches every runner via the filter, so the search
		// for a name nobody has walks every page.
		_, ok, err := FindGitHub(context.Background(), gc, GitHubTarget{Owner: "o", Repo: "r"}, "")
		if err != nil || ok {
			t.Fatalf("FindGitHub = %v, %v", ok, err)
		}
		if got := len(g.Requests()); got != 3 {
			t.Errorf("%d list requests, want 3 pages: %v", got, g.Requests())
		}
	})
	t.Run("404", func(t *testing.T) {
		_, _, err := FindGitHub(context.Background(), c, GitHubTarget{Org: "nope"}, "x")
		checkErr(t, err, []error{ErrUsage, ErrNotFound}, "organization nope not found", ghToken)
	})
}

func TestNewGitHubClient(t *testing.T) {
	tests := []struct {
		name, token, url, wantBase string
		wantErr                    string
	}{
		{name: "github.com", token: "t", url: "", wantBase: "https://api.github.com/"},
		{name: "GHES host", token: "t", url: "https://ghe.example.com", wantBase: "https://ghe.example.com/api/v3/"},
		{name: "GHES api path", token: "t", url: "https://ghe.example.com/api/v3/", wantBase: "https://ghe.example.com/api/v3/"},
		{name: "no token", url: "", wantErr: "GITHUB_TOKEN or pass --token"},
		{name: "bad url", token: "t", url: "ghe.example.com", wantErr: "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewGitHubClient(tt.token, tt.url)
			if tt.wantErr != "" {
				checkErr(t, err, []error{ErrUsage}, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BaseURL.String(); got != tt.wantBase {
				t.Errorf("BaseURL = %q, want %q", got, tt.wantBase)
			}
		})
	}
}

func TestGitHubCancelledContext(t *testing.T) {
	_, c := newGitHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := RegisterGitHub(ctx, c, GitHubTarget{Org: "acme"}, GitHubOptions{Name: "n", Labels: []string{"x"}})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUsage) || errors.Is(err, ErrService) {
		t.Errorf("err = %v, want context.Canceled only", err)
	}
}

func TestErrorUnwrapsLibraryError(t *testing.T) {
	f, c := newGitHub(t)
	f.Fail(githubfake.Fault{Status: http.StatusTeapot})
	_, err := RegisterGitHub(context.Background(), c, GitHubTarget{Org: "acme"}, GitHubOptions{Name: "n", Labels: []string{"x"}})
	var e *ghforge.Error
	if !errors.As(err, &e) || e.Status != http.StatusTeapot {
		t.Fatalf("err = %v, want *github.Error with status 418", err)
	}
}
