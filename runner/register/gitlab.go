package register

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	glforge "github.com/mlci/mlci/internal/forge/gitlab"
)

// GitLab runner types.
const (
	InstanceType = "instance_type"
	GroupType    = "group_type"
	ProjectType  = "project_type"
)

// minMaximumTimeout is the smallest maximum_timeout GitLab accepts, in
// seconds.
const minMaximumTimeout = 600

// GitLabOptions describe the runner to create. RunnerType may be left
// empty: it follows from which of ProjectID and GroupID is set (neither
// means an instance runner, which needs an admin token).
type GitLabOptions struct {
	RunnerType     string
	GroupID        int
	ProjectID      int
	Description    string
	Tags           []string
	RunUntagged    bool
	Locked         bool
	MaximumTimeout int // seconds; 0 leaves GitLab's default, else at least 600
}

// GitLabRunner is a created runner. Token (glrt-…) is what gitlab-runner
// authenticates with; it is kept out of JSON so the record is safe to save.
type GitLabRunner struct {
	ID             int
	Token          string `json:"-"`
	TokenExpiresAt *time.Time
	Tags           []string
}

func (o GitLabOptions) resolve() (GitLabOptions, error) {
	if o.ProjectID < 0 || o.GroupID < 0 {
		return o, usage("gitlab: project and group ids must be positive")
	}
	want := InstanceType
	switch {
	case o.ProjectID > 0 && o.GroupID > 0:
		return o, usage("gitlab: set a project (--project-id) or a group (--group-id), not both")
	case o.ProjectID > 0:
		want = ProjectType
	case o.GroupID > 0:
		want = GroupType
	}
	switch {
	case o.RunnerType == "":
		o.RunnerType = want
	case o.RunnerType != InstanceType && o.RunnerType != GroupType && o.RunnerType != ProjectType:
		return o, usage(fmt.Sprintf("gitlab: runner type %q is not one of %s, %s, %s", o.RunnerType, InstanceType, GroupType, ProjectType))
	case o.RunnerType != want:
		return o, usage(fmt.Sprintf("gitlab: runner type %s does not match the ids given (which make it %s): set --project-id for project_type, --group-id for group_type, neither for instance_type", o.RunnerType, want))
	}
	var tags []string
	seen := map[string]bool{}
	for _, t := range o.Tags {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	o.Tags = tags
	if len(o.Tags) == 0 && !o.RunUntagged {
		return o, usage("gitlab: a runner with no tags would never get a job: add tags or set run-untagged")
	}
	if o.MaximumTimeout != 0 && o.MaximumTimeout < minMaximumTimeout {
		return o, usage(fmt.Sprintf("gitlab: maximum timeout %ds is below GitLab's minimum of %ds", o.MaximumTimeout, minMaximumTimeout))
	}
	return o, nil
}

func (o GitLabOptions) scope() string {
	switch o.RunnerType {
	case ProjectType:
		return fmt.Sprintf("project %d", o.ProjectID)
	case GroupType:
		return fmt.Sprintf("group %d", o.GroupID)
	}
	return "the instance"
}

// RegisterGitLab creates a runner with the runner-creation flow (GitLab
// 15.10+), which replaces the deprecated registration tokens.
//
// API: https://docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user
func RegisterGitLab(ctx context.Context, c *gitlab.Client, o GitLabOptions) (GitLabRunner, error) {
	o, err := o.resolve()
	if err != nil {
		return GitLabRunner{}, err
	}
	req := &gitlab.CreateUserRunnerOptions{
		RunnerType:  gitlab.Ptr(o.RunnerType),
		RunUntagged: gitlab.Ptr(o.RunUntagged),
		Locked:      gitlab.Ptr(o.Locked),
	}
	if len(o.Tags) > 0 {
		req.TagList = gitlab.Ptr(o.Tags)
	}
	if o.Description != "" {
		req.Description = gitlab.Ptr(o.Description)
	}
	if o.ProjectID > 0 {
		req.ProjectID = gitlab.Ptr(int64(o.ProjectID))
	}
	if o.GroupID > 0 {
		req.GroupID = gitlab.Ptr(int64(o.GroupID))
	}
	if o.MaximumTimeout > 0 {
		req.MaximumTimeout = gitlab.Ptr(int64(o.MaximumTimeout))
	}
	op := fmt.Sprintf("create %s runner for %s", o.RunnerType, o.scope())
	r, _, err := c.Users.CreateUserRunner(req, gitlab.WithContext(ctx))
	if err != nil {
		return GitLabRunner{}, gitlabError(c, op, o.scope(), true, err)
	}
	if r == nil || r.ID == 0 || r.Token == "" {
		err := &classed{class: ErrService, err: &glforge.Error{Op: op, Status: http.StatusCreated, Kind: glforge.ErrUnavailable,
			Hint: "GitLab answered without a runner id or token; check the URL points at the GitLab API"}}
		if r != nil && r.ID != 0 {
			// A runner without its token can never start: remove it.
			id := int(r.ID)
			return GitLabRunner{}, Undo(ctx, err, func(ctx context.Context) error { return UnregisterGitLab(ctx, c, id) })
		}
		return GitLabRunner{}, err
	}
	return GitLabRunner{ID: int(r.ID), Token: r.Token, TokenExpiresAt: r.TokenExpiresAt, Tags: o.Tags}, nil
}

// UnregisterGitLab deletes runner id. A runner that is already gone is not
// an error.
//
// API: https://docs.gitlab.com/api/runners/#delete-a-runner-by-id
func UnregisterGitLab(ctx context.Context, c *gitlab.Client, id int) error {
	_, err := c.Runners.RemoveRunner(id, gitlab.WithContext(ctx))
	if err == nil {
		return nil
	}
	if glforge.Status(err) == http.StatusNotFound {
		return nil
	}
	return gitlabError(c, fmt.Sprintf("delete runner %d", id), fmt.Sprintf("runner %d", id), false, err)
}

// gitlabError classifies a client-go failure and says what it means for
// runners; scope names what the call was about, create marks a runner
// creation.
func gitlabError(c *gitlab.Client, op, scope string, create bool, err error) error {
	err = glforge.Classify(c, op, err)
	var e *glforge.Error
	if !errors.As(err, &e) {
		return err
	}
	class, kind := classOf(e)
	switch e.Kind {
	case glforge.ErrForbidden:
		e.Hint = "token lacks permission (HTTP 403): it needs the create_runner or api scope and the Maintainer role on the project, Owner on the group, or admin for instance runners"
	case glforge.ErrNotFound:
		e.Hint = scope + " not found or the token cannot see it (HTTP 404)"
		if create && strings.HasPrefix(scope, "the instance") {
			e.Hint = "GitLab has no user/runners endpoint (HTTP 404): it needs GitLab 15.10 or later"
		}
	case glforge.ErrRejected:
		e.Hint = fmt.Sprintf("GitLab rejected the request (HTTP %d); check the options", e.Status)
	}
	return &classed{class: class, kind: kind, err: e}
}
