package runnercli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/register"
)

// registerErr maps register's error classes to exit codes. An error that
// already carries one keeps it: after a failed step and a failed undo, the
// exit says what the step's failure was.
func registerErr(err error) error {
	var coded *exitcode.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &coded):
		return err
	case errors.Is(err, register.ErrUsage):
		return usageError(err)
	case errors.Is(err, register.ErrService):
		return serviceError(err)
	}
	return err
}

type regFlags struct {
	repo, org     string
	name          string
	labels        []string
	gpus          int
	apiURL        string
	secretFile    string
	runnerDir     string
	hookScript    string
	ephemeral     bool
	id            int64
	gitlabURL     string
	projectID     int
	groupID       int
	instance      bool
	description   string
	configToml    string
	templateToml  string
	runUntagged   bool
	maxTimeoutSec int
	runnerBin     string
	waitTimeout   int
}

func newRegisterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register this host as a runner, labelled by its hardware",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRegisterGitHubCmd(g), newRegisterGitLabCmd(g))
	return cmd
}

func newUnregisterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unregister",
		Short: "Remove a runner registration",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var f regFlags
	gh := &cobra.Command{
		Use:   "github (--repo OWNER/REPO | --org ORG) (--id N | --name NAME)",
		Short: "Remove a GitHub self-hosted runner",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, t, err := f.github(g)
			if err != nil {
				return err
			}
			id := f.id
			if id == 0 {
				if f.name == "" {
					return usageError(errors.New("name the runner with --id N or --name NAME"))
				}
				found, ok, err := register.FindGitHub(ctx, c, t, f.name)
				if err != nil {
					return registerErr(err)
				}
				if !ok {
					fmt.Fprintf(g.io.Stdout, "no runner named %s on %s: nothing to remove\n", f.name, t)
					return nil
				}
				id = found
			}
			if err := register.UnregisterGitHub(ctx, c, t, id); err != nil {
				return registerErr(err)
			}
			fmt.Fprintf(g.io.Stdout, "removed runner %d from %s\n", id, t)
			return nil
		},
	}
	f.githubFlags(gh)
	gh.Flags().Int64Var(&f.id, "id", 0, "runner `ID`")
	gh.Flags().StringVar(&f.name, "name", "", "runner `NAME`")
	var lf regFlags
	gl := &cobra.Command{
		Use:   "gitlab --id N",
		Short: "Remove a GitLab runner",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if lf.id == 0 {
				return usageError(errors.New("name the runner with --id N"))
			}
			c, err := lf.gitlab(g)
			if err != nil {
				return err
			}
			if err := register.UnregisterGitLab(cmd.Context(), c, int(lf.id)); err != nil {
				return registerErr(err)
			}
			fmt.Fprintf(g.io.Stdout, "removed runner %d\n", lf.id)
			return nil
		},
	}
	gl.Flags().StringVar(&lf.gitlabURL, "url", "", "GitLab `URL` (default: $CI_SERVER_URL or https://gitlab.com/)")
	gl.Flags().Int64Var(&lf.id, "id", 0, "runner `ID`")
	cmd.AddCommand(gh, gl)
	return cmd
}

func (f *regFlags) githubFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.repo, "repo", "", "repository `OWNER/REPO`")
	cmd.Flags().StringVar(&f.org, "org", "", "organization `ORG`")
	cmd.Flags().StringVar(&f.apiURL, "api-url", "", "GitHub API `URL` (default: $GITHUB_API_URL or https://api.github.com/)")
}

func (f *regFlags) github(g *globals) (*github.Client, register.GitHubTarget, error) {
	var t register.GitHubTarget
	switch {
	case f.repo != "" && f.org != "":
		return nil, t, usageError(errors.New("give --repo or --org, not both"))
	case f.repo != "":
		owner, repo, ok := strings.Cut(f.repo, "/")
		if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
			return nil, t, usageError(fmt.Errorf("--repo %q: want OWNER/REPO", f.repo))
		}
		t.Owner, t.Repo = owner, repo
	case f.org != "":
		t.Org = f.org
	default:
		return nil, t, usageError(errors.New("say where to register: --repo OWNER/REPO or --org ORG"))
	}
	api := f.apiURL
	if api == "" {
		api = g.io.Getenv("GITHUB_API_URL")
	}
	c, err := register.NewGitHubClient(g.io.Getenv("GITHUB_TOKEN"), api)
	if err != nil {
		return nil, t, registerErr(err)
	}
	return c, t, nil
}

func (f *regFlags) gitlab(g *globals) (*gitlab.Client, error) {
	u := f.gitlabURL
	if u == "" {
		u = g.io.Getenv("CI_SERVER_URL")
	}
	c, err := register.NewGitLabClient(g.io.Getenv("GITLAB_TOKEN"), u)
	if err != nil {
		return nil, registerErr(err)
	}
	return c, nil
}

// hardwareLabels are the labels the host's GPUs give; a host without a
// driver gets none (it can still run jobs that ask for no GPU).
func (g *globals) hardwareLabels(ctx context.Context) []string {
	inv, err := g.inventory(ctx)
	if err != nil {
		fmt.Fprintf(g.io.Stderr, "mlci-runner: no GPU labels: %v\n", err)
		return nil
	}
	return gpu.Labels(inv)
}

func (f *regFlags) labelSet(ctx context.Context, g *globals) []string {
	labels := g.hardwareLabels(ctx)
	if f.gpus > 0 {
		// The pool label: jobs that say runs-on: gpu:N land on runners
		// that give each job N GPUs (MLCI_GPUS in the runner's env).
		labels = append(labels, "gpu:"+strconv.Itoa(f.gpus))
	}
	return append(labels, f.labels...)
}

func newRegisterGitHubCmd(g *globals) *cobra.Command {
	var f regFlags
	cmd := &cobra.Command{
		Use:   "github (--repo OWNER/REPO | --org ORG)",
		Short: "Create a just-in-time GitHub runner config (token: $GITHUB_TOKEN)",
		Long: `Creates a just-in-time runner configuration for a repository or organization,
labelled by the host's GPUs (gpu, gpu-h100, gpu-mem-80g, gpus-8, cuda-12) plus
--labels, writes it to --secret-file (mode 0600) and prints the command that
starts the official runner with mlci-runner's container hooks. A JIT runner
takes one job. With --ephemeral, mlci-runner starts the runner itself (from
--runner-dir), waits for its one job and removes the registration after.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, t, err := f.github(g)
			if err != nil {
				return err
			}
			labels := f.labelSet(ctx, g)
			name := f.name
			if name == "" {
				host, _ := os.Hostname()
				name = register.DefaultName(host, labels)
			}
			hook, err := f.hookPath(g)
			if err != nil {
				return err
			}
			reg := func(ctx context.Context) (func(context.Context) error, error) {
				r, err := register.RegisterGitHub(ctx, c, t, register.GitHubOptions{Name: name, Labels: labels})
				if err != nil {
					return nil, registerErr(err)
				}
				unregister := func(ctx context.Context) error { return register.UnregisterGitHub(ctx, c, t, r.ID) }
				if err := register.WriteSecret(f.secretFile, r.EncodedJITConfig); err != nil {
					return unregister, usageError(err)
				}
				fmt.Fprintf(g.io.Stdout, "registered runner %s (id %d) on %s with labels %s\n", r.Name, r.ID, t, strings.Join(r.Labels, ","))
				if !f.ephemeral {
					fmt.Fprintf(g.io.Stdout, "start it with:\n  %s\n", register.GitHubStartCommand(f.runnerDir, f.secretFile, hook))
				}
				return unregister, nil
			}
			if !f.ephemeral {
				// A runner whose config was not saved can never start;
				// left registered, only someone's hand would remove it.
				unregister, err := reg(ctx)
				if err != nil && unregister != nil {
					err = register.Undo(ctx, err, unregister)
				}
				return registerErr(err)
			}
			jit := func() string { b, _ := os.ReadFile(f.secretFile); return strings.TrimSpace(string(b)) }
			env := os.Environ()
			if f.gpus > 0 {
				env = append(env, "MLCI_GPUS="+strconv.Itoa(f.gpus))
			}
			run := func(ctx context.Context) (int, error) {
				r := register.CommandRunner{
					Path:   filepath.Join(f.runnerDir, "run.sh"),
					Dir:    f.runnerDir,
					Env:    append(env, "ACTIONS_RUNNER_CONTAINER_HOOKS="+hook, "ACTIONS_RUNNER_INPUT_JITCONFIG="+jit()),
					Stdout: g.io.Stdout,
					Stderr: g.io.Stderr,
				}
				return r.Run(ctx)
			}
			code, err := register.Ephemeral(ctx, reg, run)
			_ = os.Remove(f.secretFile)
			if err != nil {
				return registerErr(err)
			}
			fmt.Fprintf(g.io.Stdout, "runner finished its job (exit %d) and was removed\n", code)
			if code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
	f.githubFlags(cmd)
	cmd.Flags().StringVar(&f.name, "name", "", "runner `NAME` (default: mlci-HOST-...)")
	cmd.Flags().StringSliceVar(&f.labels, "labels", nil, "extra `LABELS`, comma-separated")
	cmd.Flags().IntVar(&f.gpus, "gpus", 0, "GPUs each job gets by default; adds the label gpu:`N`")
	cmd.Flags().StringVar(&f.secretFile, "secret-file", "mlci-runner.jitconfig", "where to write the JIT config (mode 0600)")
	cmd.Flags().StringVar(&f.runnerDir, "runner-dir", "/opt/actions-runner", "the official runner's `DIR` (holds run.sh)")
	cmd.Flags().StringVar(&f.hookScript, "hook-script", "", "container hook `SCRIPT` (default: mlci-runner-hook.sh beside this binary)")
	cmd.Flags().BoolVar(&f.ephemeral, "ephemeral", false, "start the runner, let it take one job, then remove the registration")
	return cmd
}

// hookPath is the .sh shim the runner must be pointed at (the runner only
// runs hooks ending in .js, .sh or .ps1).
func (f *regFlags) hookPath(g *globals) (string, error) {
	if f.hookScript != "" {
		return filepath.Abs(f.hookScript)
	}
	exe, err := g.executable()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(exe), "mlci-runner-hook.sh"), nil
}

func newRegisterGitLabCmd(g *globals) *cobra.Command {
	var f regFlags
	cmd := &cobra.Command{
		Use:   "gitlab (--project-id N | --group-id N | --instance)",
		Short: "Create a GitLab runner (token: $GITLAB_TOKEN with create_runner scope)",
		Long: `Creates a runner with Users.CreateUserRunner, tagged by the host's GPUs (gpu,
gpu-h100, gpu-mem-80g, gpus-8, cuda-12) plus --labels, writes its glrt- token
to --secret-file (mode 0600) and prints the gitlab-runner command that adds it
with mlci-runner as the custom executor (see deploy/gitlab/config.toml).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := f.gitlab(g)
			if err != nil {
				return err
			}
			o := register.GitLabOptions{
				ProjectID: f.projectID, GroupID: f.groupID,
				Description: f.description, Tags: f.labelSet(ctx, g),
				RunUntagged: f.runUntagged, MaximumTimeout: f.maxTimeoutSec,
			}
			switch {
			case f.instance:
				o.RunnerType = register.InstanceType
			case f.groupID != 0:
				o.RunnerType = register.GroupType
			case f.projectID != 0:
				o.RunnerType = register.ProjectType
			default:
				return usageError(errors.New("say where to register: --project-id N, --group-id N or --instance"))
			}
			if o.Description == "" {
				host, _ := os.Hostname()
				o.Description = register.DefaultName(host, o.Tags)
			}
			if f.ephemeral {
				return f.gitlabEphemeral(ctx, g, c, o)
			}
			r, err := register.RegisterGitLab(ctx, c, o)
			if err != nil {
				return registerErr(err)
			}
			if err := register.WriteSecret(f.secretFile, r.Token); err != nil {
				return registerErr(register.Undo(ctx, usageError(err), func(ctx context.Context) error {
					return register.UnregisterGitLab(ctx, c, r.ID)
				}))
			}
			fmt.Fprintf(g.io.Stdout, "registered runner %d with tags %s; token in %s\n", r.ID, strings.Join(r.Tags, ","), f.secretFile)
			fmt.Fprintf(g.io.Stdout, "start it with:\n  %s\n", register.GitLabStartCommand(gitlabURL(&f, c), f.secretFile, f.configToml, f.templateToml))
			return nil
		},
	}
	cmd.Flags().StringVar(&f.gitlabURL, "url", "", "GitLab `URL` (default: $CI_SERVER_URL or https://gitlab.com/)")
	cmd.Flags().IntVar(&f.projectID, "project-id", 0, "project runner for project `ID`")
	cmd.Flags().IntVar(&f.groupID, "group-id", 0, "group runner for group `ID`")
	cmd.Flags().BoolVar(&f.instance, "instance", false, "instance runner (administrators)")
	cmd.Flags().StringVar(&f.description, "description", "", "runner description (default: mlci-HOST-...)")
	cmd.Flags().StringSliceVar(&f.labels, "labels", nil, "extra tags, comma-separated")
	cmd.Flags().IntVar(&f.gpus, "gpus", 0, "adds the tag gpu:`N` for a pool giving each job N GPUs")
	cmd.Flags().BoolVar(&f.runUntagged, "run-untagged", false, "also take jobs without tags")
	cmd.Flags().IntVar(&f.maxTimeoutSec, "maximum-timeout", 0, "longest job in `SECONDS` (0: the project's)")
	cmd.Flags().StringVar(&f.secretFile, "secret-file", "mlci-runner.token", "where to write the runner token (mode 0600)")
	cmd.Flags().StringVar(&f.configToml, "config-toml", "/etc/gitlab-runner/config.toml", "gitlab-runner's config `FILE`")
	cmd.Flags().StringVar(&f.templateToml, "template-config", "", "config.toml `TEMPLATE` with [runners.custom] (e.g. deploy/gitlab/config.toml)")
	cmd.Flags().BoolVar(&f.ephemeral, "ephemeral", false, "register, take one job with gitlab-runner run-single, then remove the runner")
	cmd.Flags().StringVar(&f.runnerBin, "runner-bin", "gitlab-runner", "gitlab-runner `BINARY` for --ephemeral")
	cmd.Flags().IntVar(&f.waitTimeout, "wait-timeout", 3600, "with --ephemeral, `SECONDS` to wait for a job before giving up")
	return cmd
}

func gitlabURL(f *regFlags, c *gitlab.Client) string {
	if f.gitlabURL != "" {
		return f.gitlabURL
	}
	return c.BaseURL().Scheme + "://" + c.BaseURL().Host + "/"
}

// gitlabEphemeral registers a runner, lets gitlab-runner run-single (17.1+
// reads one runner from a config file) take one job through mlci-runner's
// custom executor, and removes the runner whatever happens. The token lives
// only in a 0600 config file removed at the end.
func (f *regFlags) gitlabEphemeral(ctx context.Context, g *globals, c *gitlab.Client, o register.GitLabOptions) error {
	exe, err := g.executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "mlci-runner-ephemeral-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "config.toml")
	reg := func(ctx context.Context) (func(context.Context) error, error) {
		r, err := register.RegisterGitLab(ctx, c, o)
		if err != nil {
			return nil, registerErr(err)
		}
		unregister := func(ctx context.Context) error { return register.UnregisterGitLab(ctx, c, r.ID) }
		if err := register.WriteSecret(cfgPath, EphemeralGitLabConfig(o.Description, gitlabURL(f, c), r.Token, exe, g.configPath)); err != nil {
			return unregister, usageError(err)
		}
		fmt.Fprintf(g.io.Stdout, "registered runner %d with tags %s; waiting for one job\n", r.ID, strings.Join(r.Tags, ","))
		return unregister, nil
	}
	run := func(ctx context.Context) (int, error) {
		r := register.CommandRunner{
			Path: f.runnerBin,
			Args: []string{"run-single", "--config", cfgPath, "--runner", o.Description,
				"--max-builds", "1", "--wait-timeout", strconv.Itoa(f.waitTimeout)},
			Stdout: g.io.Stdout,
			Stderr: g.io.Stderr,
		}
		return r.Run(ctx)
	}
	code, err := register.Ephemeral(ctx, reg, run)
	if err != nil {
		return registerErr(err)
	}
	fmt.Fprintf(g.io.Stdout, "runner finished (exit %d) and was removed\n", code)
	if code != 0 {
		return exitCode(code)
	}
	return nil
}

// EphemeralGitLabConfig is the config.toml of a one-job runner whose
// stages are this mlci-runner's gitlab commands.
func EphemeralGitLabConfig(name, url, token, exe, runnerConfig string) string {
	q := strconv.Quote
	args := func(stage string) string {
		a := []string{q("gitlab"), q(stage)}
		if runnerConfig != "" {
			a = append([]string{q("--config"), q(runnerConfig)}, a...)
		}
		return "[" + strings.Join(a, ", ") + "]"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "concurrent = 1\n\n[[runners]]\n  name = %s\n  url = %s\n  token = %s\n  executor = \"custom\"\n", q(name), q(url), q(token))
	b.WriteString("  builds_dir = \"/builds\"\n  cache_dir = \"/cache\"\n  [runners.custom]\n")
	for _, stage := range []string{"config", "prepare", "run", "cleanup"} {
		fmt.Fprintf(&b, "    %s_exec = %s\n    %s_args = %s\n", stage, q(exe), stage, args(stage))
	}
	b.WriteString("    prepare_exec_timeout = 3600\n    graceful_kill_timeout = 60\n")
	return b.String()
}
