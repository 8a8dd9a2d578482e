package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge"
)

var _ forge.Deployer = (*Forge)(nil)

// hintDeployForbidden is the 403 hint for deployments and their statuses.
const hintDeployForbidden = "the token may not create deployments (HTTP 403); give the job `permissions: deployments: write` (a fork's token never can)"

// Deploy creates a deployment of d.Ref to d.Environment and marks it
// in_progress with the run as its log. It asks for no required status
// contexts and no auto-merge: mlci's own gate decided already, and GitHub
// would otherwise refuse while any status on the commit (mlci's failing one
// included) is not success. Environment protection (required reviewers,
// wait timers) gates the workflow job that names the environment, not this
// API call, so the state here is in_progress.
func (f *Forge) Deploy(ctx context.Context, d forge.Deployment) (forge.DeploymentResult, error) {
	var res forge.DeploymentResult
	if d.Environment == "" {
		return res, errors.New("github: deploy: no environment: name one, like production")
	}
	ref := d.Ref
	if ref == "" {
		ref = f.target.sha
		res.Notes = append(res.Notes, "no version commit given: deployed the run's commit "+ref)
	}
	req := &gh.DeploymentRequest{
		Ref:                   gh.String(ref),
		Environment:           gh.String(d.Environment),
		RequiredContexts:      &[]string{},
		AutoMerge:             gh.Bool(false),
		ProductionEnvironment: gh.Bool(d.Production),
	}
	if d.Description != "" {
		req.Description = gh.String(d.Description)
	}
	if d.Payload != nil {
		req.Payload = d.Payload
	}
	op := fmt.Sprintf("create deployment of %s to %s", short(ref), d.Environment)
	dep, _, err := f.client.Repositories.CreateDeployment(ctx, f.owner, f.repo, req)
	if err != nil {
		return res, f.deployErr(op, ref, err)
	}
	res.ID = dep.GetID()
	res.URL = f.environmentURL(d.Environment, dep.GetURL())
	res.State = forge.DeployInProgress
	if err := f.SetDeploymentState(ctx, res.ID, forge.DeployInProgress, ""); err != nil {
		res.State = ""
		return res, err
	}
	f.log.InfoContext(ctx, "created GitHub deployment", "repository", f.owner+"/"+f.repo,
		"environment", d.Environment, "ref", ref, "id", res.ID)
	return res, nil
}

// SetDeploymentState adds a deployment status. state is one of GitHub's
// (in_progress, success, failure, error, inactive, queued, pending);
// "failed" is taken as failure. logURL "" means the run's URL.
func (f *Forge) SetDeploymentState(ctx context.Context, id int64, state, logURL string) error {
	ghState, ok := deploymentStates[state]
	if !ok {
		return fmt.Errorf("github: set deployment %d state: unknown state %q: use in_progress, success or failure", id, state)
	}
	req := &gh.DeploymentStatusRequest{State: gh.String(ghState)}
	if logURL == "" {
		logURL = f.runURL
	}
	if logURL != "" {
		req.LogURL = gh.String(logURL)
	}
	_, _, err := f.client.Repositories.CreateDeploymentStatus(ctx, f.owner, f.repo, id, req)
	if err != nil {
		return f.deployErr(fmt.Sprintf("set deployment %d state to %s", id, ghState), "", err)
	}
	return nil
}

var deploymentStates = map[string]string{
	forge.DeployInProgress: "in_progress",
	forge.DeploySuccess:    "success",
	forge.DeployFailure:    "failure",
	"failed":               "failure",
	"error":                "error",
	"inactive":             "inactive",
	"queued":               "queued",
	"pending":              "pending",
}

// deployErr wraps err and says what to do about the refusals particular to
// deployments.
func (f *Forge) deployErr(op, ref string, err error) error {
	err = f.wrap(op, err)
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Status {
	case http.StatusForbidden:
		if errors.Is(e.Kind, ErrForbidden) {
			e.Hint = hintDeployForbidden
		}
	case http.StatusConflict:
		e.Hint = fmt.Sprintf("GitHub refused the deployment (HTTP 409): the commit's required status checks failed or %s needs a merge; check the commit's statuses and the repository's rulesets, then promote again", ref)
	case http.StatusUnprocessableEntity:
		e.Hint = fmt.Sprintf("GitHub rejected the deployment (HTTP 422): %s must be a commit, branch or tag of %s/%s and the environment name valid; is the version's commit pushed?", ref, f.owner, f.repo)
	case http.StatusNotFound:
		e.Hint = fmt.Sprintf("repository or deployment not found (HTTP 404) — does the token have access to %s/%s?", f.owner, f.repo)
	}
	return e
}

// environmentURL is the environment's deployments page when the server is
// known, else the deployment's API URL.
func (f *Forge) environmentURL(env, apiURL string) string {
	if f.serverURL == "" {
		return apiURL
	}
	return f.serverURL + "/" + f.owner + "/" + f.repo + "/deployments/" + url.PathEscape(env)
}

// short is a commit id cut to 12 characters for messages.
func short(ref string) string {
	if len(ref) == 40 && strings.Trim(ref, "0123456789abcdef") == "" {
		return ref[:12]
	}
	return ref
}
