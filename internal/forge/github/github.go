// Package github posts mlci's report to GitHub: one sticky pull request
// comment, a commit status and, where the token is an App's, a check run.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/redact"
)

const (
	// MaxCommentLength is GitHub's limit on a comment body, in characters.
	MaxCommentLength = 65536
	// StatusContext names mlci's commit status.
	StatusContext = "mlci/gate"
	// CheckName names mlci's check run.
	CheckName = "mlci"
	// maxDescription is GitHub's limit on a status description.
	maxDescription = 140
	// maxAnnotations is GitHub's limit per check-run request.
	maxAnnotations = 50
	// maxSummary is GitHub's limit on a check run's output summary.
	maxSummary = 65535
)

// Notes for what Post skipped rather than failed on.
const (
	noteReadOnly = "the token cannot write to this pull request (a fork?); the report is in the step summary — see README for the workflow_run recipe"
	noteNoStatus = "commit status skipped: the token cannot set commit statuses (a fork? the job needs `permissions: statuses: write`)"
	noteNoCheck  = "check run skipped: the token cannot create check runs (only GitHub Apps can)"
)

// Forge posts to one repository. It is safe for concurrent use.
type Forge struct {
	client      *gh.Client
	owner, repo string
	apiURL      string // for messages: without credentials
	runURL      string
	serverURL   string // the web root, for deployment links; "" when unknown
	target      target
	log         *slog.Logger

	idMu    sync.Mutex
	idKnown bool
	login   string // "" when the token is an App's

	// noChecks remembers a 403 on check runs, so later posts skip the call.
	noChecks atomic.Bool
}

var _ forge.Forge = (*Forge)(nil)

// New checks cfg, reads the event and builds the client.
func New(cfg Config) (*Forge, error) {
	if cfg.Token == "" {
		return nil, errNoToken
	}
	owner, repo, ok := strings.Cut(cfg.Repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("github: repository %q is not owner/name: set GITHUB_REPOSITORY", cfg.Repository)
	}
	tgt, err := resolveTarget(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	opts := ClientOptions{Token: cfg.Token, APIURL: cfg.APIURL, HTTPClient: cfg.HTTPClient, Retry: cfg.Retry, Logger: log}
	if cfg.HTTPClient != nil {
		// A client of the caller's brings its own retries.
		opts.Retry.MaxAttempts = 1
	}
	client, err := NewClient(opts)
	if err != nil {
		return nil, err
	}
	return &Forge{
		client: client, owner: owner, repo: repo,
		apiURL: redact.URLs(client.BaseURL.String()), runURL: cfg.RunURL, serverURL: strings.TrimSuffix(cfg.ServerURL, "/"),
		target: tgt, log: log,
	}, nil
}

// Name is "github".
func (f *Forge) Name() string { return "github" }

// Post sets the commit status, the sticky comment and the check run, in
// that order. What the token may not do (a fork's read-only token, a
// non-App token and check runs) becomes a Note, not an error.
func (f *Forge) Post(ctx context.Context, r forge.Report) (forge.Result, error) {
	mode := r.Mode
	if mode == "" {
		mode = forge.ModeUpdate
	}
	if !slices.Contains(forge.Modes(), mode) {
		return forge.Result{}, fmt.Errorf("github: unknown comment mode %q: use one of %s", mode, strings.Join(forge.Modes(), ", "))
	}
	marker := forge.Marker(r.ID)
	body := r.Body + "\n\n" + marker
	if n := utf8.RuneCountInString(body); mode != forge.ModeOff && n > MaxCommentLength {
		return forge.Result{}, &Error{Op: "post report", Kind: ErrTooLong,
			Hint: fmt.Sprintf("the report is %d characters, more than GitHub's %d for a comment; shorten it", n, MaxCommentLength)}
	}
	var res forge.Result
	sha := f.target.sha

	if err := f.setStatus(ctx, sha, r); errors.Is(err, ErrForbidden) {
		res.Notes = append(res.Notes, noteNoStatus)
	} else if err != nil {
		return res, err
	} else {
		res.Status = true
	}

	if mode != forge.ModeOff {
		if err := f.comment(ctx, &res, mode, marker, body); errors.Is(err, ErrForbidden) {
			res.Notes = append(res.Notes, noteReadOnly)
		} else if err != nil {
			return res, err
		}
	}

	switch ok, err := f.createCheck(ctx, sha, r); {
	case err != nil:
		return res, err
	case ok:
		res.Check = true
	default:
		note := noteNoCheck
		if res.Status {
			note += "; the commit status was set"
		}
		res.Notes = append(res.Notes, note)
	}
	f.log.InfoContext(ctx, "posted report to GitHub", "repository", f.owner+"/"+f.repo, "sha", sha,
		"comment", res.CommentURL, "unchanged", res.Unchanged, "status", res.Status, "check", res.Check)
	return res, nil
}

// comment posts the sticky comment on every target pull request, or on the
// commit when none contains it.
func (f *Forge) comment(ctx context.Context, res *forge.Result, mode, marker, body string) error {
	prs := f.target.prs
	if f.target.lookup {
		var err error
		if prs, err = f.openPRs(ctx, f.target.sha); err != nil {
			return err
		}
	}
	var threads []thread
	for _, n := range prs {
		threads = append(threads, issueThread{c: f.client, owner: f.owner, repo: f.repo, number: n})
	}
	if len(threads) == 0 {
		threads = append(threads, commitThread{c: f.client, owner: f.owner, repo: f.repo, sha: f.target.sha})
	}
	res.Unchanged = true
	for _, th := range threads {
		p, err := f.sticky(ctx, th, mode, marker, body)
		if err != nil {
			res.Unchanged = false
			return err
		}
		if res.CommentURL == "" {
			res.CommentURL = p.url
		}
		res.Unchanged = res.Unchanged && p.unchanged
	}
	return nil
}

// openPRs lists the open pull requests whose commits include sha.
func (f *Forge) openPRs(ctx context.Context, sha string) ([]int, error) {
	prs, err := allPages(func(page int) ([]*gh.PullRequest, *gh.Response, error) {
		return f.client.PullRequests.ListPullRequestsWithCommit(ctx, f.owner, f.repo, sha, &gh.ListOptions{PerPage: perPage, Page: page})
	})
	if err != nil {
		return nil, f.wrap("list pull requests for commit "+sha, err)
	}
	var out []int
	for _, pr := range prs {
		if pr.GetState() == "open" {
			out = append(out, pr.GetNumber())
		}
	}
	return out, nil
}

func (f *Forge) setStatus(ctx context.Context, sha string, r forge.Report) error {
	st := &gh.RepoStatus{
		State:       gh.String(verdict(r.Pass)),
		Context:     gh.String(StatusContext),
		Description: gh.String(truncate(r.Summary, maxDescription)),
	}
	if f.runURL != "" {
		st.TargetURL = gh.String(f.runURL)
	}
	_, _, err := f.client.Repositories.CreateStatus(ctx, f.owner, f.repo, sha, st)
	return f.wrap("set commit status on "+sha, err)
}

// createCheck creates the check run with the first 50 annotations and adds
// the rest 50 at a time, GitHub's limit per request. It reports false when
// the token cannot create check runs (only Apps can).
func (f *Forge) createCheck(ctx context.Context, sha string, r forge.Report) (bool, error) {
	if f.noChecks.Load() {
		return false, nil
	}
	title := r.Summary
	if title == "" {
		title = "mlci gate " + map[bool]string{true: "passed", false: "failed"}[r.Pass]
	}
	summary := truncate(r.Body, maxSummary)
	if summary == "" {
		summary = title
	}
	anns := annotations(r.Annotations)
	first := anns[:min(len(anns), maxAnnotations)]
	opts := gh.CreateCheckRunOptions{
		Name:        CheckName,
		HeadSHA:     sha,
		Status:      gh.String("completed"),
		Conclusion:  gh.String(verdict(r.Pass)),
		CompletedAt: &gh.Timestamp{Time: time.Now()},
		Output:      &gh.CheckRunOutput{Title: &title, Summary: &summary, Annotations: first},
	}
	if f.runURL != "" {
		opts.DetailsURL = gh.String(f.runURL)
	}
	run, _, err := f.client.Checks.CreateCheckRun(ctx, f.owner, f.repo, opts)
	if Status(err) == http.StatusForbidden {
		f.noChecks.Store(true)
		f.log.DebugContext(ctx, "token cannot create check runs", "error", f.wrap("create check run", err).Error())
		return false, nil
	}
	if err != nil {
		return false, f.wrap("create check run on "+sha, err)
	}
	for rest := anns[len(first):]; len(rest) > 0; rest = rest[min(len(rest), maxAnnotations):] {
		chunk := rest[:min(len(rest), maxAnnotations)]
		_, _, err := f.client.Checks.UpdateCheckRun(ctx, f.owner, f.repo, run.GetID(), gh.UpdateCheckRunOptions{
			Name:   CheckName,
			Output: &gh.CheckRunOutput{Title: &title, Summary: &summary, Annotations: chunk},
		})
		if err != nil {
			return false, f.wrap(fmt.Sprintf("add annotations to check run %d", run.GetID()), err)
		}
	}
	return true, nil
}

// wrap classifies a failed call of the Forge's and says what to do about
// the answers whose meaning comes from posting to a pull request.
func (f *Forge) wrap(op string, err error) error {
	err = Classify(f.client, op, err)
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Kind == ErrUnauthorized:
		e.Hint = "GITHUB_TOKEN is invalid or expired (HTTP 401)"
	case e.Kind == ErrNotFound:
		e.Hint = fmt.Sprintf("repository or pull request not found (HTTP 404) — does the token have access to %s/%s?", f.owner, f.repo)
	case e.Kind == ErrForbidden:
		e.Hint = "the token may not do this (HTTP 403); give the job `permissions: pull-requests: write, statuses: write`"
	case e.Status == http.StatusUnprocessableEntity && strings.Contains(e.Message, "too long"):
		e.Kind = ErrTooLong
		e.Hint = "the report is too long for a GitHub comment (HTTP 422); shorten it"
	}
	return e
}

// annotations maps mlci's to GitHub's, which need a path, a line of at
// least 1, a level of notice, warning or failure, and a message.
func annotations(in []forge.Annotation) []*gh.CheckRunAnnotation {
	var out []*gh.CheckRunAnnotation
	for _, a := range in {
		if a.Path == "" {
			continue
		}
		level := a.Level
		if level != "failure" && level != "warning" && level != "notice" {
			level = "warning"
		}
		msg := a.Message
		if msg == "" {
			msg = a.Title
		}
		if msg == "" {
			msg = "(no message)"
		}
		line := max(a.Line, 1)
		ann := &gh.CheckRunAnnotation{Path: gh.String(a.Path), StartLine: gh.Int(line), EndLine: gh.Int(line),
			AnnotationLevel: gh.String(level), Message: gh.String(msg)}
		if a.Title != "" {
			ann.Title = gh.String(a.Title)
		}
		out = append(out, ann)
	}
	return out
}

func verdict(pass bool) string {
	if pass {
		return "success"
	}
	return "failure"
}

// truncate cuts s to n characters, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
