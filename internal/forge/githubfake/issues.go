package githubfake

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Issue is an issue as the fake holds it.
type Issue struct {
	Number      int
	Title       string
	Body        string
	State       string // "open" or "closed"
	StateReason string // "completed", "not_planned", "reopened" or ""
	Labels      []string
	Login       string // the author
	HTMLURL     string
	CreatedAt   time.Time
}

// PullRequest is a pull request opened through the API.
type PullRequest struct {
	Number     int
	Title      string
	Body       string
	State      string // "open" or "closed"
	Head, Base string
	Login      string
	HTMLURL    string
}

type issue struct {
	Issue
	updated  time.Time
	closedAt *time.Time
}

// AddIssue seeds an issue, numbered after every issue and pull request when
// in.Number is 0, and returns it as stored. State "" means open.
func (s *Server) AddIssue(owner, name string, in Issue) Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(owner, name, true)
	if in.Number == 0 {
		in.Number = nextNumber(rp)
	}
	in.State = cmp.Or(in.State, "open")
	in.HTMLURL = s.srv.URL + "/" + owner + "/" + name + "/issues/" + strconv.Itoa(in.Number)
	if in.CreatedAt.IsZero() {
		in.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	rp.issues[in.Number] = &issue{Issue: in, updated: in.CreatedAt}
	return in
}

// SetLabels replaces the labels of an issue or pull request.
func (s *Server) SetLabels(owner, name string, number int, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(owner, name, false)
	switch {
	case rp != nil && rp.issues[number] != nil:
		rp.issues[number].Labels = slices.Clone(labels)
	case rp != nil && rp.pulls[number] != nil:
		rp.pulls[number].labels = slices.Clone(labels)
	default:
		s.t.Fatalf("githubfake: SetLabels on unknown issue %s/%s#%d", owner, name, number)
	}
}

// Issues returns the repository's issues, by number.
func (s *Server) Issues(owner, name string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	if rp := s.repo(owner, name, false); rp != nil {
		for _, i := range rp.issues {
			in := i.Issue
			in.Labels = slices.Clone(i.Labels)
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b Issue) int { return a.Number - b.Number })
	return out
}

// PullRequests returns the pull requests opened through the API, by number.
func (s *Server) PullRequests(owner, name string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullRequest
	if rp := s.repo(owner, name, false); rp != nil {
		for _, p := range rp.pulls {
			if p.head == "" {
				continue
			}
			out = append(out, PullRequest{Number: p.number, Title: p.title, Body: p.body, State: p.state,
				Head: p.head, Base: p.base, Login: p.login,
				HTMLURL: s.srv.URL + "/" + owner + "/" + name + "/pull/" + strconv.Itoa(p.number)})
		}
	}
	slices.SortFunc(out, func(a, b PullRequest) int { return a.Number - b.Number })
	return out
}

// nextNumber is the number of the next issue or pull request: they share
// one sequence. The caller holds mu.
func nextNumber(rp *repo) int {
	n := 0
	for k := range rp.pulls {
		n = max(n, k)
	}
	for k := range rp.issues {
		n = max(n, k)
	}
	return n + 1
}

// listIssues is GET /repos/o/r/issues: issues and pull requests, filtered
// by state (default open), labels (all of them) and creator, sorted by
// creation, newest first unless direction=asc.
func (s *Server) listIssues(c *call) {
	q := c.r.URL.Query()
	state := cmp.Or(q.Get("state"), "open")
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	creator := q.Get("creator")
	var out []issueJSON
	keep := func(st string, labels []string, login string) bool {
		if state != "all" && st != state {
			return false
		}
		if creator != "" && !strings.EqualFold(creator, login) {
			return false
		}
		for _, w := range want {
			if !slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, strings.TrimSpace(w)) }) {
				return false
			}
		}
		return true
	}
	for _, i := range c.rp.issues {
		if keep(i.State, i.Labels, i.Login) {
			out = append(out, s.issueJSON(c, i))
		}
	}
	for _, p := range c.rp.pulls {
		if keep(p.state, p.labels, p.login) {
			out = append(out, s.pullAsIssueJSON(c, p))
		}
	}
	slices.SortFunc(out, func(a, b issueJSON) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), a.Number-b.Number) })
	if q.Get("direction") != "asc" {
		slices.Reverse(out)
	}
	lo, hi := page(c.w, c.r, len(out))
	writeJSON(c.w, http.StatusOK, append([]issueJSON{}, out[lo:hi]...))
}

// issueIn is the body of POST and PATCH /repos/o/r/issues.
type issueIn struct {
	Title       *string  `json:"title"`
	Body        *string  `json:"body"`
	State       *string  `json:"state"`
	StateReason *string  `json:"state_reason"`
	Labels      []string `json:"labels"`
}

// checkIssue enforces GitHub's limits on what an issue or pull request
// says.
func checkIssue(c *call, resource string, in *issueIn) bool {
	switch {
	case in.Title != nil && strings.TrimSpace(*in.Title) == "":
		writeInvalid(c.w, resource, "title", "missing_field", "")
		return false
	case in.Body != nil && utf8.RuneCountInString(*in.Body) > MaxBody:
		writeInvalid(c.w, resource, "body", "custom", "body is too long (maximum is 65536 characters)")
		return false
	case in.State != nil && *in.State != "open" && *in.State != "closed":
		writeInvalid(c.w, resource, "state", "invalid", "state must be open or closed")
		return false
	}
	return true
}

func (s *Server) createIssue(c *call) {
	var in issueIn
	if !decode(c.w, c.r, &in) {
		return
	}
	if in.Title == nil {
		writeInvalid(c.w, "Issue", "title", "missing_field", "")
		return
	}
	if !checkIssue(c, "Issue", &in) {
		return
	}
	now := time.Now().UTC()
	n := nextNumber(c.rp)
	i := &issue{Issue: Issue{Number: n, Title: *in.Title, State: "open", Labels: slices.Clone(in.Labels), Login: c.tok.login,
		HTMLURL: s.srv.URL + "/" + c.owner + "/" + c.name + "/issues/" + strconv.Itoa(n), CreatedAt: now}, updated: now}
	if in.Body != nil {
		i.Body = *in.Body
	}
	c.rp.issues[n] = i
	writeJSON(c.w, http.StatusCreated, s.issueJSON(c, i))
}

func (s *Server) getIssue(c *call) {
	n, _ := strconv.Atoi(c.r.PathValue("number"))
	if p := c.rp.pulls[n]; p != nil {
		writeJSON(c.w, http.StatusOK, s.pullAsIssueJSON(c, p))
		return
	}
	i := c.rp.issues[n]
	if i == nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(c.w, http.StatusOK, s.issueJSON(c, i))
}

// editIssue is PATCH /repos/o/r/issues/{n}: title, body, state and its
// reason; labels given replace the old ones.
func (s *Server) editIssue(c *call) {
	n, _ := strconv.Atoi(c.r.PathValue("number"))
	i := c.rp.issues[n]
	if i == nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	var in issueIn
	if !decode(c.w, c.r, &in) || !checkIssue(c, "Issue", &in) {
		return
	}
	now := time.Now().UTC()
	if in.Title != nil {
		i.Title = *in.Title
	}
	if in.Body != nil {
		i.Body = *in.Body
	}
	if in.Labels != nil {
		i.Labels = slices.Clone(in.Labels)
	}
	if in.State != nil && *in.State != i.State {
		i.State = *in.State
		i.StateReason, i.closedAt = "reopened", nil
		if i.State == "closed" {
			i.StateReason, i.closedAt = "completed", &now
		}
	}
	if in.StateReason != nil && i.State == "closed" {
		i.StateReason = *in.StateReason
	}
	i.updated = now
	writeJSON(c.w, http.StatusOK, s.issueJSON(c, i))
}

func (s *Server) issueJSON(c *call, i *issue) issueJSON {
	out := issueJSON{ID: int64(i.Number), Number: i.Number, State: i.State, Title: i.Title,
		URL: s.apiURL(c, "issues/"+strconv.Itoa(i.Number)), HTMLURL: i.HTMLURL,
		User: s.user(i.Login), Labels: labels(i.Labels), Comments: len(c.rp.issueComments[i.Number]),
		CreatedAt: i.CreatedAt, UpdatedAt: i.updated, ClosedAt: i.closedAt}
	if i.Body != "" {
		out.Body = &i.Body
	}
	if i.StateReason != "" {
		out.StateReason = &i.StateReason
	}
	return out
}

func (s *Server) pullAsIssueJSON(c *call, p *pull) issueJSON {
	pj := s.pullJSON(c, p)
	out := issueJSON{ID: pj.ID, Number: pj.Number, State: pj.State, Title: pj.Title, Body: pj.Body,
		URL: s.apiURL(c, "issues/"+strconv.Itoa(p.number)), HTMLURL: pj.HTMLURL, User: pj.User, Labels: pj.Labels,
		CreatedAt: p.created, UpdatedAt: p.created}
	out.PullRequest = &struct {
		URL     string `json:"url"`
		HTMLURL string `json:"html_url"`
	}{URL: pj.URL, HTMLURL: pj.HTMLURL}
	return out
}

func labels(names []string) []label {
	out := []label{}
	for _, n := range names {
		out = append(out, label{Name: n})
	}
	return out
}

// listPulls is GET /repos/o/r/pulls: state (default open), head as
// "owner:branch", base; newest first unless direction=asc.
func (s *Server) listPulls(c *call) {
	q := c.r.URL.Query()
	state := cmp.Or(q.Get("state"), "open")
	var match []*pull
	for _, p := range c.rp.pulls {
		switch {
		case state != "all" && p.state != state:
		case q.Get("head") != "" && !strings.EqualFold(q.Get("head"), c.owner+":"+p.head):
		case q.Get("base") != "" && q.Get("base") != p.base:
		default:
			match = append(match, p)
		}
	}
	slices.SortFunc(match, func(a, b *pull) int { return b.number - a.number })
	if q.Get("direction") == "asc" {
		slices.Reverse(match)
	}
	lo, hi := page(c.w, c.r, len(match))
	out := []pullJSON{}
	for _, p := range match[lo:hi] {
		out = append(out, s.pullJSON(c, p))
	}
	writeJSON(c.w, http.StatusOK, out)
}

// createPull is POST /repos/o/r/pulls; GitHub refuses a second open pull
// request from the same head to the same base with a 422.
func (s *Server) createPull(c *call) {
	var in struct {
		issueIn
		Head string `json:"head"`
		Base string `json:"base"`
	}
	if !decode(c.w, c.r, &in) {
		return
	}
	switch {
	case in.Title == nil:
		writeInvalid(c.w, "PullRequest", "title", "missing_field", "")
		return
	case in.Head == "":
		writeInvalid(c.w, "PullRequest", "head", "missing_field", "")
		return
	case in.Base == "":
		writeInvalid(c.w, "PullRequest", "base", "missing_field", "")
		return
	}
	if !checkIssue(c, "PullRequest", &in.issueIn) {
		return
	}
	head := in.Head
	if owner, branch, ok := strings.Cut(in.Head, ":"); ok {
		if !strings.EqualFold(owner, c.owner) {
			writeInvalid(c.w, "PullRequest", "head", "invalid", "")
			return
		}
		head = branch
	}
	for _, p := range c.rp.pulls {
		if p.state == "open" && p.head == head && p.base == in.Base {
			writeInvalid(c.w, "PullRequest", "", "custom", "A pull request already exists for "+c.owner+":"+head+".")
			return
		}
	}
	n := nextNumber(c.rp)
	p := &pull{number: n, state: "open", head: head, base: in.Base, title: *in.Title, login: c.tok.login,
		headSHA: strings.Repeat(strconv.Itoa(n%10), 40), created: time.Now().UTC()}
	if in.Body != nil {
		p.body = *in.Body
	}
	c.rp.pulls[n] = p
	writeJSON(c.w, http.StatusCreated, s.pullJSON(c, p))
}

// editPull is PATCH /repos/o/r/pulls/{n}: title, body and state.
func (s *Server) editPull(c *call) {
	n, _ := strconv.Atoi(c.r.PathValue("number"))
	p := c.rp.pulls[n]
	if p == nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	var in issueIn
	if !decode(c.w, c.r, &in) || !checkIssue(c, "PullRequest", &in) {
		return
	}
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	if in.State != nil {
		p.state = *in.State
	}
	writeJSON(c.w, http.StatusOK, s.pullJSON(c, p))
}
