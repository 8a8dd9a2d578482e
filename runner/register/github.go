package register

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"

	ghforge "github.com/mlci/mlci/internal/forge/github"
)

// Defaults GitHub's own config.sh uses.
const (
	DefaultRunnerGroupID int64 = 1
	DefaultWorkFolder          = "_work"
	// maxLabels is GitHub's limit on labels in a JIT request.
	maxLabels = 100
)

// GitHubTarget is where a runner registers: a repository (Owner and Repo)
// or an organization (Org), never both.
type GitHubTarget struct {
	Owner, Repo, Org string
}

func (t GitHubTarget) validate() error {
	repo := t.Owner != "" || t.Repo != ""
	switch {
	case repo && t.Org != "":
		return usage("github: set a repository (--repo owner/name) or an organization (--org), not both")
	case repo && (t.Owner == "" || t.Repo == "" || strings.Contains(t.Repo, "/")):
		return usage(fmt.Sprintf("github: repository %q is not owner/name", t.Owner+"/"+t.Repo))
	case !repo && t.Org == "":
		return usage("github: no target: set a repository (--repo owner/name) or an organization (--org)")
	}
	return nil
}

func (t GitHubTarget) String() string {
	if t.Org != "" {
		return "organization " + t.Org
	}
	return "repository " + t.Owner + "/" + t.Repo
}

// GitHubOptions describe the runner to register.
type GitHubOptions struct {
	Name          string   // required; DefaultName makes a unique one
	Labels        []string // 1 to 100; GitHub adds none of its own to JIT runners
	RunnerGroupID int64    // 0 means DefaultRunnerGroupID
	WorkFolder    string   // "" means DefaultWorkFolder
}

// GitHubRunner is a registered runner. EncodedJITConfig is the secret the
// official runner starts with; it is kept out of JSON so a runner record
// can be saved or logged safely.
type GitHubRunner struct {
	ID               int64
	Name             string
	Labels           []string
	EncodedJITConfig string `json:"-"`
}

// RegisterGitHub registers a just-in-time runner: GitHub returns a config
// valid for one job, so no registration token is ever stored.
//
// API: https://docs.github.com/rest/actions/self-hosted-runners#create-configuration-for-a-just-in-time-runner-for-a-repository
func RegisterGitHub(ctx context.Context, c *github.Client, t GitHubTarget, o GitHubOptions) (GitHubRunner, error) {
	if err := t.validate(); err != nil {
		return GitHubRunner{}, err
	}
	labels, err := cleanLabels(o.Labels)
	if err != nil {
		return GitHubRunner{}, err
	}
	if strings.TrimSpace(o.Name) == "" {
		return GitHubRunner{}, usage("github: runner name is empty: pass --name or leave the default")
	}
	req := &github.GenerateJITConfigRequest{
		Name:          o.Name,
		RunnerGroupID: o.RunnerGroupID,
		WorkFolder:    github.String(o.WorkFolder),
		Labels:        labels,
	}
	if req.RunnerGroupID == 0 {
		req.RunnerGroupID = DefaultRunnerGroupID
	}
	if o.WorkFolder == "" {
		req.WorkFolder = github.String(DefaultWorkFolder)
	}
	op := fmt.Sprintf("register runner %q on %s", o.Name, t)
	var jit *github.JITRunnerConfig
	if t.Org != "" {
		jit, _, err = c.Actions.GenerateOrgJITConfig(ctx, t.Org, req)
	} else {
		jit, _, err = c.Actions.GenerateRepoJITConfig(ctx, t.Owner, t.Repo, req)
	}
	if err != nil {
		return GitHubRunner{}, githubError(c, op, t, o.Name, err)
	}
	if jit.GetEncodedJITConfig() == "" || jit.GetRunner().GetID() == 0 {
		err := &classed{class: ErrService, err: &ghforge.Error{Op: op, Status: http.StatusCreated, Kind: ghforge.ErrUnavailable,
			Hint: "GitHub answered without a runner id or JIT config; check the API URL points at the REST API"}}
		if id := jit.GetRunner().GetID(); id != 0 {
			// A runner without its config can never start: remove it.
			return GitHubRunner{}, Undo(ctx, err, func(ctx context.Context) error { return UnregisterGitHub(ctx, c, t, id) })
		}
		return GitHubRunner{}, err
	}
	r := GitHubRunner{ID: jit.Runner.GetID(), Name: jit.Runner.GetName(), EncodedJITConfig: jit.GetEncodedJITConfig()}
	for _, l := range jit.Runner.Labels {
		r.Labels = append(r.Labels, l.GetName())
	}
	return r, nil
}

// UnregisterGitHub removes runner id. A runner that is already gone (a JIT
// runner removes itself after its job) is not an error.
//
// API: https://docs.github.com/rest/actions/self-hosted-runners#delete-a-self-hosted-runner-from-a-repository
func UnregisterGitHub(ctx context.Context, c *github.Client, t GitHubTarget, id int64) error {
	if err := t.validate(); err != nil {
		return err
	}
	var err error
	if t.Org != "" {
		_, err = c.Actions.RemoveOrganizationRunner(ctx, t.Org, id)
	} else {
		_, err = c.Actions.RemoveRunner(ctx, t.Owner, t.Repo, id)
	}
	if err == nil {
		return nil
	}
	if ghforge.Status(err) == http.StatusNotFound {
		return nil
	}
	return githubError(c, fmt.Sprintf("unregister runner %d from %s", id, t), t, "", err)
}

// FindGitHub looks a runner up by name, for removing one whose id was lost.
// It asks GitHub to filter by name but also compares names itself, since
// older GitHub Enterprise Servers ignore the filter and list every runner.
//
// API: https://docs.github.com/rest/actions/self-hosted-runners#list-self-hosted-runners-for-a-repository
func FindGitHub(ctx context.Context, c *github.Client, t GitHubTarget, name string) (int64, bool, error) {
	if err := t.validate(); err != nil {
		return 0, false, err
	}
	opts := &github.ListRunnersOptions{Name: github.String(name), ListOptions: github.ListOptions{PerPage: 100}}
	for {
		var (
			page *github.Runners
			resp *github.Response
			err  error
		)
		if t.Org != "" {
			page, resp, err = c.Actions.ListOrganizationRunners(ctx, t.Org, opts)
		} else {
			page, resp, err = c.Actions.ListRunners(ctx, t.Owner, t.Repo, opts)
		}
		if err != nil {
			return 0, false, githubError(c, fmt.Sprintf("find runner %q on %s", name, t), t, "", err)
		}
		for _, r := range page.Runners {
			// Runner names are case-insensitive on GitHub.
			if strings.EqualFold(r.GetName(), name) {
				return r.GetID(), true, nil
			}
		}
		if resp.NextPage == 0 {
			return 0, false, nil
		}
		opts.Page = resp.NextPage
	}
}

// githubError classifies a go-github failure and says what it means for
// runners. name is the runner being registered, "" for other operations.
func githubError(c *github.Client, op string, t GitHubTarget, name string, err error) error {
	err = ghforge.Classify(c, op, err)
	var e *ghforge.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := strings.ToLower(e.Message)
	class, kind := classOf(e)
	switch st := e.Status; {
	case e.Kind == ghforge.ErrForbidden:
		e.Hint = "token lacks permission (HTTP 403): repository runners need a classic token with the repo scope " +
			"or a fine-grained one with 'Administration: write'; organization runners need admin:org or 'Self-hosted runners: write'"
	case e.Kind == ghforge.ErrNotFound:
		e.Hint = fmt.Sprintf("%s not found or the token cannot see it (HTTP 404); check the name and the token's access", t)
	case e.Kind != ghforge.ErrRejected:
	case name != "" && (st == http.StatusConflict || st == http.StatusUnprocessableEntity && strings.Contains(msg, "already")):
		// GitHub documents 409 for a duplicate JIT runner name; some
		// versions answer 422 "Name already exists".
		e.Hint = fmt.Sprintf("a runner named %q already exists (HTTP %d): pick another --name or unregister it first", name, st)
		kind = ErrExists
	case st == http.StatusUnprocessableEntity && name == "" && strings.Contains(msg, "running a job"):
		e.Hint = "the runner is still running a job (HTTP 422); retry after the job ends or cancel it"
		class = ErrService
	default:
		e.Hint = fmt.Sprintf("GitHub rejected the request (HTTP %d); check the options", st)
	}
	return &classed{class: class, kind: kind, err: e}
}

// cleanLabels drops blanks and case-insensitive duplicates (GitHub treats
// labels case-insensitively and rejects a request that repeats one).
func cleanLabels(in []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, l := range in {
		l = strings.TrimSpace(l)
		if l == "" || seen[strings.ToLower(l)] {
			continue
		}
		seen[strings.ToLower(l)] = true
		out = append(out, l)
	}
	switch {
	case len(out) == 0:
		return nil, usage("github: no labels: a JIT runner needs at least one, e.g. self-hosted")
	case len(out) > maxLabels:
		return nil, usage(fmt.Sprintf("github: %d labels, more than GitHub's %d: drop some", len(out), maxLabels))
	}
	return out, nil
}
