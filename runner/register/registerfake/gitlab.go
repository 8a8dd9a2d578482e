package registerfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitLabBasePath is where the fake GitLab API is mounted.
const GitLabBasePath = "/api/v4/"

// TokenExpiresAt is the expiry the fake gives every runner token.
var TokenExpiresAt = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// CreateRunnerRequest is a POST user/runners body as the fake received it,
// whether sent as JSON or as a form.
type CreateRunnerRequest struct {
	RunnerType     string   `json:"runner_type"`
	GroupID        int      `json:"group_id"`
	ProjectID      int      `json:"project_id"`
	Description    string   `json:"description"`
	TagList        []string `json:"tag_list"`
	RunUntagged    *bool    `json:"run_untagged"`
	Locked         *bool    `json:"locked"`
	MaximumTimeout int      `json:"maximum_timeout"`
}

// GitLab is a fake of the runner endpoints. Its methods are safe for
// concurrent use.
type GitLab struct {
	srv *httptest.Server
	common

	mu       sync.Mutex
	tokens   map[string]bool // token -> may create runners (create_runner scope)
	projects map[int]bool
	groups   map[int]bool
	runners  map[int]CreateRunnerRequest
	creates  []CreateRunnerRequest
	nextID   int
}

// NewGitLab starts a fake that t closes when it ends.
func NewGitLab(t testing.TB) *GitLab {
	t.Helper()
	g := &GitLab{common: common{t: t}, tokens: map[string]bool{}, projects: map[int]bool{}, groups: map[int]bool{}, runners: map[int]CreateRunnerRequest{}}
	api := http.NewServeMux()
	api.HandleFunc("POST /user/runners", g.create)
	api.HandleFunc("DELETE /runners/{id}", g.remove)
	g.srv = httptest.NewServer(g.middleware(mount(t, GitLabBasePath, api)))
	t.Cleanup(g.srv.Close)
	return g
}

// URL is the instance URL; client-go adds /api/v4/.
func (g *GitLab) URL() string { return g.srv.URL }

// AddToken lets tok in; canCreate false (no create_runner scope) gets 403.
func (g *GitLab) AddToken(tok string, canCreate bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokens[tok] = canCreate
}

// AddProject makes project id known; others answer 404.
func (g *GitLab) AddProject(id int) { g.mu.Lock(); g.projects[id] = true; g.mu.Unlock() }

// AddGroup makes group id known.
func (g *GitLab) AddGroup(id int) { g.mu.Lock(); g.groups[id] = true; g.mu.Unlock() }

// Runners returns the ids of the runners that exist, sorted.
func (g *GitLab) Runners() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ids []int
	for id := range g.runners {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// CreateRequests returns every create body received, oldest first.
func (g *GitLab) CreateRequests() []CreateRunnerRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.creates)
}

// RunnerToken is the token the fake hands out for runner id.
func RunnerToken(id int) string { return fmt.Sprintf("glrt-fakeRunnerToken%08d", id) }

func (g *GitLab) middleware(next http.Handler) http.Handler {
	return guard{
		base:    GitLabBasePath,
		faults:  &g.faults,
		token:   func(r *http.Request) string { return r.Header.Get("PRIVATE-TOKEN") },
		allowed: g.allowed,
		unknown: "401 Unauthorized",
		denied:  "403 Forbidden",
	}.wrap(next)
}

func (g *GitLab) allowed(tok string) (known, canCreate bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	canCreate, known = g.tokens[tok]
	return known, canCreate
}

func (g *GitLab) create(w http.ResponseWriter, r *http.Request) {
	req, err := parseCreate(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.creates = append(g.creates, req)
	switch {
	case req.RunnerType == "project_type" && !g.projects[req.ProjectID],
		req.RunnerType == "group_type" && !g.groups[req.GroupID]:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
		return
	case req.RunnerType != "instance_type" && req.RunnerType != "project_type" && req.RunnerType != "group_type":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "runner_type does not have a valid value"})
		return
	}
	g.nextID++
	g.runners[g.nextID] = req
	tok := RunnerToken(g.nextID)
	if g.withhold() {
		tok = ""
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": g.nextID, "token": tok, "token_expires_at": TokenExpiresAt})
}

// parseCreate reads a JSON or form body, as GitLab accepts both.
func parseCreate(r *http.Request) (CreateRunnerRequest, error) {
	var req CreateRunnerRequest
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return req, json.NewDecoder(r.Body).Decode(&req)
	}
	if err := r.ParseForm(); err != nil {
		return req, err
	}
	f := r.PostForm
	req.RunnerType, req.Description = f.Get("runner_type"), f.Get("description")
	req.GroupID, _ = strconv.Atoi(f.Get("group_id"))
	req.ProjectID, _ = strconv.Atoi(f.Get("project_id"))
	req.MaximumTimeout, _ = strconv.Atoi(f.Get("maximum_timeout"))
	req.TagList = append(f["tag_list[]"], f["tag_list"]...)
	for k, dst := range map[string]**bool{"run_untagged": &req.RunUntagged, "locked": &req.Locked} {
		if v := f.Get(k); v != "" {
			b, _ := strconv.ParseBool(v)
			*dst = &b
		}
	}
	return req, nil
}

func (g *GitLab) remove(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id, _ := strconv.Atoi(r.PathValue("id"))
	if _, ok := g.runners[id]; !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
		return
	}
	delete(g.runners, id)
	w.WriteHeader(http.StatusNoContent)
}
