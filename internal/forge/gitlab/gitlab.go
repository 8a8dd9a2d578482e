// Package gitlab posts mlci's report to a GitLab merge request: one sticky
// note found by its hidden marker, and a commit status carrying the gate.
package gitlab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/retry"
)

// StatusName is the commit status mlci sets, so branch rules can require it.
const StatusName = "mlci/gate"

// maxNoteChars is GitLab's note limit; longer bodies are refused with a 400.
const maxNoteChars = 1_000_000

// maxDescription is the commit status description limit.
const maxDescription = 255

const (
	errNoToken  = "set GITLAB_TOKEN (a project access token with api scope) as a masked CI/CD variable; CI_JOB_TOKEN cannot write merge request notes"
	noteNoMR    = `no merge request for this pipeline: use ` + "`" + `rules: - if: $CI_PIPELINE_SOURCE == "merge_request_event"` + "`" + ` to run mlci in merge request pipelines; only the commit status was set`
	noteJobTok  = "CI_JOB_TOKEN cannot write merge request notes: " + errNoToken
	noteNoSHA   = "no commit SHA (CI_COMMIT_SHA): commit status not set"
	noteCutBody = "\n\n_Report truncated: GitLab notes hold at most 1,000,000 characters._"
)

// Config says where and as whom to post.
type Config struct {
	// Token is a project, group or personal access token with api scope.
	Token string
	// JobToken marks Token as CI_JOB_TOKEN (sent as JOB-TOKEN). GitLab does
	// not let a job token write merge request notes, so Post skips the note
	// and says so in Result.Notes.
	JobToken bool
	// APIURL is the API root, as CI_API_V4_URL ("https://gitlab.com/api/v4").
	APIURL string
	// Project is a numeric id or a "namespace/path".
	Project string
	// MergeRequestIID is "" when the pipeline is not for a merge request.
	MergeRequestIID string
	SHA             string
	// Branch is CI_COMMIT_BRANCH, "" outside branch pipelines; a deployment
	// of SHA names it as its ref.
	Branch      string
	PipelineURL string
	// ProjectURL is the project's web address, as CI_PROJECT_URL, for
	// Result.CommentURL; "" derives it from APIURL when Project is a path.
	ProjectURL string
	// HTTPClient supplies the base transport and any timeout; nil means
	// http.DefaultTransport. Its transport is always wrapped in a
	// retry.Transport with Retry, the only retry layer (see NewClient).
	HTTPClient *http.Client
	Retry      retry.Policy
	// Logger gets debug lines and the retry lines; nil means slog.Default().
	Logger *slog.Logger
}

// FromEnv reads GitLab CI's predefined variables. MLCI_GITLAB_TOKEN wins over
// GITLAB_TOKEN so a job can give mlci its own token. Outside CI, APIURL
// defaults to gitlab.com.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Token:           cmp.Or(getenv("MLCI_GITLAB_TOKEN"), getenv("GITLAB_TOKEN")),
		APIURL:          cmp.Or(getenv("CI_API_V4_URL"), "https://gitlab.com/api/v4"),
		Project:         cmp.Or(getenv("CI_PROJECT_ID"), getenv("CI_PROJECT_PATH")),
		MergeRequestIID: getenv("CI_MERGE_REQUEST_IID"),
		SHA:             getenv("CI_COMMIT_SHA"),
		Branch:          getenv("CI_COMMIT_BRANCH"),
		PipelineURL:     getenv("CI_PIPELINE_URL"),
		ProjectURL:      getenv("CI_PROJECT_URL"),
	}
	if c.Token == "" {
		return Config{}, errors.New(errNoToken)
	}
	if c.Project == "" {
		return Config{}, errors.New("set CI_PROJECT_ID or CI_PROJECT_PATH (GitLab CI sets both) to name the project")
	}
	return c, nil
}

// Forge posts reports to one merge request. It is safe for concurrent use.
type Forge struct {
	cfg        Config
	client     *gl.Client
	iid        int64
	projectURL string
	log        *slog.Logger

	mu sync.Mutex
	me *gl.User // the token's user, looked up once: it cannot change
}

// New checks cfg and builds the client.
func New(cfg Config) (*Forge, error) {
	if cfg.Token == "" {
		return nil, errors.New(errNoToken)
	}
	if cfg.Project == "" {
		return nil, errors.New("gitlab: no project: set CI_PROJECT_ID or CI_PROJECT_PATH")
	}
	if cfg.APIURL == "" {
		// Config has no default; an empty URL is a setting left out.
		return nil, errors.New(`gitlab: API URL "" is not an http(s) URL: set CI_API_V4_URL like https://gitlab.com/api/v4`)
	}
	f := &Forge{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default())}
	var err error
	f.client, err = NewClient(ClientOptions{Token: cfg.Token, JobToken: cfg.JobToken, APIURL: cfg.APIURL,
		HTTPClient: cfg.HTTPClient, Retry: cfg.Retry, Logger: f.log})
	if err != nil {
		return nil, err
	}
	if cfg.MergeRequestIID != "" {
		if f.iid, err = strconv.ParseInt(cfg.MergeRequestIID, 10, 64); err != nil || f.iid < 1 {
			return nil, fmt.Errorf("gitlab: merge request IID %q is not a positive number: check CI_MERGE_REQUEST_IID", cfg.MergeRequestIID)
		}
	}
	f.projectURL = projectURL(cfg)
	return f, nil
}

// projectURL is CI_PROJECT_URL, or the API host plus a path Project; a
// numeric Project has no web path, so comment links are left out.
func projectURL(cfg Config) string {
	if cfg.ProjectURL != "" {
		return strings.TrimSuffix(cfg.ProjectURL, "/")
	}
	if _, err := strconv.Atoi(cfg.Project); err == nil {
		return ""
	}
	base := strings.TrimSuffix(strings.TrimSuffix(cfg.APIURL, "/"), "/api/v4")
	if u, err := url.Parse(base); err == nil && u.User != nil {
		// The API's credentials are no part of a link anyone sees.
		u.User = nil
		base = u.String()
	}
	return base + "/" + strings.Trim(cfg.Project, "/")
}

// Name is "gitlab".
func (f *Forge) Name() string { return "gitlab" }

// Post sets the commit status, then writes the sticky note as r.Mode says.
// What a token may not do (403, job token, no merge request) becomes a
// Result note, not an error, so a read-only token still lets the job pass.
func (f *Forge) Post(ctx context.Context, r forge.Report) (forge.Result, error) {
	var res forge.Result
	if err := ctx.Err(); err != nil {
		return res, err
	}
	mode := cmp.Or(r.Mode, forge.ModeUpdate)
	if !slices.Contains(forge.Modes(), mode) {
		return res, fmt.Errorf("gitlab: unknown comment mode %q: use one of %s", r.Mode, strings.Join(forge.Modes(), ", "))
	}
	if err := f.setStatus(ctx, r, &res); err != nil {
		return res, err
	}
	switch {
	case mode == forge.ModeOff:
		return res, nil
	case f.iid == 0:
		res.Notes = append(res.Notes, noteNoMR)
		return res, nil
	case f.cfg.JobToken:
		res.Notes = append(res.Notes, noteJobTok)
		return res, nil
	}
	body, cut := noteBody(r)
	if cut {
		res.Notes = append(res.Notes, "report longer than GitLab's 1,000,000-character note limit: truncated")
	}
	n, unchanged, err := f.sticky(ctx, mode, forge.Marker(r.ID), body)
	if Status(err) == http.StatusForbidden {
		res.Notes = append(res.Notes, "the token may not write merge request notes (403): use a project access token with api scope and at least the Reporter role")
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Unchanged = unchanged
	if f.projectURL != "" {
		res.CommentURL = fmt.Sprintf("%s/-/merge_requests/%d#note_%d", f.projectURL, f.iid, n.ID)
	}
	f.log.DebugContext(ctx, "gitlab note posted", "mode", mode, "note", n.ID, "unchanged", unchanged)
	return res, nil
}

func (f *Forge) setStatus(ctx context.Context, r forge.Report, res *forge.Result) error {
	if f.cfg.SHA == "" {
		res.Notes = append(res.Notes, noteNoSHA)
		return nil
	}
	state := gl.Failed
	if r.Pass {
		state = gl.Success
	}
	opt := &gl.SetCommitStatusOptions{State: state, Name: gl.Ptr(StatusName)}
	if d := truncate(r.Summary, maxDescription); d != "" {
		opt.Description = gl.Ptr(d)
	}
	if f.cfg.PipelineURL != "" {
		opt.TargetURL = gl.Ptr(f.cfg.PipelineURL)
	}
	_, _, err := f.client.Commits.SetCommitStatus(f.cfg.Project, f.cfg.SHA, opt, gl.WithContext(ctx))
	switch s := Status(err); {
	case err == nil:
		res.Status = true
	case s == http.StatusForbidden || (f.cfg.JobToken && s == http.StatusUnauthorized):
		res.Notes = append(res.Notes, fmt.Sprintf("the token may not set commit statuses (%d): use a project access token with api scope and at least the Developer role", s))
	default:
		return f.wrap("set commit status", err)
	}
	return nil
}

// wrap classifies a failed call of the Forge's and says what to do about
// the answers whose meaning comes from posting to a merge request.
func (f *Forge) wrap(op string, err error) error {
	err = Classify(f.client, op+" on project "+f.cfg.Project, err)
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Kind {
	case ErrUnauthorized:
		e.Hint = "GITLAB_TOKEN is invalid or expired (HTTP 401)"
		if f.cfg.JobToken {
			e.Hint = "CI_JOB_TOKEN was refused (HTTP 401): " + errNoToken
		}
	case ErrForbidden:
		e.Hint = "forbidden (HTTP 403): the token needs api scope and the Developer role"
	case ErrNotFound:
		e.Hint = "project or merge request not found — does the token have access? (HTTP 404)"
	}
	return e
}

// noteBody appends the marker, cutting the report when the note would pass
// GitLab's limit so the post still lands (the renderer budgets far lower;
// this is the last guard).
func noteBody(r forge.Report) (string, bool) {
	marker := "\n\n" + forge.Marker(r.ID)
	body := r.Body + marker
	if utf8.RuneCountInString(body) <= maxNoteChars {
		return body, false
	}
	keep := maxNoteChars - utf8.RuneCountInString(noteCutBody+marker)
	return string([]rune(r.Body)[:keep]) + noteCutBody + marker, true
}

// truncate cuts s to n characters, ending in "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
