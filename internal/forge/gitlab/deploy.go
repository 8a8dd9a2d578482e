package gitlab

import (
	"context"
	"errors"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge"
)

var _ forge.Deployer = (*Forge)(nil)

// noteBlocked explains a deployment GitLab holds for approval.
const noteBlocked = "the environment is protected and needs approval: approve the deployment under Operate > Environments, then mlci's state update applies"

// Deploy creates a running deployment of d.Ref to d.Environment. GitLab's
// deployments have no payload or description, so those stay in the tag and
// the release notes. The ref is the pipeline's branch when d.Ref is the
// pipeline's commit, else the commit itself: GitLab wants a ref, and which
// branch holds an older version's commit is not known here.
func (f *Forge) Deploy(ctx context.Context, d forge.Deployment) (forge.DeploymentResult, error) {
	var res forge.DeploymentResult
	if d.Environment == "" {
		return res, errors.New("gitlab: deploy: no environment: name one, like production")
	}
	sha := d.Ref
	if sha == "" {
		if sha = f.cfg.SHA; sha == "" {
			return res, errors.New("gitlab: deploy: no commit: give the version's commit or set CI_COMMIT_SHA")
		}
		res.Notes = append(res.Notes, "no version commit given: deployed the pipeline's commit "+sha)
	}
	ref := sha
	if sha == f.cfg.SHA && f.cfg.Branch != "" {
		ref = f.cfg.Branch
	}
	opt := &gl.CreateProjectDeploymentOptions{
		Environment: gl.Ptr(d.Environment),
		Ref:         gl.Ptr(ref),
		SHA:         gl.Ptr(sha),
		Tag:         gl.Ptr(false),
		Status:      gl.Ptr(gl.DeploymentStatusRunning),
	}
	dep, _, err := f.client.Deployments.CreateProjectDeployment(f.cfg.Project, opt, gl.WithContext(ctx))
	if err != nil {
		return res, f.deployErr("create deployment to "+d.Environment, err)
	}
	res.ID = dep.ID
	res.State = deployState(dep.Status)
	if res.State == forge.DeployWaiting {
		res.Notes = append(res.Notes, noteBlocked)
	}
	if f.projectURL != "" && dep.Environment != nil && dep.Environment.ID != 0 {
		res.URL = fmt.Sprintf("%s/-/environments/%d", f.projectURL, dep.Environment.ID)
	}
	f.log.InfoContext(ctx, "created GitLab deployment", "project", f.cfg.Project,
		"environment", d.Environment, "ref", ref, "sha", sha, "id", res.ID, "status", dep.Status)
	return res, nil
}

// SetDeploymentState updates the deployment's status: in_progress is
// running, failure (or failed) is failed. GitLab deployments carry no log
// link, so logURL is unused.
func (f *Forge) SetDeploymentState(ctx context.Context, id int64, state, _ string) error {
	st, ok := deploymentStates[state]
	if !ok {
		return fmt.Errorf("gitlab: set deployment %d state: unknown state %q: use in_progress, success or failure", id, state)
	}
	_, _, err := f.client.Deployments.UpdateProjectDeployment(f.cfg.Project, id,
		&gl.UpdateProjectDeploymentOptions{Status: gl.Ptr(st)}, gl.WithContext(ctx))
	if err != nil {
		return f.deployErr(fmt.Sprintf("set deployment %d to %s", id, st), err)
	}
	return nil
}

var deploymentStates = map[string]gl.DeploymentStatusValue{
	forge.DeployInProgress: gl.DeploymentStatusRunning,
	"running":              gl.DeploymentStatusRunning,
	forge.DeploySuccess:    gl.DeploymentStatusSuccess,
	forge.DeployFailure:    gl.DeploymentStatusFailed,
	"failed":               gl.DeploymentStatusFailed,
	"canceled":             gl.DeploymentStatusCanceled,
}

// deployState maps GitLab's deployment status onto forge's states.
func deployState(s string) string {
	switch s {
	case "running":
		return forge.DeployInProgress
	case "blocked":
		return forge.DeployWaiting
	case "failed":
		return forge.DeployFailure
	}
	return s // success, created, canceled
}

// deployErr is wrap with the 403 said for deployments: GitLab refuses a
// deployment to a protected environment to anyone not allowed to deploy.
func (f *Forge) deployErr(op string, err error) error {
	err = f.wrap(op, err)
	var e *Error
	if errors.As(err, &e) && e.Kind == ErrForbidden {
		e.Hint = "forbidden (HTTP 403): the token needs api scope, the Developer role and, for a protected environment, to be allowed to deploy to it (Settings > CI/CD > Protected environments)"
	}
	return err
}
