package github

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/retry"
)

func TestFromEnv(t *testing.T) {
	base := map[string]string{
		"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/e.json",
		"GITHUB_SHA": mergeSHA, "GITHUB_RUN_ID": "42",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{
			name: "GITHUB_TOKEN with defaults",
			env:  with("GITHUB_TOKEN", "t1"),
			want: Config{Token: "t1", APIURL: "https://api.github.com", Repository: "o/r", EventName: "pull_request",
				EventPath: "/e.json", SHA: mergeSHA, ServerURL: "https://github.com", RunURL: "https://github.com/o/r/actions/runs/42"},
		},
		{
			name: "MLCI_GITHUB_TOKEN wins over INPUT_TOKEN and GITHUB_TOKEN",
			env:  with("GITHUB_TOKEN", "t1", "INPUT_TOKEN", "t2", "MLCI_GITHUB_TOKEN", "t3"),
			want: Config{Token: "t3"},
		},
		{
			name: "INPUT_TOKEN wins over GITHUB_TOKEN",
			env:  with("GITHUB_TOKEN", "t1", "INPUT_TOKEN", " t2\n"),
			want: Config{Token: "t2"},
		},
		{
			name: "GHES URLs",
			env:  with("GITHUB_TOKEN", "t", "GITHUB_API_URL", "https://ghe.example/api/v3", "GITHUB_SERVER_URL", "https://ghe.example/"),
			want: Config{Token: "t", APIURL: "https://ghe.example/api/v3", Repository: "o/r", EventName: "pull_request", EventPath: "/e.json",
				SHA: mergeSHA, ServerURL: "https://ghe.example/", RunURL: "https://ghe.example/o/r/actions/runs/42"},
		},
		{
			name:    "missing token says what to set",
			env:     base,
			wantErr: "set GITHUB_TOKEN: in the workflow, `env: GITHUB_TOKEN: ${{ github.token }}`, or the action's token input",
		},
		{
			name:    "missing repository",
			env:     map[string]string{"GITHUB_TOKEN": "t"},
			wantErr: "GITHUB_REPOSITORY is not set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Compare only the fields a case names, beyond the token.
			opts := cmp.Options{cmpopts.IgnoreFields(Config{}, "HTTPClient", "Retry", "Logger")}
			if tt.want.APIURL == "" {
				opts = append(opts, cmpopts.IgnoreFields(Config{}, "APIURL", "Repository", "EventName", "EventPath", "SHA", "ServerURL", "RunURL"))
			}
			if diff := cmp.Diff(tt.want, got, opts...); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveTarget(t *testing.T) {
	pr := func(n int, sha string) map[string]any {
		return map[string]any{"pull_request": map[string]any{"number": n, "head": map[string]any{"sha": sha}}}
	}
	tests := []struct {
		name    string
		event   string
		payload any // nil: no event file
		sha     string
		want    target
		wantErr string
	}{
		{name: "pull_request uses the head sha", event: "pull_request", payload: pr(7, headSHA), sha: mergeSHA,
			want: target{prs: []int{7}, sha: headSHA}},
		{name: "pull_request_target", event: "pull_request_target", payload: pr(9, headSHA), sha: mergeSHA,
			want: target{prs: []int{9}, sha: headSHA}},
		{name: "pull_request without head sha falls back to GITHUB_SHA", event: "pull_request", payload: pr(7, ""), sha: mergeSHA,
			want: target{prs: []int{7}, sha: mergeSHA}},
		{name: "push looks up by commit", event: "push", sha: pushSHA, want: target{sha: pushSHA, lookup: true}},
		{name: "workflow_dispatch looks up by commit", event: "workflow_dispatch", payload: map[string]any{}, sha: pushSHA,
			want: target{sha: pushSHA, lookup: true}},
		{name: "workflow_run with pull requests", event: "workflow_run", sha: pushSHA,
			payload: map[string]any{"workflow_run": map[string]any{"head_sha": headSHA, "pull_requests": []map[string]any{{"number": 3}, {"number": 4}}}},
			want:    target{prs: []int{3, 4}, sha: headSHA}},
		{name: "workflow_run from a fork has none", event: "workflow_run", sha: pushSHA,
			payload: map[string]any{"workflow_run": map[string]any{"head_sha": headSHA, "pull_requests": []any{}}},
			want:    target{sha: headSHA, lookup: true}},
		{name: "pull_request without an event file", event: "pull_request", sha: mergeSHA, wantErr: "GITHUB_EVENT_PATH is not set"},
		{name: "pull_request without a number", event: "pull_request", payload: map[string]any{"action": "opened"}, sha: mergeSHA,
			wantErr: "has no pull_request.number"},
		{name: "bad JSON", event: "pull_request", payload: "{not json", sha: mergeSHA, wantErr: "parse the pull_request event"},
		{name: "push without GITHUB_SHA", event: "push", wantErr: "GITHUB_SHA is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{EventName: tt.event, SHA: tt.sha}
			switch p := tt.payload.(type) {
			case nil:
			case string:
				cfg.EventPath = filepath.Join(t.TempDir(), "bad.json")
				if err := os.WriteFile(cfg.EventPath, []byte(p), 0o600); err != nil {
					t.Fatal(err)
				}
			default:
				cfg.EventPath = writeEvent(t, p)
			}
			got, err := resolveTarget(cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(target{})); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewAPIURL(t *testing.T) {
	s := newFake(t)
	tests := []struct {
		name, apiURL string
	}{
		{"GHES URL ending in /api/v3", strings.TrimSuffix(s.URL(), "/")},
		{"GHES URL ending in /api/v3/", s.URL()},
		{"GHES server URL without the API path", s.ServerURL()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(t, s, userToken, &sleeps{})
			cfg.APIURL = tt.apiURL
			f := newForge(t, cfg)
			if f.apiURL != s.URL() {
				t.Errorf("base URL = %q, want %q", f.apiURL, s.URL())
			}
			if _, err := f.Post(context.Background(), forge.Report{ID: tt.name, Body: "x"}); err != nil {
				t.Fatalf("Post: %v", err)
			}
		})
	}
	t.Run("github.com keeps the default base", func(t *testing.T) {
		f := newForge(t, Config{Token: "t", APIURL: "https://api.github.com/", Repository: "o/r", EventName: "push", SHA: pushSHA})
		if f.apiURL != "https://api.github.com/" {
			t.Errorf("base URL = %q", f.apiURL)
		}
	})
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no token", Config{Repository: "o/r"}, "set GITHUB_TOKEN"},
		{"bad repository", Config{Token: "t", Repository: "o"}, `repository "o" is not owner/name`},
		{"relative API URL", Config{Token: "t", Repository: "o/r", EventName: "push", SHA: pushSHA, APIURL: "ghe.example"}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Retry = retry.Policy{}
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
