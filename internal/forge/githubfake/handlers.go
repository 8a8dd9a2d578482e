package githubfake

import (
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

const notAccessible = "Resource not accessible by integration"

// call is what a repository handler gets: the locked state and the caller.
type call struct {
	w           http.ResponseWriter
	r           *http.Request
	owner, name string
	rp          *repo
	tok         token
}

func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /user", s.getUser)
	// One pattern for both issue paths: ServeMux cannot tell
	// issues/{number}/comments from issues/comments/{id} apart.
	mux.HandleFunc("/repos/{owner}/{repo}/issues/{a}/{b}", s.repoHandler(s.issues))
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues", s.repoHandler(s.listIssues))
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues", s.repoHandler(s.createIssue))
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}", s.repoHandler(s.getIssue))
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/{number}", s.repoHandler(s.editIssue))
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.repoHandler(s.listPulls))
	mux.HandleFunc("POST /repos/{owner}/{repo}/pulls", s.repoHandler(s.createPull))
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.repoHandler(s.getPull))
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/pulls/{number}", s.repoHandler(s.editPull))
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/pulls", s.repoHandler(s.pullsForCommit))
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/comments", s.repoHandler(s.listCommitComments))
	mux.HandleFunc("POST /repos/{owner}/{repo}/commits/{sha}/comments", s.repoHandler(s.createCommitComment))
	mux.HandleFunc("/repos/{owner}/{repo}/comments/{id}", s.repoHandler(s.commitComment))
	mux.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", s.repoHandler(s.createStatus))
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/statuses", s.repoHandler(s.listStatuses))
	mux.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.repoHandler(s.createCheckRun))
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.repoHandler(s.updateCheckRun))
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/check-runs", s.repoHandler(s.listCheckRuns))
	mux.HandleFunc("POST /repos/{owner}/{repo}/deployments", s.repoHandler(s.createDeployment))
	mux.HandleFunc("GET /repos/{owner}/{repo}/deployments", s.repoHandler(s.listDeployments))
	mux.HandleFunc("GET /repos/{owner}/{repo}/deployments/{id}", s.repoHandler(s.getDeployment))
	mux.HandleFunc("POST /repos/{owner}/{repo}/deployments/{id}/statuses", s.repoHandler(s.createDeploymentStatus))
	mux.HandleFunc("GET /repos/{owner}/{repo}/deployments/{id}/statuses", s.repoHandler(s.listDeploymentStatuses))
	s.runnerRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, http.StatusNotFound, "Not Found") })
}

// getUser is GET /user; an App installation token has no user, so GitHub
// answers 403.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r)
	if tok.isApp {
		writeError(w, http.StatusForbidden, notAccessible)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.user(tok.login))
}

// repoHandler locks the state, finds the repository (404) and refuses writes
// from a read-only token (403), as GitHub does for a fork's GITHUB_TOKEN.
func (s *Server) repoHandler(h func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c := &call{w: w, r: r, owner: r.PathValue("owner"), name: r.PathValue("repo"), tok: tokenOf(r)}
		if c.rp = s.repo(c.owner, c.name, false); c.rp == nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !c.tok.canWrite {
			writeError(w, http.StatusForbidden, notAccessible)
			return
		}
		h(c)
	}
}

func (s *Server) issues(c *call) {
	a, b := c.r.PathValue("a"), c.r.PathValue("b")
	if a == "comments" {
		s.issueComment(c, b)
		return
	}
	n, err := strconv.Atoi(a)
	if b != "comments" || err != nil || (c.rp.pulls[n] == nil && c.rp.issues[n] == nil) {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	kind := "pull"
	if c.rp.issues[n] != nil {
		kind = "issues"
	}
	switch c.r.Method {
	case http.MethodGet:
		list := c.rp.issueComments[n]
		lo, hi := page(c.w, c.r, len(list))
		out := []commentJSON{}
		for _, cm := range list[lo:hi] {
			out = append(out, s.issueCommentJSON(c, n, cm))
		}
		writeJSON(c.w, http.StatusOK, out)
	case http.MethodPost:
		body, ok := s.commentBody(c, "IssueComment")
		if !ok {
			return
		}
		cm := s.newComment("issue-comment", c.tok.login, body, s.htmlURL(c.owner, c.name, kind, n, "issuecomment"))
		c.rp.issueComments[n] = append(c.rp.issueComments[n], cm)
		writeJSON(c.w, http.StatusCreated, s.issueCommentJSON(c, n, cm))
	default:
		writeError(c.w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

// issueComment is GET, PATCH and DELETE /repos/o/r/issues/comments/{id}.
func (s *Server) issueComment(c *call, idText string) {
	id, _ := strconv.ParseInt(idText, 10, 64)
	oneComment(s, c, c.rp.issueComments, id, "IssueComment", s.issueCommentJSON)
}

// oneComment serves GET, PATCH and DELETE of the comment id kept in lists
// (issue or commit comments, keyed by thread), rendered by render.
func oneComment[K comparable](s *Server, c *call, lists map[K][]*Comment, id int64, resource string, render func(*call, K, *Comment) commentJSON) {
	for k, list := range lists {
		i := slices.IndexFunc(list, func(cm *Comment) bool { return cm.ID == id })
		if i < 0 {
			continue
		}
		switch c.r.Method {
		case http.MethodGet:
			writeJSON(c.w, http.StatusOK, render(c, k, list[i]))
		case http.MethodPatch:
			body, ok := s.commentBody(c, resource)
			if !ok {
				return
			}
			list[i].Body, list[i].UpdatedAt = body, time.Now().UTC().Truncate(time.Second)
			writeJSON(c.w, http.StatusOK, render(c, k, list[i]))
		case http.MethodDelete:
			lists[k] = slices.Delete(list, i, i+1)
			c.w.WriteHeader(http.StatusNoContent)
		default:
			writeError(c.w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
		return
	}
	writeError(c.w, http.StatusNotFound, "Not Found")
}

// commentBody reads {"body": ...} and enforces GitHub's length limit.
func (s *Server) commentBody(c *call, resource string) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if !decode(c.w, c.r, &in) {
		return "", false
	}
	switch {
	case in.Body == nil:
		writeInvalid(c.w, resource, "body", "missing_field", "")
		return "", false
	case utf8.RuneCountInString(*in.Body) > MaxBody:
		writeInvalid(c.w, resource, "body", "custom", "body is too long (maximum is 65536 characters)")
		return "", false
	}
	return *in.Body, true
}

func (s *Server) getPull(c *call) {
	n, _ := strconv.Atoi(c.r.PathValue("number"))
	p := c.rp.pulls[n]
	if p == nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(c.w, http.StatusOK, s.pullJSON(c, p))
}

// pullsForCommit lists pull requests whose head is sha, in any state, as
// GitHub does; callers filter on state.
func (s *Server) pullsForCommit(c *call) {
	sha := c.r.PathValue("sha")
	var match []*pull
	for _, p := range c.rp.pulls {
		if p.headSHA == sha {
			match = append(match, p)
		}
	}
	slices.SortFunc(match, func(a, b *pull) int { return a.number - b.number })
	lo, hi := page(c.w, c.r, len(match))
	out := []pullJSON{}
	for _, p := range match[lo:hi] {
		out = append(out, s.pullJSON(c, p))
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (s *Server) listCommitComments(c *call) {
	sha := c.r.PathValue("sha")
	list := c.rp.commitComments[sha]
	lo, hi := page(c.w, c.r, len(list))
	out := []commentJSON{}
	for _, cm := range list[lo:hi] {
		out = append(out, s.commitCommentJSON(c, sha, cm))
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (s *Server) createCommitComment(c *call) {
	sha := c.r.PathValue("sha")
	body, ok := s.commentBody(c, "CommitComment")
	if !ok {
		return
	}
	cm := s.newComment("commit-comment", c.tok.login, body, s.htmlURL(c.owner, c.name, "commit", sha, "commitcomment"))
	c.rp.commitComments[sha] = append(c.rp.commitComments[sha], cm)
	writeJSON(c.w, http.StatusCreated, s.commitCommentJSON(c, sha, cm))
}

// commitComment is GET, PATCH and DELETE /repos/o/r/comments/{id}.
func (s *Server) commitComment(c *call) {
	id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	oneComment(s, c, c.rp.commitComments, id, "CommitComment", s.commitCommentJSON)
}

func (s *Server) createStatus(c *call) {
	sha := c.r.PathValue("sha")
	var in struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if !decode(c.w, c.r, &in) {
		return
	}
	switch in.State {
	case "error", "failure", "pending", "success":
	default:
		writeInvalid(c.w, "Status", "state", "invalid", "state must be error, failure, pending or success")
		return
	}
	if utf8.RuneCountInString(in.Description) > 140 {
		writeInvalid(c.w, "Status", "description", "custom", "description is too long (maximum is 140 characters)")
		return
	}
	if in.Context == "" {
		in.Context = "default"
	}
	st := &Status{ID: s.id("status"), State: in.State, Context: in.Context, Description: in.Description, TargetURL: in.TargetURL, Creator: c.tok.login,
		CreatedAt: time.Now().UTC().Truncate(time.Second)}
	c.rp.statuses[sha] = append(c.rp.statuses[sha], st)
	writeJSON(c.w, http.StatusCreated, s.statusJSON(c, st))
}

// listStatuses answers newest first, as GitHub does.
func (s *Server) listStatuses(c *call) {
	list := slices.Clone(c.rp.statuses[c.r.PathValue("sha")])
	slices.Reverse(list)
	lo, hi := page(c.w, c.r, len(list))
	out := []statusJSON{}
	for _, st := range list[lo:hi] {
		out = append(out, s.statusJSON(c, st))
	}
	writeJSON(c.w, http.StatusOK, out)
}
