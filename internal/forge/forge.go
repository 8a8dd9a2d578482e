// Package forge posts mlci's report where a forge shows it: one sticky
// pull/merge request comment, a commit status and, where allowed, a check.
// Implementations live in subpackages (github, gitlab, local).
package forge

import (
	"context"
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
