package glexec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// EnvJobResponseFile names the file in which GitLab Runner's custom executor
// (14.1 and later) hands every stage the job exactly as the GitLab server
// sent it. It is the job's only trusted description: the CUSTOM_ENV_
// variables follow CI/CD variable precedence, so a job sets its own
// CUSTOM_ENV_CI_JOB_ID with `variables: {CI_JOB_ID: ...}`.
const EnvJobResponseFile = "JOB_RESPONSE_FILE"

// maxJobResponse bounds the read of JOB_RESPONSE_FILE. The response holds
// the whole script and every variable (commit messages alone may be 1 MB
// each), so the bound is generous; it only keeps a runaway file from
// exhausting memory.
const maxJobResponse = 64 << 20

// identity is what the executor trusts about a job, all read from
// JOB_RESPONSE_FILE: who the job is decides which container, lease and
// cache volume it gets, and the fork facts decide whether it runs at all.
type identity struct {
	// Key names the job across the stage processes: "gitlab:HOST:ID".
	Key       string
	ID        int64
	Host      string
	ProjectID int64 // 0: the response names none
	// server holds the server's own values of the predefined variables
	// the fork policy reads (see serverVariables).
	server map[string]string
}

// jobResponse is the part of gitlab-runner's spec.Job (the job API's
// response, which the custom executor writes to JOB_RESPONSE_FILE) that the
// executor reads; testdata/upstream holds a whole one.
type jobResponse struct {
	ID      int64 `json:"id"`
	JobInfo struct {
		ProjectID int64 `json:"project_id"`
	} `json:"job_info"`
	GitInfo struct {
		RepoURL string `json:"repo_url"`
	} `json:"git_info"`
	Variables []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"variables"`
}

// identity reads the job from JOB_RESPONSE_FILE. Any failure is one line
// saying what to do: without the file nothing names the job safely.
func (e *Executor) identity() (identity, error) {
	path := e.getenv(EnvJobResponseFile)
	if path == "" {
		return identity{}, errors.New("JOB_RESPONSE_FILE is not set: run mlci-runner gitlab only as GitLab Runner's custom executor (GitLab Runner 14.1 or later, see deploy/gitlab/config.toml), which writes there the job GitLab sent")
	}
	id, err := readIdentity(path)
	if err != nil {
		// The path is said once, here.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return identity{}, fmt.Errorf("JOB_RESPONSE_FILE %s: %w: run mlci-runner gitlab only as GitLab Runner's custom executor, which writes there the job GitLab sent", path, err)
	}
	return id, nil
}

func readIdentity(path string) (identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return identity{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return identity{}, err
	}
	if !st.Mode().IsRegular() {
		return identity{}, errors.New("not a regular file")
	}
	if st.Size() > maxJobResponse {
		return identity{}, fmt.Errorf("%d bytes, more than the %d a job response may have", st.Size(), maxJobResponse)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxJobResponse+1))
	if err != nil {
		return identity{}, err
	}
	if len(b) > maxJobResponse {
		return identity{}, fmt.Errorf("more than the %d bytes a job response may have", maxJobResponse)
	}
	return parseIdentity(b)
}

func parseIdentity(b []byte) (identity, error) {
	var r jobResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return identity{}, fmt.Errorf("not the job JSON GitLab Runner writes: %w", err)
	}
	if r.ID <= 0 {
		return identity{}, errors.New("the job response has no job id")
	}
	if r.JobInfo.ProjectID < 0 {
		return identity{}, fmt.Errorf("the job response has project id %d", r.JobInfo.ProjectID)
	}
	id := identity{ID: r.ID, ProjectID: r.JobInfo.ProjectID, server: serverVariables(r)}
	id.Host = trustedHost(r.GitInfo.RepoURL, id.server["CI_SERVER_HOST"])
	if id.Host == "" {
		return identity{}, errors.New("the job response names no GitLab host (neither git_info.repo_url nor CI_SERVER_HOST)")
	}
	id.Key = "gitlab:" + id.Host + ":" + strconv.FormatInt(id.ID, 10)
	return id, nil
}

// trustedHost is the GitLab instance's host, which keeps two instances' jobs
// of the same id apart. git_info.repo_url comes first: the server builds it
// from its own URL and no variable can change it. The first CI_SERVER_HOST
// (see serverVariables) is the fallback, taken only when it is a host name: a
// job's id_tokens entry named CI_SERVER_HOST would come first, but its value
// is a JWT, never a host name.
func trustedHost(repoURL, serverHost string) string {
	if u, err := url.Parse(repoURL); err == nil && validHost(u.Hostname()) {
		return strings.ToLower(u.Hostname())
	}
	if validHost(serverHost) {
		return strings.ToLower(serverHost)
	}
	return ""
}

// validHost accepts DNS names and IPv4 addresses (RFC 1123 labels) and IPv6
// addresses, the forms of Gitlab.config.gitlab.host.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if strings.Contains(h, ":") {
		return strings.Trim(h, "0123456789abcdefABCDEF:.") == ""
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// serverVariables returns the first occurrence of each predefined variable
// the executor reads, which is the server's own value:
//
// The job API sends the variables in the order GitLab built them
// (Ci::Build#base_variables: persisted ones such as CI_JOB_ID, the job's
// id_tokens, then Gitlab::Ci::Variables::Builder#scoped_variables:
// predefined job, project (CI_SERVER_HOST, CI_PROJECT_PATH,
// CI_PROJECT_VISIBILITY) and pipeline (CI_MERGE_REQUEST_*) variables, and
// only after them the YAML, project, group, instance, pipeline and
// schedule variables a user sets). It keeps duplicates; gitlab-runner lets
// the last one win (spec.Variables.Get searches backwards), which is what
// makes a job's `variables: {CI_JOB_ID: ...}` override the predefined one.
// Sorting for variable expansion (Collection#sort_and_expand_all) only
// moves a variable after those it references, and keeps duplicates of one
// key in their order, so a later user variable never moves before the
// server's.
//
// Two exceptions, both of which the readers fail closed on:
//   - an id_tokens entry may take any name and comes before the predefined
//     variables; its value is a JWT the server signs, never a value the job
//     chose, and no JWT is a host name, a project id or a visibility;
//   - pipelines GitLab builds from their YAML variables alone (its
//     "dangling" sources: the Web IDE, security policies, on-demand scans)
//     carry no predefined variables. Their YAML is not a fork's, and their
//     host comes from git_info.repo_url first.
func serverVariables(r jobResponse) map[string]string {
	out := map[string]string{}
	for _, v := range r.Variables {
		switch v.Key {
		case "CI_SERVER_HOST", "CI_PROJECT_PATH", "CI_PROJECT_VISIBILITY",
			"CI_MERGE_REQUEST_PROJECT_ID", "CI_MERGE_REQUEST_PROJECT_PATH", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID":
			if _, seen := out[v.Key]; !seen {
				out[v.Key] = v.Value
			}
		}
	}
	return out
}

// checkFork refuses a merge request from a fork of a public project unless
// the runner's policy allows it: it would run anyone's code on this host.
// It reads only the server's variables and fails closed: ids that are not
// GitLab's numbers count as a fork, a visibility other than private or
// internal counts as public, and a path GitLab did not send matches no
// allowed repository.
func (e *Executor) checkFork(id identity) error {
	src, dst := id.server["CI_MERGE_REQUEST_SOURCE_PROJECT_ID"], id.server["CI_MERGE_REQUEST_PROJECT_ID"]
	if src == "" && dst == "" {
		return nil // not a merge request pipeline
	}
	if src == dst && isDigits(src) {
		return nil
	}
	switch id.server["CI_PROJECT_VISIBILITY"] {
	case "private", "internal":
		return nil
	}
	project := id.server["CI_MERGE_REQUEST_PROJECT_PATH"]
	if project == "" {
		project = id.server["CI_PROJECT_PATH"]
	}
	if e.Config.ForkAllowed(project) {
		return nil
	}
	return fmt.Errorf("refusing a merge request from a fork of public project %s: fork code would run on this GPU host (allow it with allow_fork_jobs or allow_fork_repos in the runner config)", project)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
