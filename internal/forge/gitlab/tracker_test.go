package gitlab_test

import (
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/gitlab"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
	"github.com/mlci/mlci/internal/forge/tracker/trackertest"
)

func TestTracker(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Site { return &trackerSite{s: setup(t)} })
}

// trackerSite is the project on its own fake, written by the bot's token
// from a scheduled pipeline (no merge request).
type trackerSite struct{ s *gitlabfake.Server }

func (ts *trackerSite) Forge(t *testing.T) trackertest.Forge {
	cfg := config(ts.s)
	cfg.MergeRequestIID = ""
	return newForge(t, cfg)
}

func (ts *trackerSite) Issues(t *testing.T) []forge.Issue {
	var out []forge.Issue
	for _, i := range ts.s.Issues(project) {
		out = append(out, forge.Issue{ID: int64(i.IID), Title: i.Title, Body: i.Description, Open: i.State == "opened",
			Labels: i.Labels, URL: i.WebURL, Author: i.Author.Username})
	}
	return out
}

func (ts *trackerSite) Comments(t *testing.T, id int64) []string {
	var out []string
	for _, n := range ts.s.IssueNotes(project, int(id)) {
		out = append(out, n.Body)
	}
	return out
}

func (ts *trackerSite) AddIssue(t *testing.T, title, body string, labels []string, open bool) int64 {
	state := map[bool]string{true: "opened", false: "closed"}[open]
	return int64(ts.s.AddIssue(project, gitlabfake.Issue{Title: title, Description: body, Labels: labels, State: state}).IID)
}

func (ts *trackerSite) Changes(t *testing.T) []trackertest.Change {
	var out []trackertest.Change
	for _, m := range ts.s.MergeRequests(project) {
		out = append(out, trackertest.Change{ID: int64(m.IID), Head: m.SourceBranch, Base: m.TargetBranch,
			Title: m.Title, Body: m.Description, Open: m.State == "opened"})
	}
	return out
}

func (ts *trackerSite) CloseChange(t *testing.T, id int64) {
	c, err := gitlab.NewClient(gitlab.ClientOptions{Token: token, APIURL: ts.s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.MergeRequests.UpdateMergeRequest(project, id, &gl.UpdateMergeRequestOptions{StateEvent: gl.Ptr("close")}); err != nil {
		t.Fatal(err)
	}
}

func (ts *trackerSite) Fail(t *testing.T, target trackertest.Target, status, times int) {
	p := map[trackertest.Target]string{trackertest.IssueWrites: "/projects/*/issues", trackertest.ChangeWrites: "/projects/*/merge_requests"}[target]
	ts.s.FailNext("POST", p, status, nil, times)
}
