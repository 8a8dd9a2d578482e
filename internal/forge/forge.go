// Package forge posts mlci's report where a forge shows it: one sticky
// pull/merge request comment, a commit status and, where allowed, a check;
// and, for the production loop, keeps issues and pull/merge requests.
// Implementations live in subpackages (github, gitlab, local).
package forge

import (
	"context"
	"errors"
	"fmt"
)

// Comment modes, as --comment-mode takes them.
const (
	// ModeUpdate edits the sticky comment in place (the default).
	ModeUpdate = "update"
	// ModeRecreate deletes the sticky comment and posts a new one, so it
	// moves to the bottom of the conversation.
	ModeRecreate = "recreate"
	// ModeAppend always posts a new comment and keeps the old ones.
	ModeAppend = "append"
	// ModeOff posts no comment (statuses and checks still go out).
	ModeOff = "off"
)

// Modes lists the comment modes, default first.
func Modes() []string { return []string{ModeUpdate, ModeRecreate, ModeAppend, ModeOff} }

// Marker is the hidden line that identifies a sticky comment of report id.
func Marker(id string) string { return fmt.Sprintf("<!-- mlci:report:%s -->", id) }

// Annotation points a check-run annotation at a file and line.
type Annotation struct {
	Path    string
	Line    int
	Level   string // "failure", "warning" or "notice"
	Title   string
	Message string
}

// Report is what gets posted.
type Report struct {
	// ID names the sticky comment; one comment per ID per pull request.
	ID string
	// Body is the markdown, without the marker (the forge adds it).
	Body string
	// Pass is the gate verdict, for the commit status and check conclusion.
	Pass bool
	// Summary is one line for the commit status description.
	Summary string
	// Annotations go on the check run where the forge supports one.
	Annotations []Annotation
	// Mode is one of Modes(); "" means ModeUpdate.
	Mode string
}

// Result says what was posted.
type Result struct {
	// CommentURL is the sticky comment's web address, "" when none.
	CommentURL string
	// Unchanged is set when the comment already had this body and was not
	// posted again.
	Unchanged bool
	// Status and Check say whether a commit status and a check run were set.
	Status, Check bool
	// Notes are one-line explanations of what was skipped and why (a fork's
	// read-only token, a token that cannot create check runs).
	Notes []string
}

// Forge posts reports.
type Forge interface {
	// Name is "github", "gitlab" or "local".
	Name() string
	Post(ctx context.Context, r Report) (Result, error)
}

// Deployment asks the forge to record (and, where configured, gate) a model
// promotion to an environment.
type Deployment struct {
	Environment string // e.g. "production" or "digits-production"
	Ref         string // the commit id of the version
	Description string
	// Payload is the model record: model, version, stage, artifact digest, tag.
	Payload map[string]any
	// Production marks the environment as one users see, as GitHub's
	// production_environment does.
	Production bool
}

// Deployment states, as DeploymentResult.State and SetDeploymentState use
// them; a forge maps them onto its own.
const (
	DeployInProgress = "in_progress"
	DeploySuccess    = "success"
	DeployFailure    = "failure"
	// DeployWaiting means the forge holds the deployment for approval.
	DeployWaiting = "waiting"
)

// DeploymentResult says what the forge recorded.
type DeploymentResult struct {
	ID    int64
	URL   string // the deployment's or environment's web page, "" when unknown
	State string // one of the Deploy* states, or the forge's own when it has no match
	// Notes are one-line explanations, as Result.Notes.
	Notes []string
}

// Deployer is implemented by forges that have deployments (github, gitlab;
// local does not).
type Deployer interface {
	Deploy(ctx context.Context, d Deployment) (DeploymentResult, error)
	// SetDeploymentState reports the outcome after the promotion tag was
	// pushed: DeployInProgress, DeploySuccess or DeployFailure.
	SetDeploymentState(ctx context.Context, id int64, state, logURL string) error
}

// Issue is an issue as IssueTracker sees it.
type Issue struct {
	// ID is the number users see: GitHub's number, GitLab's iid. IDs grow
	// in the order issues are created, which is how duplicates pick the
	// oldest.
	ID     int64
	Title  string
	Body   string
	Open   bool
	Labels []string
	URL    string // the issue's web page
	// Author is the login or username that opened it.
	Author string
}

// IssueTracker is implemented by forges with issues (github, gitlab; local
// does not). The package forge/tracker keeps one issue per key over it.
type IssueTracker interface {
	// FindIssues returns the issues, open and closed, that carry label and
	// whose body contains marker, from every page, oldest first. Pull
	// requests are never issues here.
	FindIssues(ctx context.Context, label, marker string) ([]Issue, error)
	CreateIssue(ctx context.Context, title, body string, labels []string) (Issue, error)
	UpdateIssue(ctx context.Context, id int64, title, body string) (Issue, error)
	CommentIssue(ctx context.Context, id int64, body string) error
	// CloseIssue closes the issue; duplicate says it repeats another (GitHub
	// records it as "not planned" rather than "completed").
	CloseIssue(ctx context.Context, id int64, duplicate bool) (Issue, error)
	ReopenIssue(ctx context.Context, id int64) (Issue, error)
	// MaxBodyChars is the longest issue, pull request or comment body the
	// forge takes, in characters.
	MaxBodyChars() int
}

// Change is a pull request (GitHub) or merge request (GitLab).
type Change struct {
	ID         int64 // the number users see: GitHub's number, GitLab's iid
	Title      string
	Body       string
	Head, Base string // branch names
	URL        string // the change's web page
	Author     string
	// Notes are one-line explanations, as Result.Notes: a GitHub pull
	// request opened with GITHUB_TOKEN starts no workflow, for one.
	Notes []string
}

// ErrChangeExists is what ChangeRequester.OpenChange returns (wrapped) when
// an open change from the same head to the same base exists already, as
// when another job opened it since FindOpenChange looked.
var ErrChangeExists = errors.New("an open pull/merge request for this branch exists already")

// ChangeRequester is implemented by forges with pull or merge requests
// (github, gitlab). The git push of the head branch is the caller's.
type ChangeRequester interface {
	// FindOpenChange returns the open change from head to base of this
	// repository; ok is false when there is none.
	FindOpenChange(ctx context.Context, head, base string) (c Change, ok bool, err error)
	// OpenChange opens one; see ErrChangeExists.
	OpenChange(ctx context.Context, head, base, title, body string) (Change, error)
	UpdateChange(ctx context.Context, id int64, title, body string) (Change, error)
	// MaxBodyChars is as IssueTracker's.
	MaxBodyChars() int
}
