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
)

// GitHubBasePath is where the fake GitHub API is mounted, as on GHES.
const GitHubBasePath = "/api/v3/"

// JITRequest is a generate-jitconfig body as the fake received it.
type JITRequest struct {
	Scope         string   `json:"-"` // "repos/o/r" or "orgs/o"
	Name          string   `json:"name"`
	RunnerGroupID int64    `json:"runner_group_id"`
	Labels        []string `json:"labels"`
	WorkFolder    string   `json:"work_folder"`
}

// GitHubRunner is a runner the fake holds.
type GitHubRunner struct {
	ID     int64
	Name   string
	Labels []string
}

// GitHub is a fake of the self-hosted runner endpoints. Its methods are
// safe for concurrent use.
type GitHub struct {
	srv *httptest.Server
	common

	mu     sync.Mutex
	tokens map[string]bool            // token -> may administer runners
	scopes map[string][]*GitHubRunner // "repos/o/r" or "orgs/o" -> runners
	jits   []JITRequest               // every generate-jitconfig body
	nextID int64
}

// NewGitHub starts a fake that t closes when it ends.
func NewGitHub(t testing.TB) *GitHub {
	t.Helper()
	g := &GitHub{common: common{t: t}, tokens: map[string]bool{}, scopes: map[string][]*GitHubRunner{}}
	api := http.NewServeMux()
	for _, scope := range []string{"/repos/{owner}/{repo}", "/orgs/{org}"} {
		api.HandleFunc("POST "+scope+"/actions/runners/generate-jitconfig", g.generate)
		api.HandleFunc("GET "+scope+"/actions/runners", g.list)
		api.HandleFunc("DELETE "+scope+"/actions/runners/{id}", g.remove)
	}
	g.srv = httptest.NewServer(g.middleware(mount(t, GitHubBasePath, api)))
	t.Cleanup(g.srv.Close)
	return g
}

// URL is the API base URL, ending in /api/v3/.
func (g *GitHub) URL() string { return g.srv.URL + GitHubBasePath }

// AddToken lets tok in; admin false gets 403 on every runner endpoint.
func (g *GitHub) AddToken(tok string, admin bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokens[tok] = admin
}

// AddRepo and AddOrg create a scope with no runners; others answer 404.
func (g *GitHub) AddRepo(owner, repo string) { g.addScope("repos/" + owner + "/" + repo) }

// AddOrg creates an organization.
func (g *GitHub) AddOrg(org string) { g.addScope("orgs/" + org) }

func (g *GitHub) addScope(k string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.scopes[strings.ToLower(k)]; !ok {
		g.scopes[strings.ToLower(k)] = nil
	}
}

// AddRunner seeds a runner in scope ("repos/o/r" or "orgs/o").
func (g *GitHub) AddRunner(scope, name string, labels ...string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	k := strings.ToLower(scope)
	g.scopes[k] = append(g.scopes[k], &GitHubRunner{ID: g.nextID, Name: name, Labels: labels})
	return g.nextID
}

// Runners lists the runners in scope.
func (g *GitHub) Runners(scope string) []GitHubRunner {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []GitHubRunner
	for _, r := range g.scopes[strings.ToLower(scope)] {
		out = append(out, *r)
	}
	return out
}

// JITRequests returns every generate-jitconfig body received, oldest first.
func (g *GitHub) JITRequests() []JITRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.jits)
}

// JITConfig is the encoded config the fake hands out for runner id.
func JITConfig(id int64) string { return fmt.Sprintf("ZmFrZS1qaXQtY29uZmlnLWZvci1ydW5uZXI=%d", id) }

func (g *GitHub) middleware(next http.Handler) http.Handler {
	return guard{
		base:    GitHubBasePath,
		faults:  &g.faults,
		token:   func(r *http.Request) string { _, tok, _ := strings.Cut(r.Header.Get("Authorization"), " "); return tok },
		allowed: g.allowed,
		unknown: "Bad credentials",
		denied:  "Resource not accessible by personal access token",
	}.wrap(next)
}

func (g *GitHub) allowed(tok string) (known, admin bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	admin, known = g.tokens[tok]
	return known, admin
}

// scope finds the scope of r; the caller holds mu.
func (g *GitHub) scope(r *http.Request) (string, bool) {
	k := "orgs/" + r.PathValue("org")
	if r.PathValue("org") == "" {
		k = "repos/" + r.PathValue("owner") + "/" + r.PathValue("repo")
	}
	k = strings.ToLower(k)
	_, ok := g.scopes[k]
	return k, ok
}

func (g *GitHub) generate(w http.ResponseWriter, r *http.Request) {
	var req JITRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	k, ok := g.scope(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	req.Scope = k
	g.jits = append(g.jits, req)
	if req.Name == "" || len(req.Labels) == 0 || req.RunnerGroupID == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
		return
	}
	for _, rn := range g.scopes[k] {
		if strings.EqualFold(rn.Name, req.Name) {
			writeJSON(w, http.StatusConflict, map[string]string{"message": "Already exists - A runner with the name " + req.Name + " already exists."})
			return
		}
	}
	g.nextID++
	rn := &GitHubRunner{ID: g.nextID, Name: req.Name, Labels: req.Labels}
	g.scopes[k] = append(g.scopes[k], rn)
	jit := JITConfig(rn.ID)
	if g.withhold() {
		jit = ""
	}
	writeJSON(w, http.StatusCreated, map[string]any{"runner": runnerJSON(rn), "encoded_jit_config": jit})
}

func runnerJSON(rn *GitHubRunner) map[string]any {
	var labels []map[string]any
	for i, l := range rn.Labels {
		labels = append(labels, map[string]any{"id": i + 1, "name": l, "type": "custom"})
	}
	return map[string]any{"id": rn.ID, "name": rn.Name, "os": "linux", "status": "offline", "busy": false, "labels": labels}
}

// list pages like GitHub: per_page (default 30, max 100), page from 1, a
// Link header with rel="next" and rel="last", and an optional name filter.
func (g *GitHub) list(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k, ok := g.scope(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	q := r.URL.Query()
	var all []*GitHubRunner
	for _, rn := range g.scopes[k] {
		if n := q.Get("name"); n == "" || strings.EqualFold(n, rn.Name) {
			all = append(all, rn)
		}
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((len(all)+per-1)/per, 1)
	lo, hi := min((page-1)*per, len(all)), min(page*per, len(all))
	out := []map[string]any{}
	for _, rn := range all[lo:hi] {
		out = append(out, runnerJSON(rn))
	}
	if page < last {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		u.Path = GitHubBasePath + strings.TrimPrefix(r.URL.Path, "/")
		link := func(n int, rel string) string {
			qq := u.Query()
			qq.Set("page", strconv.Itoa(n))
			u.RawQuery = qq.Encode()
			return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
		}
		w.Header().Set("Link", link(page+1, "next")+", "+link(last, "last"))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "runners": out})
}

func (g *GitHub) remove(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k, ok := g.scope(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if !ok || err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	i := slices.IndexFunc(g.scopes[k], func(rn *GitHubRunner) bool { return rn.ID == id })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	g.scopes[k] = slices.Delete(g.scopes[k], i, i+1)
	w.WriteHeader(http.StatusNoContent)
}
