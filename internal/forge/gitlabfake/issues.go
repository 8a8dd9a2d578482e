package gitlabfake

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDescriptionChars is GitLab's limit on an issue or merge request
// description, in characters, as on notes.
const MaxDescriptionChars = MaxNoteChars

// Issue is an issue as the API returns it.
type Issue struct {
	ID          int        `json:"id"`
	IID         int        `json:"iid"`
	ProjectID   int        `json:"project_id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	State       string     `json:"state"` // "opened" or "closed"
	Labels      []string   `json:"labels"`
	Author      Author     `json:"author"`
	WebURL      string     `json:"web_url"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at"`
}

// MergeRequest is a merge request as the fake holds it.
type MergeRequest struct {
	IID                        int
	Title, Description         string
	State                      string // "opened", "closed" or "merged"
	SourceBranch, TargetBranch string
	Author                     Author
	WebURL                     string
}

type issue struct {
	Issue
	notes []*Note
}

// AddIssue seeds an issue in project (a path, created when new, or an id)
// and returns it as stored; IID 0 takes the next one, State "" is opened.
func (s *Server) AddIssue(project string, in Issue) Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(project)
	if p == nil {
		p = s.addProject(project)
	}
	return s.addIssue(p, in).Issue
}

// Issues returns a project's issues by IID.
func (s *Server) Issues(project string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	if p := s.project(project); p != nil {
		for _, i := range p.issues {
			c := i.Issue
			c.Labels = slices.Clone(i.Labels)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Issue) int { return a.IID - b.IID })
	return out
}

// IssueNotes returns an issue's notes, oldest first.
func (s *Server) IssueNotes(project string, iid int) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	if p := s.project(project); p != nil && p.issues[iid] != nil {
		for _, n := range p.issues[iid].notes {
			out = append(out, *n)
		}
	}
	return out
}

// MergeRequests returns the merge requests opened through the API, by IID.
func (s *Server) MergeRequests(project string) []MergeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []MergeRequest
	if p := s.project(project); p != nil {
		for _, m := range p.mrs {
			if m.source == "" {
				continue
			}
			out = append(out, MergeRequest{IID: m.iid, Title: m.title, Description: m.desc, State: m.state,
				SourceBranch: m.source, TargetBranch: m.target, Author: m.author, WebURL: s.mrURL(p, m)})
		}
	}
	slices.SortFunc(out, func(a, b MergeRequest) int { return a.IID - b.IID })
	return out
}

// The helpers below expect the caller to hold mu.

func (s *Server) addIssue(p *project, in Issue) *issue {
	if in.IID == 0 {
		for k := range p.issues {
			in.IID = max(in.IID, k)
		}
		in.IID++
	}
	now := time.Now().UTC()
	in.ID, in.ProjectID = s.nextID(), p.id
	in.State = cmp.Or(in.State, "opened")
	in.WebURL = fmt.Sprintf("%s/%s/-/issues/%d", s.srv.URL, p.path, in.IID)
	in.CreatedAt, in.UpdatedAt = now, now
	if in.Labels == nil {
		in.Labels = []string{}
	}
	i := &issue{Issue: in}
	p.issues[in.IID] = i
	return i
}

func (s *Server) mrURL(p *project, m *mergeRequest) string {
	return fmt.Sprintf("%s/%s/-/merge_requests/%d", s.srv.URL, p.path, m.iid)
}

// splitLabels reads labels as GitLab takes them: a comma-separated string
// or an array.
func splitLabels(vs []string) []string {
	out := []string{}
	for _, v := range vs {
		for l := range strings.SplitSeq(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

func checkDescription(form url.Values) (reply, bool) {
	if utf8.RuneCountInString(form.Get("description")) > MaxDescriptionChars {
		return errReply(http.StatusBadRequest, map[string][]string{
			"description": {fmt.Sprintf("is too long (maximum is %d characters)", MaxDescriptionChars)}}), false
	}
	if t, ok := form["title"]; ok && strings.TrimSpace(t[0]) == "" {
		return errReply(http.StatusBadRequest, map[string][]string{"title": {"can't be blank"}}), false
	}
	return reply{}, true
}

// issues serves /projects/:id/issues[/:iid[/notes]].
func (s *Server) issues(r *http.Request, p *project, seg []string, user Author, form url.Values) reply {
	if len(seg) == 3 {
		switch r.Method {
		case http.MethodGet:
			return s.listIssues(r, p, form)
		case http.MethodPost:
			if _, ok := form["title"]; !ok {
				return reply{status: http.StatusBadRequest, body: map[string]string{"error": "title is missing"}}
			}
			if bad, ok := checkDescription(form); !ok {
				return bad
			}
			i := s.addIssue(p, Issue{Title: form.Get("title"), Description: form.Get("description"),
				Labels: splitLabels(form["labels"]), Author: user})
			return reply{status: http.StatusCreated, body: i.Issue}
		}
		return badMethod
	}
	iid, _ := strconv.Atoi(seg[3])
	i := p.issues[iid]
	if i == nil {
		return notFound
	}
	switch {
	case len(seg) == 4 && r.Method == http.MethodGet:
		return reply{status: http.StatusOK, body: i.Issue}
	case len(seg) == 4 && r.Method == http.MethodPut:
		return s.editIssue(i, form)
	case len(seg) == 5 && seg[4] == "notes" && r.Method == http.MethodGet:
		notes := slices.Clone(i.notes)
		if form.Get("sort") != "asc" {
			slices.Reverse(notes)
		}
		lo, hi, h := s.paginate(r, form, len(notes))
		out := make([]Note, 0, hi-lo)
		for _, n := range notes[lo:hi] {
			out = append(out, *n)
		}
		return reply{status: http.StatusOK, body: out, header: h}
	case len(seg) == 5 && seg[4] == "notes" && r.Method == http.MethodPost:
		if bad, ok := checkBody(form); !ok {
			return bad
		}
		now := time.Now().UTC()
		n := &Note{ID: s.nextID(), Body: form.Get("body"), Author: user, CreatedAt: now, UpdatedAt: now,
			NoteableType: "Issue", NoteableIID: i.IID, ProjectID: p.id}
		i.notes = append(i.notes, n)
		return reply{status: http.StatusCreated, body: *n}
	}
	return notFound
}

// listIssues filters by state (all by default), labels (every one),
// search in title or description and author_username, and orders by
// created_at, newest first unless sort=asc.
func (s *Server) listIssues(r *http.Request, p *project, form url.Values) reply {
	want := splitLabels(form["labels"])
	search := form.Get("search")
	in := cmp.Or(form.Get("in"), "title,description")
	var match []*issue
	for _, i := range p.issues {
		switch st := form.Get("state"); {
		case st != "" && st != "all" && st != i.State:
			continue
		case form.Get("author_username") != "" && form.Get("author_username") != i.Author.Username:
			continue
		case search != "" && !(strings.Contains(in, "title") && strings.Contains(i.Title, search) ||
			strings.Contains(in, "description") && strings.Contains(i.Description, search)):
			continue
		}
		if slices.ContainsFunc(want, func(l string) bool { return !slices.Contains(i.Labels, l) }) {
			continue
		}
		match = append(match, i)
	}
	slices.SortFunc(match, func(a, b *issue) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), a.IID-b.IID) })
	if form.Get("sort") != "asc" {
		slices.Reverse(match)
	}
	lo, hi, h := s.paginate(r, form, len(match))
	out := make([]Issue, 0, hi-lo)
	for _, i := range match[lo:hi] {
		out = append(out, i.Issue)
	}
	return reply{status: http.StatusOK, body: out, header: h}
}

// editIssue is PUT /projects/:id/issues/:iid: title, description, labels
// and state_event close or reopen.
func (s *Server) editIssue(i *issue, form url.Values) reply {
	if bad, ok := checkDescription(form); !ok {
		return bad
	}
	now := time.Now().UTC()
	if v, ok := form["title"]; ok {
		i.Title = v[0]
	}
	if v, ok := form["description"]; ok {
		i.Description = v[0]
	}
	if v, ok := form["labels"]; ok {
		i.Labels = splitLabels(v)
	}
	switch form.Get("state_event") {
	case "close":
		if i.State != "closed" {
			i.State, i.ClosedAt = "closed", &now
		}
	case "reopen":
		i.State, i.ClosedAt = "opened", nil
	case "":
	default:
		return reply{status: http.StatusBadRequest, body: map[string]string{"error": "state_event does not have a valid value"}}
	}
	i.UpdatedAt = now
	return reply{status: http.StatusOK, body: i.Issue}
}

func (s *Server) mrJSON(p *project, m *mergeRequest) map[string]any {
	return map[string]any{"id": m.iid + 100000, "iid": m.iid, "sha": m.sha, "project_id": p.id,
		"title": m.title, "description": m.desc, "state": m.state,
		"source_branch": m.source, "target_branch": m.target, "author": m.author,
		"created_at": m.created, "web_url": s.mrURL(p, m)}
}

// mergeRequests is GET and POST /projects/:id/merge_requests. GitLab
// refuses a second open merge request from the same source to the same
// target with 409 Conflict.
func (s *Server) mergeRequests(r *http.Request, p *project, user Author, form url.Values) reply {
	switch r.Method {
	case http.MethodGet:
		var match []*mergeRequest
		for _, m := range p.mrs {
			switch st := form.Get("state"); {
			case st != "" && st != "all" && st != m.state:
			case form.Get("source_branch") != "" && form.Get("source_branch") != m.source:
			case form.Get("target_branch") != "" && form.Get("target_branch") != m.target:
			default:
				match = append(match, m)
			}
		}
		slices.SortFunc(match, func(a, b *mergeRequest) int { return b.iid - a.iid })
		if form.Get("sort") == "asc" {
			slices.Reverse(match)
		}
		lo, hi, h := s.paginate(r, form, len(match))
		out := []map[string]any{}
		for _, m := range match[lo:hi] {
			out = append(out, s.mrJSON(p, m))
		}
		return reply{status: http.StatusOK, body: out, header: h}
	case http.MethodPost:
		for _, k := range []string{"source_branch", "target_branch", "title"} {
			if form.Get(k) == "" {
				return reply{status: http.StatusBadRequest, body: map[string]string{"error": k + " is missing"}}
			}
		}
		if bad, ok := checkDescription(form); !ok {
			return bad
		}
		for _, m := range p.mrs {
			if m.state == "opened" && m.source == form.Get("source_branch") && m.target == form.Get("target_branch") {
				return errReply(http.StatusConflict, []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", m.iid)})
			}
		}
		iid := 0
		for k := range p.mrs {
			iid = max(iid, k)
		}
		iid++
		m := &mergeRequest{iid: iid, sha: strings.Repeat(strconv.Itoa(iid%10), 40), source: form.Get("source_branch"),
			target: form.Get("target_branch"), title: form.Get("title"), desc: form.Get("description"),
			state: "opened", author: user, created: time.Now().UTC()}
		p.mrs[iid] = m
		return reply{status: http.StatusCreated, body: s.mrJSON(p, m)}
	}
	return badMethod
}

// editMergeRequest is PUT /projects/:id/merge_requests/:iid: title,
// description and state_event close or reopen.
func (s *Server) editMergeRequest(p *project, m *mergeRequest, form url.Values) reply {
	if bad, ok := checkDescription(form); !ok {
		return bad
	}
	if v, ok := form["title"]; ok {
		m.title = v[0]
	}
	if v, ok := form["description"]; ok {
		m.desc = v[0]
	}
	switch form.Get("state_event") {
	case "close":
		m.state = "closed"
	case "reopen":
		m.state = "opened"
	}
	return reply{status: http.StatusOK, body: s.mrJSON(p, m)}
}
