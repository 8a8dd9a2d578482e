package githubfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The self-hosted runner endpoints, for runner registration:
// https://docs.github.com/rest/actions/self-hosted-runners

// notRunnerAdmin is GitHub's 403 for a token that may not administer runners.
const notRunnerAdmin = "Resource not accessible by personal access token"

// JITRequest is a generate-jitconfig body as the fake received it.
type JITRequest struct {
	Scope         string   `json:"-"` // "repos/o/r" or "orgs/o"
	Name          string   `json:"name"`
	RunnerGroupID int64    `json:"runner_group_id"`
	Labels        []string `json:"labels"`
	WorkFolder    string   `json:"work_folder"`
}

// Runner is a self-hosted runner the fake holds.
type Runner struct {
	ID     int64
	Name   string
	Labels []string
}

// JITConfig is the encoded config the fake hands out for runner id.
func JITConfig(id int64) string { return fmt.Sprintf("ZmFrZS1qaXQtY29uZmlnLWZvci1ydW5uZXI=%d", id) }

// AddRunnerAdmin lets tok in as login with write access and the right to
// administer self-hosted runners (a classic token with repo and admin:org,
// or a fine-grained one with Administration and Self-hosted runners:
// write). Tokens added by AddToken get 403 on the runner endpoints.
func (s *Server) AddRunnerAdmin(tok, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = token{login: login, canWrite: true, admin: true}
	s.userID(login)
}

// AddOrg creates an organization with no runners; others answer 404.
func (s *Server) AddOrg(org string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := strings.ToLower(org); s.orgs[k] == nil {
		s.orgs[k] = &orgState{}
	}
}

// AddRunner seeds a runner in scope ("repos/o/r" or "orgs/o"), which is
// created if new, and returns its id.
func (s *Server) AddRunner(scope, name string, labels ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.runnerList(scope, true)
	if list == nil {
		s.t.Fatalf("githubfake: AddRunner: scope %q is neither repos/OWNER/NAME nor orgs/ORG", scope)
	}
	r := &Runner{ID: s.id("runner"), Name: name, Labels: labels}
	*list = append(*list, r)
	return r.ID
}

// Runners lists the runners in scope ("repos/o/r" or "orgs/o").
func (s *Server) Runners(scope string) []Runner {
	s.mu.Lock()
	defer s.mu.Unlock()
	if list := s.runnerList(scope, false); list != nil {
		return copies(*list)
	}
	return nil
}

// JITRequests returns every generate-jitconfig body received, oldest first.
func (s *Server) JITRequests() []JITRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.jits)
}

// WithholdSecret makes the next registration create its runner but answer
// without the JIT config, as a proxy that strips fields or a broken server
// might: the client is left holding a runner it cannot start.
func (s *Server) WithholdSecret() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.withhold++
}

// runnerList finds the runners of "repos/o/r" or "orgs/o", creating the
// scope when create is set; nil when there is no such scope. The caller
// holds mu.
func (s *Server) runnerList(scope string, create bool) *[]*Runner {
	parts := strings.Split(scope, "/")
	switch {
	case len(parts) == 3 && parts[0] == "repos":
		if rp := s.repo(parts[1], parts[2], create); rp != nil {
			return &rp.runners
		}
	case len(parts) == 2 && parts[0] == "orgs":
		k := strings.ToLower(parts[1])
		if s.orgs[k] == nil && create {
			s.orgs[k] = &orgState{}
		}
		if o := s.orgs[k]; o != nil {
			return &o.runners
		}
	}
	return nil
}

// orgState is an organization: only its runners.
type orgState struct{ runners []*Runner }

// runnerRoutes serves the runner endpoints of a repository and of an
// organization alike.
func (s *Server) runnerRoutes(mux *http.ServeMux) {
	for _, scope := range []string{"/repos/{owner}/{repo}", "/orgs/{org}"} {
		mux.HandleFunc("POST "+scope+"/actions/runners/generate-jitconfig", s.runnerHandler(s.generateJIT))
		mux.HandleFunc("GET "+scope+"/actions/runners", s.runnerHandler(s.listRunners))
		mux.HandleFunc("DELETE "+scope+"/actions/runners/{id}", s.runnerHandler(s.removeRunner))
	}
}

// runnerCall is what a runner handler gets: the locked scope and request.
type runnerCall struct {
	w     http.ResponseWriter
	r     *http.Request
	scope string // "repos/o/r" or "orgs/o", lower case
	list  *[]*Runner
}

// runnerHandler refuses tokens that may not administer runners (403, before
// looking at the scope, as GitHub does), locks the state and finds the
// scope (404).
func (s *Server) runnerHandler(h func(c *runnerCall)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !tokenOf(r).admin {
			writeError(w, http.StatusForbidden, notRunnerAdmin)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		scope := "orgs/" + r.PathValue("org")
		if r.PathValue("org") == "" {
			scope = "repos/" + r.PathValue("owner") + "/" + r.PathValue("repo")
		}
		c := &runnerCall{w: w, r: r, scope: strings.ToLower(scope), list: s.runnerList(scope, false)}
		if c.list == nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		h(c)
	}
}

// generateJIT creates a runner and its just-in-time config.
//
// API: https://docs.github.com/rest/actions/self-hosted-runners#create-configuration-for-a-just-in-time-runner-for-a-repository
func (s *Server) generateJIT(c *runnerCall) {
	var req JITRequest
	if !decode(c.w, c.r, &req) {
		return
	}
	req.Scope = c.scope
	s.jits = append(s.jits, req)
	if req.Name == "" || len(req.Labels) == 0 || req.RunnerGroupID == 0 {
		writeError(c.w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	for _, rn := range *c.list {
		if strings.EqualFold(rn.Name, req.Name) {
			writeError(c.w, http.StatusConflict, "Already exists - A runner with the name "+req.Name+" already exists.")
			return
		}
	}
	rn := &Runner{ID: s.id("runner"), Name: req.Name, Labels: req.Labels}
	*c.list = append(*c.list, rn)
	jit := JITConfig(rn.ID)
	if s.withhold > 0 {
		s.withhold--
		jit = ""
	}
	writeJSON(c.w, http.StatusCreated, map[string]any{"runner": runnerJSON(rn), "encoded_jit_config": jit})
}

func runnerJSON(rn *Runner) map[string]any {
	var labels []map[string]any
	for i, l := range rn.Labels {
		labels = append(labels, map[string]any{"id": i + 1, "name": l, "type": "custom"})
	}
	return map[string]any{"id": rn.ID, "name": rn.Name, "os": "linux", "status": "offline", "busy": false, "labels": labels}
}

// listRunners pages like GitHub and filters by name when asked.
//
// API: https://docs.github.com/rest/actions/self-hosted-runners#list-self-hosted-runners-for-a-repository
func (s *Server) listRunners(c *runnerCall) {
	var all []*Runner
	name := c.r.URL.Query().Get("name")
	for _, rn := range *c.list {
		if name == "" || strings.EqualFold(name, rn.Name) {
			all = append(all, rn)
		}
	}
	lo, hi := page(c.w, c.r, len(all))
	out := []map[string]any{}
	for _, rn := range all[lo:hi] {
		out = append(out, runnerJSON(rn))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"total_count": len(all), "runners": out})
}

// removeRunner deletes a runner.
//
// API: https://docs.github.com/rest/actions/self-hosted-runners#delete-a-self-hosted-runner-from-a-repository
func (s *Server) removeRunner(c *runnerCall) {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	i := slices.IndexFunc(*c.list, func(rn *Runner) bool { return rn.ID == id })
	if err != nil || i < 0 {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	*c.list = slices.Delete(*c.list, i, i+1)
	c.w.WriteHeader(http.StatusNoContent)
}
