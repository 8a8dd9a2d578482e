package register

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/forge/gitlabfake"
)

func TestRegisterGitLab(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name     string
		opts     GitLabOptions
		token    string
		fault    *gitlabfake.Fault
		want     []error
		contains string
		wantReq  *gitlabfake.CreateRunnerRequest
	}{
		{
			name: "project runner derived type",
			opts: GitLabOptions{ProjectID: 7, Description: "gpu box", Tags: []string{"gpu", "h100", "gpu"}, Locked: true, MaximumTimeout: 3600},
			wantReq: &gitlabfake.CreateRunnerRequest{RunnerType: "project_type", ProjectID: 7, Description: "gpu box",
				TagList: []string{"gpu", "h100"}, RunUntagged: &no, Locked: &yes, MaximumTimeout: 3600},
		},
		{
			name:    "group runner",
			opts:    GitLabOptions{GroupID: 9, Tags: []string{"a100"}, RunUntagged: true},
			wantReq: &gitlabfake.CreateRunnerRequest{RunnerType: "group_type", GroupID: 9, TagList: []string{"a100"}, RunUntagged: &yes, Locked: &no},
		},
		{
			name:    "instance runner untagged",
			opts:    GitLabOptions{RunnerType: InstanceType, RunUntagged: true},
			wantReq: &gitlabfake.CreateRunnerRequest{RunnerType: "instance_type", RunUntagged: &yes, Locked: &no},
		},
		{
			name:    "5xx once then ok",
			opts:    GitLabOptions{ProjectID: 7, Tags: []string{"x"}},
			fault:   &gitlabfake.Fault{Method: "POST", Path: "/user/runners", Status: 500},
			wantReq: &gitlabfake.CreateRunnerRequest{RunnerType: "project_type", ProjectID: 7, TagList: []string{"x"}, RunUntagged: &no, Locked: &no},
		},
		{
			name: "5xx every time", opts: GitLabOptions{ProjectID: 7, Tags: []string{"x"}},
			fault: &gitlabfake.Fault{Path: "/user/runners", Status: 503, Times: 5},
			want:  []error{ErrService}, contains: "GitLab API failing (HTTP 503) after 3 attempts; retry later",
		},
		{
			name: "403 scope", opts: GitLabOptions{ProjectID: 7, Tags: []string{"x"}}, token: "glpat-noScopeEEEEEEEEEEEE",
			want: []error{ErrUsage, ErrForbidden}, contains: "create_runner or api scope",
		},
		{
			name: "401 echoing the token", opts: GitLabOptions{ProjectID: 7, Tags: []string{"x"}},
			fault: &gitlabfake.Fault{Status: 401, Message: "invalid token {token}"},
			want:  []error{ErrUsage, ErrUnauthorized}, contains: "token rejected (HTTP 401)",
		},
		{
			name: "400 echoing the token", opts: GitLabOptions{ProjectID: 7, Tags: []string{"x"}},
			fault: &gitlabfake.Fault{Status: 400, Message: "bad {token}"},
			want:  []error{ErrUsage}, contains: "GitLab rejected the request (HTTP 400)",
		},
		{
			name: "404 project", opts: GitLabOptions{ProjectID: 8, Tags: []string{"x"}},
			want: []error{ErrUsage, ErrNotFound}, contains: "project 8 not found",
		},
		{name: "both ids", opts: GitLabOptions{ProjectID: 7, GroupID: 9, Tags: []string{"x"}}, want: []error{ErrUsage}, contains: "not both"},
		{name: "type mismatch", opts: GitLabOptions{RunnerType: GroupType, ProjectID: 7, Tags: []string{"x"}}, want: []error{ErrUsage}, contains: "does not match"},
		{name: "unknown type", opts: GitLabOptions{RunnerType: "shared", Tags: []string{"x"}}, want: []error{ErrUsage}, contains: "is not one of"},
		{name: "no tags, not untagged", opts: GitLabOptions{ProjectID: 7}, want: []error{ErrUsage}, contains: "never get a job"},
		{name: "timeout too short", opts: GitLabOptions{ProjectID: 7, Tags: []string{"x"}, MaximumTimeout: 60}, want: []error{ErrUsage}, contains: "minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newGitLab(t)
			f.AddToken("glpat-noScopeEEEEEEEEEEEE", "noscope", true)
			if tt.fault != nil {
				f.Fail(*tt.fault)
			}
			if tt.token != "" {
				var err error
				if c, err = NewGitLabClientWith(tt.token, f.URL(), fastRetry()); err != nil {
					t.Fatal(err)
				}
			}
			got, err := RegisterGitLab(context.Background(), c, tt.opts)
			checkErr(t, err, tt.want, tt.contains, glToken, tt.token)
			if err != nil {
				return
			}
			if got.ID == 0 || got.Token != gitlabfake.RunnerToken(got.ID) || got.TokenExpiresAt == nil || !got.TokenExpiresAt.Equal(gitlabfake.RunnerTokenExpiry()) {
				t.Errorf("runner = %+v", got)
			}
			if diff := cmp.Diff([]gitlabfake.CreateRunnerRequest{*tt.wantReq}, f.CreateRequests()); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantReq.TagList, got.Tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			js, _ := json.Marshal(got)
			if strings.Contains(string(js), got.Token) {
				t.Errorf("JSON %s holds the runner token", js)
			}
		})
	}
}

func TestUnregisterGitLab(t *testing.T) {
	tests := []struct {
		name     string
		missing  bool
		fault    *gitlabfake.Fault
		want     []error
		contains string
	}{
		{name: "deleted"},
		{name: "already gone", missing: true},
		{name: "5xx once", fault: &gitlabfake.Fault{Method: "DELETE", Status: 502}},
		{name: "403", fault: &gitlabfake.Fault{Method: "DELETE", Status: 403}, want: []error{ErrUsage, ErrForbidden}, contains: "HTTP 403"},
		{name: "5xx every time", fault: &gitlabfake.Fault{Method: "DELETE", Status: 500, Times: 3}, want: []error{ErrService}, contains: "after 3 attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newGitLab(t)
			r, err := RegisterGitLab(context.Background(), c, GitLabOptions{ProjectID: 7, Tags: []string{"x"}})
			if err != nil {
				t.Fatal(err)
			}
			id := r.ID
			if tt.missing {
				id += 100
			}
			if tt.fault != nil {
				f.Fail(*tt.fault)
			}
			err = UnregisterGitLab(context.Background(), c, id)
			checkErr(t, err, tt.want, tt.contains, glToken, r.Token)
			if err == nil && !tt.missing && len(f.Runners()) != 0 {
				t.Errorf("runners left: %v", f.Runners())
			}
		})
	}
}

func TestNewGitLabClient(t *testing.T) {
	tests := []struct {
		name, token, url, wantBase, wantErr string
	}{
		{name: "gitlab.com", token: "t", wantBase: "https://gitlab.com/api/v4/"},
		{name: "self-managed", token: "t", url: "https://git.example.com", wantBase: "https://git.example.com/api/v4/"},
		{name: "no token", wantErr: "GITLAB_TOKEN or pass --token"},
		{name: "bad url", token: "t", url: "git.example.com", wantErr: "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewGitLabClient(tt.token, tt.url)
			if tt.wantErr != "" {
				checkErr(t, err, []error{ErrUsage}, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BaseURL().String(); got != tt.wantBase {
				t.Errorf("BaseURL = %q, want %q", got, tt.wantBase)
			}
		})
	}
}
