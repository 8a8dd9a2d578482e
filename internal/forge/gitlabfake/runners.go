package gitlabfake

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// The runner endpoints, for runner registration:
// https://docs.gitlab.com/api/users/#create-a-runner-linked-to-a-user and
// https://docs.gitlab.com/api/runners/#delete-a-runner-by-id

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

// RunnerToken is the token the fake hands out for runner id.
func RunnerToken(id int) string { return fmt.Sprintf("glrt-fakeRunnerToken%08d", id) }

// RunnerTokenExpiry is the expiry the fake gives every runner token.
func RunnerTokenExpiry() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

// AddRunnerCreator lets tok act as username with write access and the
// create_runner scope. Tokens added by AddToken get 403 on the runner
// endpoints.
func (s *Server) AddRunnerCreator(tok, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = token{user: s.user(username), canWrite: true, createRunner: true}
}

// AddProjectID adds the project at path with numeric id, as runner
// registration names projects by id (a no-op when the id exists).
func (s *Server) AddProjectID(id int, projectPath string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.project(strconv.Itoa(id)) != nil {
		return
	}
	p := s.addProject(projectPath)
	p.id = id
}

// AddGroup makes group id known; runners for others answer 404.
func (s *Server) AddGroup(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = true
}

// Runners returns the ids of the runners that exist, sorted.
func (s *Server) Runners() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	for id := range s.runners {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// CreateRequests returns every create-runner body received, oldest first.
func (s *Server) CreateRequests() []CreateRunnerRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.creates)
}

// WithholdSecret makes the next registration create its runner but answer
// without the runner token, as a proxy that strips fields or a broken
// server might: the client is left holding a runner it cannot start.
func (s *Server) WithholdSecret() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.withhold++
}

// runnerRoute serves POST /user/runners and DELETE /runners/:id; ok is
// false for other paths. The caller holds mu.
func (s *Server) runnerRoute(r *http.Request, tok token, seg []string, form url.Values) (reply, bool) {
	switch {
	case len(seg) == 2 && seg[0] == "user" && seg[1] == "runners":
		if r.Method != http.MethodPost {
			return badMethod, true
		}
		if !tok.createRunner {
			return forbidden, true
		}
		return s.createRunner(form), true
	case len(seg) == 2 && seg[0] == "runners":
		if r.Method != http.MethodDelete {
			return badMethod, true
		}
		if !tok.createRunner {
			return forbidden, true
		}
		id, _ := strconv.Atoi(seg[1])
		if _, ok := s.runners[id]; !ok {
			return notFound, true
		}
		delete(s.runners, id)
		return reply{status: http.StatusNoContent}, true
	}
	return reply{}, false
}

func (s *Server) createRunner(form url.Values) reply {
	req := CreateRunnerRequest{RunnerType: form.Get("runner_type"), Description: form.Get("description")}
	req.GroupID, _ = strconv.Atoi(form.Get("group_id"))
	req.ProjectID, _ = strconv.Atoi(form.Get("project_id"))
	req.MaximumTimeout, _ = strconv.Atoi(form.Get("maximum_timeout"))
	req.TagList = append(slices.Clone(form["tag_list[]"]), form["tag_list"]...)
	for k, dst := range map[string]**bool{"run_untagged": &req.RunUntagged, "locked": &req.Locked} {
		if v := form.Get(k); v != "" {
			b, _ := strconv.ParseBool(v)
			*dst = &b
		}
	}
	s.creates = append(s.creates, req)
	switch {
	case req.RunnerType == "project_type" && s.project(strconv.Itoa(req.ProjectID)) == nil,
		req.RunnerType == "group_type" && !s.groups[req.GroupID]:
		return notFound
	case req.RunnerType != "instance_type" && req.RunnerType != "project_type" && req.RunnerType != "group_type":
		return reply{status: http.StatusBadRequest, body: map[string]string{"error": "runner_type does not have a valid value"}}
	}
	s.runnerID++
	s.runners[s.runnerID] = req
	tok := RunnerToken(s.runnerID)
	if s.withhold > 0 {
		s.withhold--
		tok = ""
	}
	return reply{status: http.StatusCreated, body: map[string]any{"id": s.runnerID, "token": tok, "token_expires_at": RunnerTokenExpiry()}}
}
