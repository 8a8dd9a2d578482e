package github

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/githubfake"
)

var promotion = forge.Deployment{
	Environment: "digits-production",
	Ref:         headSHA,
	Description: "promote digits v3 to production",
	Payload: map[string]any{"model": "digits", "version": "3", "stage": "production",
		"digest": "sha256:abc", "tag": "model/digits/v3"},
	Production: true,
}

func TestDeploy(t *testing.T) {
	tests := []struct {
		name string
		tok  string
		// seed runs before Deploy, e.g. mlci's own failing gate status.
		seed      func(t *testing.T, f *Forge)
		d         forge.Deployment
		wantErr   string
		wantIs    error
		wantDeps  []githubfake.Deployment
		wantState []string
	}{
		{
			name: "creates with no required contexts and the payload",
			tok:  appToken,
			d:    promotion,
			wantDeps: []githubfake.Deployment{{SHA: headSHA, Ref: headSHA, Task: "deploy", Environment: "digits-production",
				Description: promotion.Description, Payload: promotion.Payload, RequiredContexts: []string{},
				ProductionEnvironment: true, Creator: "github-actions[bot]"}},
			wantState: []string{"in_progress"},
		},
		{
			name: "a failing gate status does not block it",
			tok:  userToken,
			seed: func(t *testing.T, f *Forge) {
				if _, err := f.Post(context.Background(), forge.Report{ID: "r", Summary: "accuracy dropped", Mode: forge.ModeOff}); err != nil {
					t.Fatal(err)
				}
			},
			d: forge.Deployment{Environment: "staging", Ref: headSHA},
			wantDeps: []githubfake.Deployment{{SHA: headSHA, Ref: headSHA, Task: "deploy", Environment: "staging",
				RequiredContexts: []string{}, Creator: "octocat"}},
			wantState: []string{"in_progress"},
		},
		{
			name:    "read-only token says which permission",
			tok:     forkToken,
			d:       promotion,
			wantErr: "permissions: deployments: write",
			wantIs:  ErrForbidden,
		},
		{
			name:    "no environment",
			tok:     appToken,
			d:       forge.Deployment{Ref: headSHA},
			wantErr: "no environment",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			f := newForge(t, config(t, s, tt.tok, &sleeps{}))
			if tt.seed != nil {
				tt.seed(t, f)
			}
			res, err := f.Deploy(context.Background(), tt.d)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Deploy error = %v, want one containing %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("Deploy error %v is not %v", err, tt.wantIs)
				}
				if strings.Contains(err.Error(), tt.tok) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one clean line: %q", err)
				}
				if got := s.Deployments("o", "r"); len(got) != 0 {
					t.Errorf("deployments created: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			got := s.Deployments("o", "r")
			if diff := cmp.Diff(tt.wantDeps, got, cmpopts.IgnoreFields(githubfake.Deployment{}, "ID", "CreatedAt"),
				cmpopts.IgnoreUnexported(githubfake.Deployment{})); diff != "" {
				t.Errorf("deployments (-want +got):\n%s", diff)
			}
			if res.ID != got[0].ID || res.State != forge.DeployInProgress {
				t.Errorf("result = %+v, want ID %d in_progress", res, got[0].ID)
			}
			var states []string
			for _, st := range s.DeploymentStatuses("o", "r", res.ID) {
				states = append(states, st.State)
				if st.LogURL != runURL {
					t.Errorf("status %s log_url = %q, want the run URL", st.State, st.LogURL)
				}
			}
			if diff := cmp.Diff(tt.wantState, states); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetDeploymentState(t *testing.T) {
	tests := []struct {
		name    string
		states  []string
		logURL  string
		want    []string
		wantErr string
	}{
		{"success", []string{forge.DeploySuccess}, "https://ci.example/log", []string{"in_progress", "success"}, ""},
		{"failure", []string{forge.DeployFailure}, "", []string{"in_progress", "failure"}, ""},
		{"failed is failure", []string{"failed"}, "", []string{"in_progress", "failure"}, ""},
		{"unknown state", []string{"done"}, "", []string{"in_progress"}, `unknown state "done"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			f := newForge(t, config(t, s, appToken, &sleeps{}))
			res, err := f.Deploy(context.Background(), promotion)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range tt.states {
				err = f.SetDeploymentState(context.Background(), res.ID, st, tt.logURL)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("SetDeploymentState error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			sts := s.DeploymentStatuses("o", "r", res.ID)
			var got []string
			for _, st := range sts {
				got = append(got, st.State)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if want := tt.logURL; want != "" && sts[len(sts)-1].LogURL != want {
				t.Errorf("log_url = %q, want %q", sts[len(sts)-1].LogURL, want)
			}
		})
	}
}

func TestDeployErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   string
		is     error
	}{
		{"conflict", http.StatusConflict, "status checks failed", ErrRejected},
		{"validation", http.StatusUnprocessableEntity, "must be a commit, branch or tag of o/r", ErrRejected},
		{"forbidden", http.StatusForbidden, "deployments: write", ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.FailNext("POST", "/repos/o/r/deployments", tt.status, nil, 1)
			f := newForge(t, config(t, s, appToken, &sleeps{}))
			_, err := f.Deploy(context.Background(), promotion)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) {
				t.Fatalf("Deploy error = %v, want %q and %v", err, tt.want, tt.is)
			}
		})
	}
}
