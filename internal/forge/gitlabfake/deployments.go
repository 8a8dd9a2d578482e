package gitlabfake

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Deployment is a deployment as the fake holds it.
type Deployment struct {
	ID          int
	IID         int
	Environment string
	Ref         string
	SHA         string
	Tag         bool
	Status      string
	User        Author
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

type environment struct {
	ID               int
	Name             string
	requiresApproval bool
}

var deploymentStatuses = []string{"created", "running", "success", "failed", "canceled"}

// ProtectEnvironment makes name a protected environment that needs
// approval: deployments to it are created "blocked", as GitLab holds them.
func (s *Server) ProtectEnvironment(project, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(project)
	if p == nil {
		s.t.Fatalf("gitlabfake: no project %q", project)
	}
	s.environment(p, name).requiresApproval = true
}

// Deployments returns the project's deployments, oldest first.
func (s *Server) Deployments(project string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(project)
	if p == nil {
		s.t.Fatalf("gitlabfake: no project %q", project)
	}
	var out []Deployment
	for _, d := range p.deployments {
		out = append(out, *d)
	}
	return out
}

// environment finds or creates name; the caller holds mu.
func (s *Server) environment(p *project, name string) *environment {
	i := slices.IndexFunc(p.environments, func(e *environment) bool { return e.Name == name })
	if i >= 0 {
		return p.environments[i]
	}
	e := &environment{ID: s.nextID(), Name: name}
	p.environments = append(p.environments, e)
	return e
}

// deployments is /projects/:id/deployments and /projects/:id/deployments/:id;
// the caller holds mu and has checked the token may write.
func (s *Server) deployments(r *http.Request, p *project, seg []string, user Author, form url.Values) reply {
	if len(seg) == 3 {
		switch r.Method {
		case http.MethodGet:
			lo, hi, h := s.paginate(r, form, len(p.deployments))
			out := []map[string]any{}
			for _, d := range p.deployments[lo:hi] {
				out = append(out, s.deploymentJSON(p, d))
			}
			return reply{status: http.StatusOK, body: out, header: h}
		case http.MethodPost:
			return s.createDeployment(p, user, form)
		}
		return badMethod
	}
	i := slices.IndexFunc(p.deployments, func(d *Deployment) bool { return strconv.Itoa(d.ID) == seg[3] })
	if len(seg) != 4 || i < 0 {
		return notFound
	}
	d := p.deployments[i]
	switch r.Method {
	case http.MethodGet:
		return reply{status: http.StatusOK, body: s.deploymentJSON(p, d)}
	case http.MethodPut:
		st := form.Get("status")
		if !slices.Contains(deploymentStatuses, st) {
			return reply{status: http.StatusBadRequest, body: map[string]string{"error": "status does not have a valid value"}}
		}
		d.Status, d.UpdatedAt = st, time.Now().UTC()
		return reply{status: http.StatusOK, body: s.deploymentJSON(p, d)}
	}
	return badMethod
}

// createDeployment requires environment, ref, sha, tag and status, as the
// API does.
func (s *Server) createDeployment(p *project, user Author, form url.Values) reply {
	for _, k := range []string{"environment", "sha", "ref", "tag", "status"} {
		if form.Get(k) == "" {
			return reply{status: http.StatusBadRequest, body: map[string]string{"error": k + " is missing"}}
		}
	}
	tag, err := strconv.ParseBool(form.Get("tag"))
	if err != nil {
		return reply{status: http.StatusBadRequest, body: map[string]string{"error": "tag is invalid"}}
	}
	st := form.Get("status")
	if !slices.Contains(deploymentStatuses, st) {
		return reply{status: http.StatusBadRequest, body: map[string]string{"error": "status does not have a valid value"}}
	}
	env := s.environment(p, form.Get("environment"))
	if env.requiresApproval {
		st = "blocked"
	}
	now := time.Now().UTC()
	d := &Deployment{ID: s.nextID(), IID: len(p.deployments) + 1, Environment: env.Name, Ref: form.Get("ref"),
		SHA: form.Get("sha"), Tag: tag, Status: st, User: user, CreatedAt: now, UpdatedAt: now}
	p.deployments = append(p.deployments, d)
	return reply{status: http.StatusCreated, body: s.deploymentJSON(p, d)}
}

// deploymentJSON is the API's shape, with the environment as an object.
func (s *Server) deploymentJSON(p *project, d *Deployment) map[string]any {
	env := s.environment(p, d.Environment)
	return map[string]any{
		"id": d.ID, "iid": d.IID, "ref": d.Ref, "sha": d.SHA, "status": d.Status,
		"created_at": d.CreatedAt, "updated_at": d.UpdatedAt,
		"user":        map[string]any{"id": d.User.ID, "username": d.User.Username},
		"environment": map[string]any{"id": env.ID, "name": env.Name, "external_url": nil},
		"deployable":  nil,
	}
}
