package github

import (
	"strings"
	"testing"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/tracker"
	"github.com/mlci/mlci/internal/forge/tracker/trackertest"
)

func TestTracker(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Site { return &trackerSite{s: newFake(t)} })
}

// trackerSite is repository o/r on its own fake, written by the user token.
type trackerSite struct{ s *githubfake.Server }

func (ts *trackerSite) Forge(t *testing.T) trackertest.Forge {
	cfg := config(t, ts.s, userToken, &sleeps{})
	cfg.EventName, cfg.EventPath, cfg.SHA = "schedule", "", pushSHA
	// No HTTPClient of the test's: the Forge's own retries are under test.
	return newForge(t, cfg)
}

func (ts *trackerSite) Issues(t *testing.T) []forge.Issue {
	var out []forge.Issue
	for _, i := range ts.s.Issues("o", "r") {
		out = append(out, forge.Issue{ID: int64(i.Number), Title: i.Title, Body: i.Body, Open: i.State == "open",
			Labels: i.Labels, URL: i.HTMLURL, Author: i.Login})
	}
	return out
}

func (ts *trackerSite) Comments(t *testing.T, id int64) []string {
	var out []string
	for _, c := range ts.s.Comments("o", "r", int(id)) {
		out = append(out, c.Body)
	}
	return out
}

func (ts *trackerSite) AddIssue(t *testing.T, title, body string, labels []string, open bool) int64 {
	state := map[bool]string{true: "open", false: "closed"}[open]
	return int64(ts.s.AddIssue("o", "r", githubfake.Issue{Title: title, Body: body, Labels: labels, State: state, Login: "octocat"}).Number)
}

func (ts *trackerSite) Changes(t *testing.T) []trackertest.Change {
	var out []trackertest.Change
	for _, p := range ts.s.PullRequests("o", "r") {
		out = append(out, trackertest.Change{ID: int64(p.Number), Head: p.Head, Base: p.Base, Title: p.Title, Body: p.Body, Open: p.State == "open"})
	}
	return out
}

func (ts *trackerSite) CloseChange(t *testing.T, id int64) {
	f := ts.Forge(t).(*Forge)
	if _, _, err := f.client.PullRequests.Edit(t.Context(), "o", "r", int(id), &gh.PullRequest{State: gh.String("closed")}); err != nil {
		t.Fatal(err)
	}
}

func (ts *trackerSite) Fail(t *testing.T, target trackertest.Target, status, times int) {
	p := map[trackertest.Target]string{trackertest.IssueWrites: "/repos/o/r/issues", trackertest.ChangeWrites: "/repos/o/r/pulls"}[target]
	ts.s.FailNext("POST", p, status, nil, times)
}

// TestFindIssuesSkipsPullRequests: the issues API lists pull requests too;
// one carrying the label and the marker is not the key's issue.
func TestFindIssuesSkipsPullRequests(t *testing.T) {
	s := newFake(t)
	key := tracker.Drift("churn")
	f := (&trackerSite{s: s}).Forge(t)
	if _, err := f.OpenChange(t.Context(), "mlci/refit-churn", "main", "Refit", "fixes drift\n\n"+key.Marker()); err != nil {
		t.Fatal(err)
	}
	s.SetLabels("o", "r", prNumber+1, tracker.DriftLabel)
	res, err := tracker.Sync(t.Context(), f, key, "mlci drift: churn", "report", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != tracker.Created || res.Issue.ID == prNumber+1 {
		t.Fatalf("got %s #%d, want a new issue", res.Action, res.Issue.ID)
	}
}

func TestDuplicateClosedAsNotPlanned(t *testing.T) {
	s := newFake(t)
	key := tracker.Drift("churn")
	for range 2 {
		s.AddIssue("o", "r", githubfake.Issue{Title: "t", Body: "b\n\n" + key.Marker(), Labels: []string{tracker.DriftLabel}, Login: "octocat"})
	}
	if _, err := tracker.Sync(t.Context(), (&trackerSite{s: s}).Forge(t), key, "t", "b", true); err != nil {
		t.Fatal(err)
	}
	is := s.Issues("o", "r")
	if is[0].State != "open" || is[1].State != "closed" || is[1].StateReason != "not_planned" {
		t.Fatalf("issues %+v, want the newer closed as not_planned", is)
	}
}

// TestActionsTokenNote: a pull request GITHUB_TOKEN opens starts no
// workflow, and the result says so.
func TestActionsTokenNote(t *testing.T) {
	s := newFake(t)
	cfg := config(t, s, appToken, &sleeps{})
	cfg.EventName, cfg.EventPath, cfg.SHA = "schedule", "", pushSHA
	res, err := tracker.EnsureChange(t.Context(), newForge(t, cfg), "mlci/refit", "main", "Refit", "body")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || res.Notes[0] != NoteActionsToken {
		t.Fatalf("notes %q, want the GITHUB_TOKEN caveat", res.Notes)
	}
}

func TestChangeErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		message string
		want    string
	}{
		{name: "actions may not open pull requests", status: 403,
			message: "GitHub Actions is not permitted to create or approve pull requests.", want: "Allow GitHub Actions to create and approve pull requests"},
		{name: "forbidden", status: 403, message: "Resource not accessible by integration", want: "pull-requests: write"},
		{name: "no such branch", status: 422, message: "Validation Failed", want: "is the head branch pushed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.Fail(githubfake.Fault{Method: "POST", Path: "/repos/o/r/pulls", Status: tt.status, Message: tt.message})
			_, err := (&trackerSite{s: s}).Forge(t).OpenChange(t.Context(), "h", "main", "t", "b")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to say %q", err, tt.want)
			}
		})
	}
}
