package gitlab_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/forge/gitlab"
)

func TestFromEnv(t *testing.T) {
	ci := map[string]string{
		"GITLAB_TOKEN":         "glpat-a",
		"CI_API_V4_URL":        "https://gitlab.example/api/v4",
		"CI_PROJECT_ID":        "42",
		"CI_PROJECT_PATH":      "group/project",
		"CI_PROJECT_URL":       "https://gitlab.example/group/project",
		"CI_MERGE_REQUEST_IID": "7",
		"CI_COMMIT_SHA":        "abc",
		"CI_PIPELINE_URL":      "https://gitlab.example/group/project/-/pipelines/1",
		"CI_JOB_TOKEN":         "job",
	}
	full := gitlab.Config{
		Token: "glpat-a", APIURL: "https://gitlab.example/api/v4", Project: "42", MergeRequestIID: "7", SHA: "abc",
		PipelineURL: "https://gitlab.example/group/project/-/pipelines/1", ProjectURL: "https://gitlab.example/group/project",
	}
	with := func(edit func(map[string]string)) map[string]string {
		m := map[string]string{}
		for k, v := range ci {
			m[k] = v
		}
		edit(m)
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    gitlab.Config
		wantErr string
	}{
		{name: "merge request pipeline", env: ci, want: full},
		{
			name: "MLCI_GITLAB_TOKEN wins",
			env:  with(func(m map[string]string) { m["MLCI_GITLAB_TOKEN"] = "glpat-b" }),
			want: func() gitlab.Config { c := full; c.Token = "glpat-b"; return c }(),
		},
		{
			name: "project path when no id",
			env:  with(func(m map[string]string) { delete(m, "CI_PROJECT_ID") }),
			want: func() gitlab.Config { c := full; c.Project = "group/project"; return c }(),
		},
		{
			name: "branch pipeline has no merge request",
			env:  with(func(m map[string]string) { delete(m, "CI_MERGE_REQUEST_IID") }),
			want: func() gitlab.Config { c := full; c.MergeRequestIID = ""; return c }(),
		},
		{
			name: "outside CI defaults to gitlab.com",
			env:  map[string]string{"MLCI_GITLAB_TOKEN": "t", "CI_PROJECT_PATH": "g/p"},
			want: gitlab.Config{Token: "t", APIURL: "https://gitlab.com/api/v4", Project: "g/p"},
		},
		{
			name:    "only the job token",
			env:     with(func(m map[string]string) { delete(m, "GITLAB_TOKEN") }),
			wantErr: "set GITLAB_TOKEN (a project access token with api scope) as a masked CI/CD variable; CI_JOB_TOKEN cannot write merge request notes",
		},
		{
			name:    "no project",
			env:     with(func(m map[string]string) { delete(m, "CI_PROJECT_ID"); delete(m, "CI_PROJECT_PATH") }),
			wantErr: "CI_PROJECT_ID",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gitlab.FromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("config (-want +got):\n%s", d)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  gitlab.Config
		want string
	}{
		{"no token", gitlab.Config{APIURL: "https://gitlab.com/api/v4", Project: "g/p"}, "set GITLAB_TOKEN"},
		{"bad API URL", gitlab.Config{Token: "t", APIURL: "gitlab.com", Project: "g/p"}, "CI_API_V4_URL"},
		{"bad IID", gitlab.Config{Token: "t", APIURL: "https://gitlab.com/api/v4", Project: "g/p", MergeRequestIID: "x"}, "CI_MERGE_REQUEST_IID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := gitlab.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
