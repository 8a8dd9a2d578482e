package runnercli_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
	"github.com/mlci/mlci/runner/runnercli"
)

const (
	githubToken = "ghp_testTokenThatMayAdministerRunners"
	gitlabToken = "glpat-testTokenWithCreateRunner"
)

// githubHost is a healthy 8-GPU host whose GITHUB_API_URL is a fake with
// the repository o/r and the organization acme.
func githubHost(t *testing.T) (*host, *githubfake.Server) {
	t.Helper()
	h, _ := healthyHost(t)
	fake := githubfake.New(t)
	fake.AddRunnerAdmin(githubToken, "admin")
	fake.AddRepo("o", "r")
	fake.AddOrg("acme")
	h.env["GITHUB_API_URL"] = fake.URL()
	h.env["GITHUB_TOKEN"] = githubToken
	return h, fake
}

// mode0600 fails the test unless path is a 0600 file holding want.
func mode0600(t *testing.T, path, want string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != want {
		t.Errorf("%s holds %q, want %q", path, b, want)
	}
}

func hasAll(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s %v lack %q", what, got, w)
		}
	}
}

func TestRegisterGitHubUsage(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		unset []string
		errs  []string
	}{
		{"no target", []string{"register", "github"}, nil, []string{"--repo OWNER/REPO or --org ORG"}},
		{"both targets", []string{"register", "github", "--repo", "o/r", "--org", "acme"}, nil, []string{"not both"}},
		{"bad repo", []string{"register", "github", "--repo", "o"}, nil, []string{`"o"`, "OWNER/REPO"}},
		{"repo with a path", []string{"register", "github", "--repo", "o/r/x"}, nil, []string{"OWNER/REPO"}},
		{"no token", []string{"register", "github", "--repo", "o/r"}, []string{"GITHUB_TOKEN"}, []string{"GITHUB_TOKEN"}},
		{"API URL not http", []string{"register", "github", "--repo", "o/r", "--api-url", "ftp://example.com/"}, nil, []string{"ftp://example.com/"}},
		{"unregister without --id or --name", []string{"unregister", "github", "--repo", "o/r"}, nil, []string{"--id N or --name NAME"}},
		{"unregister without a target", []string{"unregister", "github", "--name", "x"}, nil, []string{"--repo OWNER/REPO or --org ORG"}},
		{"unregister without a token", []string{"unregister", "github", "--repo", "o/r", "--id", "1"}, []string{"GITHUB_TOKEN"}, []string{"GITHUB_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := githubHost(t)
			for _, k := range tt.unset {
				delete(h.env, k)
			}
			secret := filepath.Join(t.TempDir(), "jit")
			args := tt.args
			if args[0] == "register" {
				args = append(slices.Clone(args), "--secret-file", secret)
			}
			r := h.run(args...)
			if r.code != runnercli.ExitUsage {
				t.Errorf("exit %d, want %d", r.code, runnercli.ExitUsage)
			}
			oneErrorLine(t, r.stderr, tt.errs...)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want empty", r.stdout)
			}
			if reqs := fake.Requests(); len(reqs) != 0 {
				t.Errorf("the forge was asked %v", reqs)
			}
			if _, err := os.Stat(secret); err == nil {
				t.Errorf("%s was written", secret)
			}
		})
	}
}

func TestRegisterGitHub(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		scope      string
		wantLabels []string
		notLabels  []string
	}{
		{
			name:       "repository with extra labels and a GPU pool",
			args:       []string{"--repo", "o/r", "--name", "box-1", "--labels", "linux,big-box", "--gpus", "2"},
			scope:      "repos/o/r",
			wantLabels: []string{"gpu", "gpu-a100", "gpus-8", "gpu-mem-40g", "cuda-12", "linux", "big-box", "gpu:2"},
		},
		{
			name:       "organization, hardware labels only",
			args:       []string{"--org", "acme", "--name", "box-2"},
			scope:      "orgs/acme",
			wantLabels: []string{"gpu", "gpu-a100", "gpus-8"},
			notLabels:  []string{"gpu:2"},
		},
		{
			name:       "default name",
			args:       []string{"--repo", "o/r", "--labels", "self-hosted"},
			scope:      "repos/o/r",
			wantLabels: []string{"gpu", "gpus-8", "self-hosted"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := githubHost(t)
			dir := t.TempDir()
			secret := filepath.Join(dir, "runner.jitconfig")
			runnerDir := filepath.Join(dir, "actions-runner")
			args := append([]string{"register", "github", "--secret-file", secret, "--runner-dir", runnerDir}, tt.args...)
			r := h.mustRun(args...)

			runners := fake.Runners(tt.scope)
			if len(runners) != 1 {
				t.Fatalf("fake holds %d runners in %s, want 1", len(runners), tt.scope)
			}
			id := runners[0].ID
			jit := githubfake.JITConfig(id)
			for _, w := range []string{
				"registered runner " + runners[0].Name + " (id " + strconv.FormatInt(id, 10) + ")",
				"start it with:",
				"cd " + runnerDir + " && ",
				"ACTIONS_RUNNER_CONTAINER_HOOKS=/opt/mlci-runner/bin/mlci-runner-hook.sh",
				`ACTIONS_RUNNER_INPUT_JITCONFIG="$(cat ` + secret + `)" ./run.sh`,
			} {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, r.stdout)
				}
			}
			if strings.Contains(r.stdout, jit) {
				t.Errorf("stdout shows the JIT config itself:\n%s", r.stdout)
			}
			mode0600(t, secret, jit)

			reqs := fake.JITRequests()
			if len(reqs) != 1 {
				t.Fatalf("%d generate-jitconfig requests, want 1", len(reqs))
			}
			hasAll(t, "requested labels", reqs[0].Labels, tt.wantLabels...)
			for _, l := range tt.notLabels {
				if slices.Contains(reqs[0].Labels, l) {
					t.Errorf("requested labels %v hold %q", reqs[0].Labels, l)
				}
			}
			if !strings.HasPrefix(reqs[0].Name, "mlci-") && !slices.Contains(tt.args, "--name") {
				t.Errorf("default name %q, want mlci-...", reqs[0].Name)
			}
		})
	}
}

func TestRegisterGitHubWithoutDriver(t *testing.T) {
	h, fake := githubHost(t)
	h.nvml = noDriver
	secret := filepath.Join(t.TempDir(), "jit")
	r := h.run("register", "github", "--repo", "o/r", "--name", "cpu-box", "--labels", "cpu", "--secret-file", secret)
	if r.code != runnercli.ExitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	oneErrorLine(t, r.stderr, "no GPU labels", "no NVIDIA driver")
	reqs := fake.JITRequests()
	if len(reqs) != 1 || strings.Join(reqs[0].Labels, ",") != "cpu" {
		t.Errorf("requests %+v, want one with labels [cpu]", reqs)
	}
}

func TestRegisterGitHubForgeErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *host, f *githubfake.Server)
		args  []string
		code  int
		errs  []string
	}{
		{
			name: "5xx every time",
			setup: func(_ *host, f *githubfake.Server) {
				f.Fail(githubfake.Fault{Status: 502, Header: map[string]string{"Retry-After": "0"}, Times: 100})
			},
			args: []string{"--repo", "o/r"},
			code: runnercli.ExitService,
			errs: []string{"502"},
		},
		{
			name: "one 5xx is retried",
			setup: func(_ *host, f *githubfake.Server) {
				f.Fail(githubfake.Fault{Status: 503, Header: map[string]string{"Retry-After": "0"}})
			},
			args: []string{"--repo", "o/r"},
			code: runnercli.ExitOK,
		},
		{
			name:  "unknown repository",
			setup: func(*host, *githubfake.Server) {},
			args:  []string{"--repo", "o/missing"},
			code:  -1, // some failure
			errs:  []string{"o/missing"},
		},
		{
			name:  "bad token is never printed",
			setup: func(h *host, _ *githubfake.Server) { h.env["GITHUB_TOKEN"] = "ghp_notKnownToTheFake" },
			args:  []string{"--repo", "o/r"},
			code:  -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := githubHost(t)
			tt.setup(h, fake)
			secret := filepath.Join(t.TempDir(), "jit")
			r := h.run(append([]string{"register", "github", "--name", "box", "--secret-file", secret}, tt.args...)...)
			switch {
			case tt.code == runnercli.ExitOK:
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				mode0600(t, secret, githubfake.JITConfig(fake.Runners("repos/o/r")[0].ID))
				return
			case tt.code < 0:
				if r.code == runnercli.ExitOK {
					t.Errorf("exit 0, want a failure")
				}
			case r.code != tt.code:
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			line := oneErrorLine(t, r.stderr, tt.errs...)
			if strings.Contains(line, h.env["GITHUB_TOKEN"]) {
				t.Errorf("error line shows the token: %q", line)
			}
			if _, err := os.Stat(secret); err == nil {
				t.Errorf("%s was written after a failed registration", secret)
			}
		})
	}
}

func TestUnregisterGitHub(t *testing.T) {
	h, fake := githubHost(t)
	secret := filepath.Join(t.TempDir(), "jit")
	h.mustRun("register", "github", "--repo", "o/r", "--name", "box-1", "--secret-file", secret)
	other := fake.AddRunner("repos/o/r", "someone-else", "gpu")
	if n := len(fake.Runners("repos/o/r")); n != 2 {
		t.Fatalf("%d runners before unregister, want 2", n)
	}

	r := h.mustRun("unregister", "github", "--repo", "o/r", "--name", "box-1")
	if !strings.Contains(r.stdout, "removed runner ") || !strings.Contains(r.stdout, "from repository o/r") {
		t.Errorf("stdout = %q", r.stdout)
	}
	left := fake.Runners("repos/o/r")
	if len(left) != 1 || left[0].ID != other {
		t.Errorf("runners left %+v, want only %d", left, other)
	}

	r = h.mustRun("unregister", "github", "--repo", "o/r", "--name", "box-1")
	if !strings.Contains(r.stdout, "nothing to remove") {
		t.Errorf("second unregister: stdout = %q", r.stdout)
	}

	r = h.mustRun("unregister", "github", "--repo", "o/r", "--id", strconv.FormatInt(other, 10))
	if r.stdout != "removed runner "+strconv.FormatInt(other, 10)+" from repository o/r\n" {
		t.Errorf("unregister --id: stdout = %q", r.stdout)
	}
	if left := fake.Runners("repos/o/r"); len(left) != 0 {
		t.Errorf("runners left %+v, want none", left)
	}
}

// gitlabHost is a healthy 8-GPU host whose CI_SERVER_URL is a fake GitLab
// with project 5 and group 9.
func gitlabHost(t *testing.T) (*host, *gitlabfake.Server) {
	t.Helper()
	h, _ := healthyHost(t)
	fake := gitlabfake.New(t)
	fake.AddRunnerCreator(gitlabToken, "admin")
	fake.AddProjectID(5, "g/p")
	fake.AddGroup(9)
	h.env["CI_SERVER_URL"] = fake.ServerURL()
	h.env["GITLAB_TOKEN"] = gitlabToken
	return h, fake
}

func TestRegisterGitLab(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		typ      string
		tags     []string
		template bool
	}{
		{"project", []string{"--project-id", "5", "--labels", "big-box", "--gpus", "4"}, "project_type", []string{"gpu", "gpu-a100", "gpus-8", "big-box", "gpu:4"}, false},
		{"group with a template", []string{"--group-id", "9", "--template-config", "deploy/gitlab/config.toml"}, "group_type", []string{"gpu", "gpus-8"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := gitlabHost(t)
			secret := filepath.Join(t.TempDir(), "runner.token")
			r := h.mustRun(append([]string{"register", "gitlab", "--secret-file", secret, "--config-toml", "/tmp/gl/config.toml"}, tt.args...)...)

			ids := fake.Runners()
			if len(ids) != 1 {
				t.Fatalf("fake holds runners %v, want one", ids)
			}
			token := gitlabfake.RunnerToken(ids[0])
			for _, w := range []string{
				"registered runner " + strconv.Itoa(ids[0]) + " with tags ",
				"token in " + secret,
				`CI_SERVER_TOKEN="$(cat ` + secret + `)" gitlab-runner register --non-interactive`,
				"--url " + fake.ServerURL() + "/",
				"--config /tmp/gl/config.toml",
				"gitlab-runner run",
			} {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, r.stdout)
				}
			}
			if got := strings.Contains(r.stdout, "--template-config deploy/gitlab/config.toml"); got != tt.template {
				t.Errorf("--template-config in the start command: %v, want %v", got, tt.template)
			}
			if strings.Contains(r.stdout, "glrt-") {
				t.Errorf("stdout shows the runner token:\n%s", r.stdout)
			}
			mode0600(t, secret, token)

			reqs := fake.CreateRequests()
			if len(reqs) != 1 {
				t.Fatalf("%d create requests, want 1", len(reqs))
			}
			if reqs[0].RunnerType != tt.typ {
				t.Errorf("runner_type %q, want %q", reqs[0].RunnerType, tt.typ)
			}
			hasAll(t, "tags", reqs[0].TagList, tt.tags...)
		})
	}
}

func TestRegisterGitLabFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *host, f *gitlabfake.Server)
		args  []string
		code  int
		errs  []string
	}{
		{"no scope", func(*host, *gitlabfake.Server) {}, nil, runnercli.ExitUsage, []string{"--project-id N, --group-id N or --instance"}},
		{"no token", func(h *host, _ *gitlabfake.Server) { delete(h.env, "GITLAB_TOKEN") }, []string{"--project-id", "5"}, runnercli.ExitUsage, []string{"GITLAB_TOKEN"}},
		{"URL not http", func(*host, *gitlabfake.Server) {}, []string{"--project-id", "5", "--url", "gitlab.example.com"}, runnercli.ExitUsage, []string{"gitlab.example.com"}},
		{
			"5xx every time",
			func(_ *host, f *gitlabfake.Server) {
				f.Fail(gitlabfake.Fault{Status: 500, Header: map[string]string{"Retry-After": "0"}, Times: 100})
			},
			[]string{"--project-id", "5"}, runnercli.ExitService, []string{"500"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := gitlabHost(t)
			tt.setup(h, fake)
			secret := filepath.Join(t.TempDir(), "runner.token")
			r := h.run(append([]string{"register", "gitlab", "--secret-file", secret}, tt.args...)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			line := oneErrorLine(t, r.stderr, tt.errs...)
			if strings.Contains(line, gitlabToken) {
				t.Errorf("error line shows the token: %q", line)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want empty", r.stdout)
			}
			if ids := fake.Runners(); len(ids) != 0 {
				t.Errorf("runners %v were created", ids)
			}
			if _, err := os.Stat(secret); err == nil {
				t.Errorf("%s was written", secret)
			}
		})
	}
}

// A secret that cannot be written must not leave a runner behind, and a
// runner that cannot be removed again must be reported with both failures.
func TestRegisterSecretUnwritable(t *testing.T) {
	secrets := []struct {
		name string
		path func(t *testing.T, dir string) string
	}{
		{"directory missing", func(_ *testing.T, dir string) string { return filepath.Join(dir, "no", "such", "dir", "secret") }},
		{"parent is a file", func(t *testing.T, dir string) string {
			f := filepath.Join(dir, "file")
			writeFile(t, f, "")
			return filepath.Join(f, "secret")
		}},
		{"path is a non-empty directory", func(t *testing.T, dir string) string {
			d := filepath.Join(dir, "secret")
			writeFile(t, filepath.Join(d, "x"), "")
			return d
		}},
	}
	undoFails := githubfake.Fault{Method: "DELETE", Status: 502, Header: map[string]string{"Retry-After": "0"}, Times: 100}
	forges := []struct {
		name string
		args []string
		// setup returns a function counting the runners left on the fake.
		setup func(t *testing.T, undoFails bool) (*host, func() int)
	}{
		{
			name: "github",
			args: []string{"register", "github", "--repo", "o/r", "--name", "box"},
			setup: func(t *testing.T, fail bool) (*host, func() int) {
				h, fake := githubHost(t)
				if fail {
					fake.Fail(undoFails)
				}
				return h, func() int { return len(fake.Runners("repos/o/r")) }
			},
		},
		{
			name: "github ephemeral",
			args: []string{"register", "github", "--repo", "o/r", "--name", "box", "--ephemeral", "--runner-dir", "/nonexistent"},
			setup: func(t *testing.T, fail bool) (*host, func() int) {
				h, fake := githubHost(t)
				if fail {
					fake.Fail(undoFails)
				}
				return h, func() int { return len(fake.Runners("repos/o/r")) }
			},
		},
		{
			name: "gitlab",
			args: []string{"register", "gitlab", "--project-id", "5"},
			setup: func(t *testing.T, fail bool) (*host, func() int) {
				h, fake := gitlabHost(t)
				if fail {
					fake.Fail(undoFails)
				}
				return h, func() int { return len(fake.Runners()) }
			},
		},
	}
	for _, fg := range forges {
		for _, sec := range secrets {
			for _, fail := range []bool{false, true} {
				name := fg.name + "/" + sec.name
				if fail {
					name += "/undo fails"
				}
				t.Run(name, func(t *testing.T) {
					h, left := fg.setup(t, fail)
					secret := sec.path(t, t.TempDir())
					r := h.run(append(slices.Clone(fg.args), "--secret-file", secret)...)
					if r.code != runnercli.ExitUsage {
						t.Errorf("exit %d, want %d", r.code, runnercli.ExitUsage)
					}
					if !fail {
						oneErrorLine(t, r.stderr, "write secret")
						if n := left(); n != 0 {
							t.Errorf("%d runner(s) left behind", n)
						}
						return
					}
					oneErrorLine(t, r.stderr, "write secret", "by hand", "502")
					if n := left(); n != 1 {
						t.Errorf("%d runner(s) on the forge, want the 1 that could not be removed", n)
					}
				})
			}
		}
	}
}

func TestUnregisterGitLab(t *testing.T) {
	h, fake := gitlabHost(t)
	h.mustRun("register", "gitlab", "--instance", "--secret-file", filepath.Join(t.TempDir(), "tok"))
	ids := fake.Runners()
	if len(ids) != 1 {
		t.Fatalf("runners %v, want one", ids)
	}
	if r := h.run("unregister", "gitlab"); r.code != runnercli.ExitUsage {
		t.Errorf("unregister gitlab without --id: exit %d, want %d", r.code, runnercli.ExitUsage)
	}
	r := h.mustRun("unregister", "gitlab", "--id", strconv.Itoa(ids[0]))
	if r.stdout != "removed runner "+strconv.Itoa(ids[0])+"\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	if left := fake.Runners(); len(left) != 0 {
		t.Errorf("runners %v left", left)
	}
}
