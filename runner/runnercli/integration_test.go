//go:build integration

package runnercli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/runner/runnercli"
)

// These tests reach the Docker Engine (the GitLab stages and the GitHub
// hook open it before anything else), so they need one running.

func TestIntegrationGitLabPrepareWithoutJobID(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		code int
	}{
		{"SYSTEM_FAILURE_EXIT_CODE from env", map[string]string{"SYSTEM_FAILURE_EXIT_CODE": "7"}, 7},
		{"default SYSTEM_FAILURE_EXIT_CODE", nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := healthyHost(t)
			for k, v := range tt.env {
				h.env[k] = v
			}
			r := h.run("gitlab", "prepare")
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			oneErrorLine(t, r.stderr, "JOB_RESPONSE_FILE is not set", "custom executor")
			if r.stdout != "" {
				t.Errorf("stdout = %q, want empty", r.stdout)
			}
		})
	}
}

func TestIntegrationGitLabRunWithoutJobID(t *testing.T) {
	h, _ := healthyHost(t)
	h.env["SYSTEM_FAILURE_EXIT_CODE"] = "7"
	h.env["BUILD_FAILURE_EXIT_CODE"] = "8"
	script := filepath.Join(t.TempDir(), "script.sh")
	writeFile(t, script, "true\n")
	r := h.run("gitlab", "run", script, "build_script")
	if r.code != 7 {
		t.Errorf("exit %d, want 7", r.code)
	}
	oneErrorLine(t, r.stderr, "JOB_RESPONSE_FILE is not set", "custom executor")
}

// cleanup never fails, even for a job it knows nothing of.
func TestIntegrationGitLabCleanupUnknownJob(t *testing.T) {
	h, _ := healthyHost(t)
	response := filepath.Join(t.TempDir(), "response.json")
	writeFile(t, response, `{"id":999999001,"job_info":{"project_id":5},"git_info":{"repo_url":"https://gitlab-ci-token:x@gitlab.test/g/p.git"}}`)
	h.env["JOB_RESPONSE_FILE"] = response
	h.env["SYSTEM_FAILURE_EXIT_CODE"] = "7"
	r := h.run("gitlab", "cleanup")
	if r.code != runnercli.ExitOK {
		t.Errorf("exit %d, want 0; stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "panic") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestIntegrationHookBadInput(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		errs  []string
	}{
		{"not JSON", "this is not JSON", []string{"hook input is not the runner's JSON", "ACTIONS_RUNNER_CONTAINER_HOOKS"}},
		{"empty", "", []string{"hook input is not the runner's JSON"}},
		{"no command", `{"args":{}}`, []string{"hook input has no command"}},
		{"unknown command", `{"command":"frobnicate"}`, []string{`unknown hook command "frobnicate"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := healthyHost(t)
			h.stdin = tt.stdin
			r := h.run("hook")
			if r.code == runnercli.ExitOK {
				t.Errorf("exit 0, want a failure")
			}
			oneErrorLine(t, r.stderr, tt.errs...)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want empty", r.stdout)
			}
			// Nothing was leased for input that named no job.
			if r := h.mustRun("leases"); r.stdout != "no leases\n" {
				t.Errorf("leases after a bad hook call: %q", r.stdout)
			}
		})
	}
}
