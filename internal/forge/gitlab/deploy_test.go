package gitlab_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/gitlab"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
)

func TestDeploy(t *testing.T) {
	const older = "89ef4567"
	tests := []struct {
		name      string
		cfg       func(*gitlab.Config)
		seed      func(*gitlabfake.Server)
		d         forge.Deployment
		updates   []string
		want      []gitlabfake.Deployment
		wantState string
		wantNotes []string
		wantErr   string
	}{
		{
			name:      "create then success",
			d:         forge.Deployment{Environment: "production", Ref: sha, Payload: map[string]any{"model": "digits"}},
			updates:   []string{forge.DeploySuccess},
			want:      []gitlabfake.Deployment{{IID: 1, Environment: "production", Ref: sha, SHA: sha, Status: "success"}},
			wantState: forge.DeployInProgress,
		},
		{
			name:      "create then failure",
			d:         forge.Deployment{Environment: "production", Ref: sha},
			updates:   []string{forge.DeployInProgress, forge.DeployFailure},
			want:      []gitlabfake.Deployment{{IID: 1, Environment: "production", Ref: sha, SHA: sha, Status: "failed"}},
			wantState: forge.DeployInProgress,
		},
		{
			name:      "the pipeline's branch is the ref of its commit",
			cfg:       func(c *gitlab.Config) { c.Branch = "main" },
			d:         forge.Deployment{Environment: "staging", Ref: sha},
			want:      []gitlabfake.Deployment{{IID: 1, Environment: "staging", Ref: "main", SHA: sha, Status: "running"}},
			wantState: forge.DeployInProgress,
		},
		{
			name:      "an older version's commit is its own ref",
			cfg:       func(c *gitlab.Config) { c.Branch = "main" },
			d:         forge.Deployment{Environment: "staging", Ref: older},
			want:      []gitlabfake.Deployment{{IID: 1, Environment: "staging", Ref: older, SHA: older, Status: "running"}},
			wantState: forge.DeployInProgress,
		},
		{
			name:      "protected environment holds it for approval",
			seed:      func(s *gitlabfake.Server) { s.ProtectEnvironment(project, "production") },
			d:         forge.Deployment{Environment: "production", Ref: sha},
			want:      []gitlabfake.Deployment{{IID: 1, Environment: "production", Ref: sha, SHA: sha, Status: "blocked"}},
			wantState: forge.DeployWaiting,
			wantNotes: []string{"the environment is protected and needs approval: approve the deployment under Operate > Environments, then mlci's state update applies"},
		},
		{
			name:    "read-only token",
			cfg:     func(c *gitlab.Config) { c.Token = "read-only" },
			d:       forge.Deployment{Environment: "production", Ref: sha},
			wantErr: "allowed to deploy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup(t)
			if tt.seed != nil {
				tt.seed(s)
			}
			cfg := config(s)
			cfg.ProjectURL = "https://gitlab.example/" + project
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			f := newForge(t, cfg)
			res, err := f.Deploy(context.Background(), tt.d)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), cfg.Token) {
					t.Fatalf("Deploy error = %v, want %q without the token", err, tt.wantErr)
				}
				if got := s.Deployments(project); len(got) != 0 {
					t.Errorf("deployments created: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.State != tt.wantState || !strings.HasPrefix(res.URL, cfg.ProjectURL+"/-/environments/") {
				t.Errorf("result = %+v, want state %q and an environment URL", res, tt.wantState)
			}
			if diff := cmp.Diff(tt.wantNotes, res.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			for _, st := range tt.updates {
				if err := f.SetDeploymentState(context.Background(), res.ID, st, "https://ci.example/log"); err != nil {
					t.Fatal(err)
				}
			}
			got := s.Deployments(project)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(gitlabfake.Deployment{}, "ID", "User", "CreatedAt", "UpdatedAt")); diff != "" {
				t.Errorf("deployments (-want +got):\n%s", diff)
			}
			if got[0].ID != int(res.ID) || got[0].User.Username != bot {
				t.Errorf("deployment %+v, want ID %d by %s", got[0], res.ID, bot)
			}
		})
	}
}

func TestSetDeploymentStateUnknown(t *testing.T) {
	f := newForge(t, config(setup(t)))
	err := f.SetDeploymentState(context.Background(), 1, "done", "")
	if err == nil || !strings.Contains(err.Error(), `unknown state "done"`) {
		t.Fatalf("error = %v", err)
	}
}
