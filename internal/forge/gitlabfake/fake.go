// Package gitlabfake is a stateful fake of the parts of the GitLab REST API
// v4 that mlci uses (merge requests and their notes, issues and their
// notes, commit statuses, deployments, the current user, runners), so forge/gitlab and runner registration are
// tested over real HTTP with pagination, auth and faults.
package gitlabfake

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge/fakefault"
)

// BasePath is where the API is mounted, as on gitlab.com.
const BasePath = "/api/v4"

// MaxNoteChars is GitLab's limit on a note body, in characters.
const MaxNoteChars = 1_000_000

// Author is a note's or status's author as the API shows it.
type Author struct {
	ID       int    `json:"id"`
	Username string `json:"username"`
}

// Note is a merge request note as the API returns it.
type Note struct {
	ID           int       `json:"id"`
	Body         string    `json:"body"`
	Author       Author    `json:"author"`
	System       bool      `json:"system"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	NoteableType string    `json:"noteable_type"`
	NoteableIID  int       `json:"noteable_iid"`
	ProjectID    int       `json:"project_id"`
}

// Status is a commit status as the API returns it.
type Status struct {
	ID          int       `json:"id"`
	SHA         string    `json:"sha"`
	Ref         string    `json:"ref"`
	Status      string    `json:"status"`
	Name        string    `json:"name"`
	TargetURL   string    `json:"target_url"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	Author      Author    `json:"author"`
}

type token struct {
	user         Author
	canWrite     bool
	createRunner bool // has the create_runner scope
}

type mergeRequest struct {
	iid   int
	sha   string
	notes []*Note
	// Set when the merge request was opened through the API; state is
	// "opened" for seeded ones.
	source, target string
	title, desc    string
	state          string
	author         Author
	created        time.Time
}

type project struct {
	id       int
	path     string
	mrs      map[int]*mergeRequest
	issues   map[int]*issue
	statuses map[string][]Status

	deployments  []*Deployment
	environments []*environment
}

// Server is the fake; its state is safe for concurrent requests.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	users    map[string]Author
	tokens   map[string]token
	projects []*project
	lastID   int            // notes, statuses and users share one counter; ids only grow
	faults   fakefault.List // faults and the request log
	delay    time.Duration

	groups   map[int]bool
	runners  map[int]CreateRunnerRequest
	creates  []CreateRunnerRequest
	runnerID int
	withhold int // the next registrations that answer without their token
}

// New starts a fake closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, users: map[string]Author{}, tokens: map[string]token{},
		groups: map[int]bool{}, runners: map[int]CreateRunnerRequest{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the API base, ending in /api/v4.
func (s *Server) URL() string { return s.srv.URL + BasePath }

// ServerURL is the instance root, as CI_SERVER_URL.
func (s *Server) ServerURL() string { return s.srv.URL }

// AddToken lets token act as username; a token without canWrite gets 403 on
// every POST, PUT and DELETE.
func (s *Server) AddToken(tok, username string, canWrite bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = token{user: s.user(username), canWrite: canWrite}
}

// AddProject adds the project at path (a no-op when it exists) and returns
// its numeric id.
func (s *Server) AddProject(projectPath string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addProject(projectPath).id
}

// AddMergeRequest adds merge request iid with head sha; project is a path
// (created when new) or the id AddProject returned.
func (s *Server) AddMergeRequest(project string, iid int, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(project)
	if p == nil {
		p = s.addProject(project)
	}
	p.mrs[iid] = &mergeRequest{iid: iid, sha: sha, state: "opened"}
}

// AddNote seeds a note by username on a merge request and returns its id.
func (s *Server) AddNote(project string, mr int, username, body string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mustMR(project, mr)
	return s.addNote(s.project(project).id, m, s.user(username), body).ID
}

// Notes returns a merge request's notes, oldest first.
func (s *Server) Notes(project string, mr int) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	for _, n := range s.mustMR(project, mr).notes {
		out = append(out, *n)
	}
	return out
}

// Statuses returns the statuses posted for sha, oldest first.
func (s *Server) Statuses(project, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(project)
	if p == nil {
		s.t.Fatalf("gitlabfake: no project %q", project)
	}
	return slices.Clone(p.statuses[sha])
}

// FailNext answers the next times requests whose method (""= any) and
// escaped path below /api/v4 (matched with path.Match, so * stops at / and
// a URL-encoded project is one segment) match, with status, headers and a
// GitLab-style error body, before auth or any state change. times below 1
// counts as 1.
func (s *Server) FailNext(method, pathPattern string, status int, headers map[string]string, times int) {
	pathPattern = "/" + strings.TrimPrefix(strings.TrimPrefix(pathPattern, BasePath), "/")
	f := fakefault.Fault{Method: method, Path: pathPattern, Status: status, Header: headers, Times: times}
	if err := s.faults.Add(f); err != nil {
		s.t.Fatalf("gitlabfake: FailNext: %v", err)
	}
}

// Fault is an answer given instead of the real one, before authentication;
// its Message, "" for GitLab's "404 Not Found" style, may hold "{token}",
// which becomes the request's token, to test that clients scrub it.
type Fault = fakefault.Fault

// Fail injects a fault; its Path is the escaped path below /api/v4.
func (s *Server) Fail(f Fault) {
	if err := s.faults.Add(f); err != nil {
		s.t.Fatalf("gitlabfake: Fail: %v", err)
	}
}

// Delay makes every later request wait d (or until it is canceled).
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests lists every request received as "METHOD /path", the path escaped,
// without /api/v4 and without the query, oldest first.
func (s *Server) Requests() []string { return s.faults.Requests() }

// The helpers below expect the caller to hold mu.

func (s *Server) nextID() int {
	s.lastID++
	return s.lastID
}

func (s *Server) user(username string) Author {
	u, ok := s.users[username]
	if !ok {
		u = Author{ID: s.nextID(), Username: username}
		s.users[username] = u
	}
	return u
}

func (s *Server) addProject(projectPath string) *project {
	if p := s.project(projectPath); p != nil {
		return p
	}
	if _, err := strconv.Atoi(projectPath); err == nil || !strings.Contains(projectPath, "/") {
		s.t.Fatalf("gitlabfake: project %q is neither a known id nor a namespace/path", projectPath)
	}
	id := 1
	for _, q := range s.projects {
		id = max(id, q.id+1)
	}
	p := &project{id: id, path: projectPath,
		mrs: map[int]*mergeRequest{}, issues: map[int]*issue{}, statuses: map[string][]Status{}}
	s.projects = append(s.projects, p)
	return p
}

// project finds a project by numeric id or path, as the API accepts either.
func (s *Server) project(idOrPath string) *project {
	for _, p := range s.projects {
		if strconv.Itoa(p.id) == idOrPath || p.path == idOrPath {
			return p
		}
	}
	return nil
}

func (s *Server) mustMR(project string, iid int) *mergeRequest {
	s.t.Helper()
	p := s.project(project)
	if p == nil || p.mrs[iid] == nil {
		s.t.Fatalf("gitlabfake: no merge request !%d in %q", iid, project)
	}
	return p.mrs[iid]
}

func (s *Server) addNote(projectID int, m *mergeRequest, author Author, body string) *Note {
	now := time.Now().UTC()
	n := &Note{ID: s.nextID(), Body: body, Author: author, CreatedAt: now, UpdatedAt: now,
		NoteableType: "MergeRequest", NoteableIID: m.iid, ProjectID: projectID}
	m.notes = append(m.notes, n)
	return n
}

// auth reads the token the way GitLab does: PRIVATE-TOKEN, then JOB-TOKEN,
// then an OAuth-style bearer.
func (s *Server) auth(r *http.Request) (token, bool) {
	tok := rawToken(r)
	if tok == "" {
		return token{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	return t, ok
}

// rawToken is the token a request carries, "" for none.
func rawToken(r *http.Request) string {
	tok := r.Header.Get("PRIVATE-TOKEN")
	if tok == "" {
		tok = r.Header.Get("JOB-TOKEN")
	}
	if tok == "" {
		if scheme, v, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
			tok = strings.TrimSpace(v)
		}
	}
	return tok
}

func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
