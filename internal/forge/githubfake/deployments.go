package githubfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Deployment is one deployment as it was requested.
type Deployment struct {
	ID          int64
	SHA, Ref    string
	Task        string
	Environment string
	Description string
	Payload     map[string]any
	// RequiredContexts is nil when the request left it out (GitHub then
	// requires every context) and empty when it sent [].
	RequiredContexts      []string
	AutoMerge             bool
	ProductionEnvironment bool
	TransientEnvironment  bool
	Creator               string
	CreatedAt             time.Time
	statuses              []*DeploymentStatus
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID             int64
	State          string
	Description    string
	Environment    string
	LogURL         string
	EnvironmentURL string
	Creator        string
	CreatedAt      time.Time
}

var deploymentStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

type deploymentRequest struct {
	Ref                   *string         `json:"ref"`
	Task                  *string         `json:"task"`
	AutoMerge             *bool           `json:"auto_merge"`
	RequiredContexts      *[]string       `json:"required_contexts"`
	Payload               json.RawMessage `json:"payload"`
	Environment           *string         `json:"environment"`
	Description           *string         `json:"description"`
	TransientEnvironment  *bool           `json:"transient_environment"`
	ProductionEnvironment *bool           `json:"production_environment"`
}

type deploymentJSON struct {
	URL                   string         `json:"url"`
	ID                    int64          `json:"id"`
	NodeID                string         `json:"node_id"`
	SHA                   string         `json:"sha"`
	Ref                   string         `json:"ref"`
	Task                  string         `json:"task"`
	Payload               map[string]any `json:"payload"`
	Environment           string         `json:"environment"`
	Description           *string        `json:"description"`
	Creator               userJSON       `json:"creator"`
	CreatedAt             time.Time      `json:"created_at"`
	UpdatedAt             time.Time      `json:"updated_at"`
	StatusesURL           string         `json:"statuses_url"`
	RepositoryURL         string         `json:"repository_url"`
	TransientEnvironment  bool           `json:"transient_environment"`
	ProductionEnvironment bool           `json:"production_environment"`
}

type deploymentStatusJSON struct {
	URL            string    `json:"url"`
	ID             int64     `json:"id"`
	NodeID         string    `json:"node_id"`
	State          string    `json:"state"`
	Creator        userJSON  `json:"creator"`
	Description    string    `json:"description"`
	Environment    string    `json:"environment"`
	TargetURL      string    `json:"target_url"`
	LogURL         string    `json:"log_url"`
	EnvironmentURL string    `json:"environment_url"`
	DeploymentURL  string    `json:"deployment_url"`
	RepositoryURL  string    `json:"repository_url"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Deployments returns the deployments of owner/name, oldest first.
func (s *Server) Deployments(owner, name string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	if rp := s.repo(owner, name, false); rp != nil {
		for _, d := range rp.deployments {
			dd := *d
			dd.statuses = nil
			dd.RequiredContexts = slices.Clone(d.RequiredContexts)
			out = append(out, dd)
		}
	}
	return out
}

// DeploymentStatuses returns the statuses of deployment id, oldest first.
func (s *Server) DeploymentStatuses(owner, name string, id int64) []DeploymentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp := s.repo(owner, name, false); rp != nil {
		if d := rp.deployment(id); d != nil {
			return copies(d.statuses)
		}
	}
	return nil
}

func (rp *repo) deployment(id int64) *Deployment {
	i := slices.IndexFunc(rp.deployments, func(d *Deployment) bool { return d.ID == id })
	if i < 0 {
		return nil
	}
	return rp.deployments[i]
}

// createDeployment is POST /repos/o/r/deployments. The fake knows no
// branches, so ref is taken as the commit and auto_merge does nothing.
// Required contexts are checked as GitHub does: a missing list means every
// context on the commit, and any of them not success is a 409.
func (s *Server) createDeployment(c *call) {
	var in deploymentRequest
	if !decode(c.w, c.r, &in) {
		return
	}
	if in.Ref == nil || *in.Ref == "" {
		writeInvalid(c.w, "Deployment", "ref", "missing_field", "")
		return
	}
	ref := *in.Ref
	var required []string
	if in.RequiredContexts != nil {
		required = *in.RequiredContexts
	} else {
		required = c.rp.contexts(ref)
	}
	if failing := c.rp.notSuccess(ref, required); len(failing) > 0 {
		writeJSON(c.w, http.StatusConflict, errorJSON{
			Message:          "Conflict: Commit status checks failed for " + ref + ".",
			Errors:           []fieldError{{Resource: "Deployment", Field: "required_contexts", Code: "invalid", Message: "failing or missing: " + strings.Join(failing, ", ")}},
			DocumentationURL: "https://docs.github.com/rest/deployments/deployments#create-a-deployment",
		})
		return
	}
	d := &Deployment{ID: s.id("deployment"), SHA: ref, Ref: ref, Task: "deploy", Environment: "production",
		AutoMerge: true, Creator: c.tok.login, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if in.RequiredContexts != nil {
		d.RequiredContexts = append([]string{}, *in.RequiredContexts...)
	}
	if in.Task != nil {
		d.Task = *in.Task
	}
	if in.Environment != nil {
		d.Environment = *in.Environment
	}
	if in.Description != nil {
		d.Description = *in.Description
	}
	if in.AutoMerge != nil {
		d.AutoMerge = *in.AutoMerge
	}
	if in.TransientEnvironment != nil {
		d.TransientEnvironment = *in.TransientEnvironment
	}
	d.ProductionEnvironment = d.Environment == "production"
	if in.ProductionEnvironment != nil {
		d.ProductionEnvironment = *in.ProductionEnvironment
	}
	if len(in.Payload) > 0 && string(in.Payload) != "null" {
		// GitHub takes an object or a string holding one.
		var str string
		raw := []byte(in.Payload)
		if json.Unmarshal(raw, &str) == nil {
			raw = []byte(str)
		}
		if err := json.Unmarshal(raw, &d.Payload); err != nil {
			writeInvalid(c.w, "Deployment", "payload", "invalid", "payload must be a JSON object")
			return
		}
	}
	c.rp.deployments = append(c.rp.deployments, d)
	writeJSON(c.w, http.StatusCreated, s.deploymentJSON(c, d))
}

// listDeployments is GET /repos/o/r/deployments, newest first, filtered by
// sha, ref, task and environment.
func (s *Server) listDeployments(c *call) {
	q := c.r.URL.Query()
	var list []*Deployment
	for _, d := range slices.Backward(c.rp.deployments) {
		if (q.Get("sha") == "" || q.Get("sha") == d.SHA) && (q.Get("ref") == "" || q.Get("ref") == d.Ref) &&
			(q.Get("task") == "" || q.Get("task") == d.Task) && (q.Get("environment") == "" || q.Get("environment") == d.Environment) {
			list = append(list, d)
		}
	}
	lo, hi := page(c.w, c.r, len(list))
	out := []deploymentJSON{}
	for _, d := range list[lo:hi] {
		out = append(out, s.deploymentJSON(c, d))
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (s *Server) getDeployment(c *call) {
	d := c.rp.deployment(pathID(c))
	if d == nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(c.w, http.StatusOK, s.deploymentJSON(c, d))
}

// createDeploymentStatus is POST /repos/o/r/deployments/{id}/statuses. A
// success marks the environment's earlier successful deployments inactive
// unless auto_inactive is false, as GitHub does.
func (s *Server) createDeploymentStatus(c *call) {
	d := c.rp.deployment(pathID(c))
	if d == nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	var in struct {
		State          string `json:"state"`
		TargetURL      string `json:"target_url"`
		LogURL         string `json:"log_url"`
		Description    string `json:"description"`
		Environment    string `json:"environment"`
		EnvironmentURL string `json:"environment_url"`
		AutoInactive   *bool  `json:"auto_inactive"`
	}
	if !decode(c.w, c.r, &in) {
		return
	}
	if !slices.Contains(deploymentStates, in.State) {
		writeInvalid(c.w, "DeploymentStatus", "state", "invalid", "state is not included in the list")
		return
	}
	if len([]rune(in.Description)) > 140 {
		writeInvalid(c.w, "DeploymentStatus", "description", "custom", "description is too long (maximum is 140 characters)")
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	if in.LogURL == "" {
		in.LogURL = in.TargetURL
	}
	if in.Environment == "" {
		in.Environment = d.Environment
	}
	if in.State == "success" && (in.AutoInactive == nil || *in.AutoInactive) && !d.TransientEnvironment {
		for _, o := range c.rp.deployments {
			if o != d && o.Environment == in.Environment && len(o.statuses) > 0 && o.statuses[len(o.statuses)-1].State == "success" {
				o.statuses = append(o.statuses, &DeploymentStatus{ID: s.id("deployment-status"), State: "inactive",
					Environment: o.Environment, Creator: c.tok.login, CreatedAt: now})
			}
		}
	}
	st := &DeploymentStatus{ID: s.id("deployment-status"), State: in.State, Description: in.Description, Environment: in.Environment,
		LogURL: in.LogURL, EnvironmentURL: in.EnvironmentURL, Creator: c.tok.login, CreatedAt: now}
	d.statuses = append(d.statuses, st)
	writeJSON(c.w, http.StatusCreated, s.deploymentStatusJSON(c, d, st))
}

// listDeploymentStatuses answers newest first, as GitHub does.
func (s *Server) listDeploymentStatuses(c *call) {
	d := c.rp.deployment(pathID(c))
	if d == nil {
		writeError(c.w, http.StatusNotFound, "Not Found")
		return
	}
	list := slices.Clone(d.statuses)
	slices.Reverse(list)
	lo, hi := page(c.w, c.r, len(list))
	out := []deploymentStatusJSON{}
	for _, st := range list[lo:hi] {
		out = append(out, s.deploymentStatusJSON(c, d, st))
	}
	writeJSON(c.w, http.StatusOK, out)
}

// contexts lists the status and check-run names on ref.
func (rp *repo) contexts(ref string) []string {
	var out []string
	for _, st := range rp.statuses[ref] {
		if !slices.Contains(out, st.Context) {
			out = append(out, st.Context)
		}
	}
	for _, cr := range rp.checkRuns {
		if cr.HeadSHA == ref && !slices.Contains(out, cr.Name) {
			out = append(out, cr.Name)
		}
	}
	return out
}

// notSuccess lists the contexts whose latest status or check run on ref is
// not successful, or that are missing.
func (rp *repo) notSuccess(ref string, contexts []string) []string {
	var out []string
	for _, name := range contexts {
		state := ""
		for _, st := range rp.statuses[ref] {
			if st.Context == name {
				state = st.State
			}
		}
		for _, cr := range rp.checkRuns {
			if cr.HeadSHA == ref && cr.Name == name {
				state = "failure"
				if cr.Conclusion == "success" || cr.Conclusion == "neutral" || cr.Conclusion == "skipped" {
					state = "success"
				}
			}
		}
		if state != "success" {
			out = append(out, name)
		}
	}
	return out
}

func (s *Server) deploymentJSON(c *call, d *Deployment) deploymentJSON {
	repoURL := s.URL() + "repos/" + c.owner + "/" + c.name
	u := repoURL + "/deployments/" + itoa(d.ID)
	out := deploymentJSON{URL: u, ID: d.ID, NodeID: "DE_" + itoa(d.ID), SHA: d.SHA, Ref: d.Ref, Task: d.Task,
		Payload: d.Payload, Environment: d.Environment, Creator: s.user(d.Creator),
		CreatedAt: d.CreatedAt, UpdatedAt: d.CreatedAt, StatusesURL: u + "/statuses", RepositoryURL: repoURL,
		TransientEnvironment: d.TransientEnvironment, ProductionEnvironment: d.ProductionEnvironment}
	if out.Payload == nil {
		out.Payload = map[string]any{}
	}
	if d.Description != "" {
		out.Description = &d.Description
	}
	return out
}

func (s *Server) deploymentStatusJSON(c *call, d *Deployment, st *DeploymentStatus) deploymentStatusJSON {
	repoURL := s.URL() + "repos/" + c.owner + "/" + c.name
	du := repoURL + "/deployments/" + itoa(d.ID)
	return deploymentStatusJSON{URL: du + "/statuses/" + itoa(st.ID), ID: st.ID, NodeID: "DES_" + itoa(st.ID),
		State: st.State, Creator: s.user(st.Creator), Description: st.Description, Environment: st.Environment,
		TargetURL: st.LogURL, LogURL: st.LogURL, EnvironmentURL: st.EnvironmentURL, DeploymentURL: du,
		RepositoryURL: repoURL, CreatedAt: st.CreatedAt, UpdatedAt: st.CreatedAt}
}

func pathID(c *call) int64 {
	id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	return id
}
