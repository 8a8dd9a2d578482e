// Package githubfake is a stateful, in-memory GitHub REST API for tests:
// comments, commit statuses, check runs, issues, pull requests, deployments
// and self-hosted runners, with tokens, pagination and fault injection, served
// under /api/v3/ like GitHub Enterprise so a client that builds absolute
// paths fails loudly.
package githubfake

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge/fakefault"
)

// BasePath is where the API is mounted.
const BasePath = "/api/v3/"

// MaxBody is GitHub's limit on a comment body, in characters.
const MaxBody = 65536

// Comment is an issue, pull request or commit comment.
type Comment struct {
	ID        int64
	Login     string // the author
	Body      string
	HTMLURL   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Status is one commit status.
type Status struct {
	ID          int64
	State       string
	Context     string
	Description string
	TargetURL   string
	Creator     string
	CreatedAt   time.Time
}

// CheckRun is one check run with every annotation it was sent.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	DetailsURL  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
}

// Annotation is one check-run annotation.
type Annotation struct {
	Path               string
	StartLine, EndLine int
	Level              string
	Title              string
	Message            string
}

type token struct {
	login           string
	canWrite, isApp bool
	admin           bool // may administer self-hosted runners
}

type pull struct {
	number         int
	headSHA, state string
	// Set when the pull request was opened through the API.
	head, base  string
	title, body string
	login       string
	labels      []string
	created     time.Time
}

type repo struct {
	pulls          map[int]*pull
	issues         map[int]*issue     // pull requests and issues share numbers
	issueComments  map[int][]*Comment // by issue number, oldest first
	commitComments map[string][]*Comment
	statuses       map[string][]*Status
	checkRuns      []*CheckRun
	deployments    []*Deployment
	runners        []*Runner
}

// Server is the fake API. Its methods are safe for concurrent use.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	tokens  map[string]token
	userIDs map[string]int64
	repos   map[string]*repo
	orgs    map[string]*orgState
	nextID  map[string]int64 // per kind of object: ids increase from 1
	faults  fakefault.List   // faults and the request log
	delay   time.Duration
	jits    []JITRequest // every generate-jitconfig body
	// withhold counts the next registrations that answer without their
	// JIT config.
	withhold int
}

// New starts a server that t closes when it ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:       t,
		tokens:  map[string]token{},
		userIDs: map[string]int64{},
		repos:   map[string]*repo{},
		orgs:    map[string]*orgState{},
		nextID:  map[string]int64{},
	}
	api := http.NewServeMux()
	s.routes(api)
	root := http.NewServeMux()
	root.Handle(BasePath, http.StripPrefix(strings.TrimSuffix(BasePath, "/"), api))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("githubfake: %s %s is outside %s; the client built an absolute path", r.Method, r.URL.Path, BasePath)
		http.Error(w, "outside the API base path", http.StatusNotFound)
	})
	s.srv = httptest.NewServer(s.middleware(root))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the API base URL, ending in /api/v3/.
func (s *Server) URL() string { return s.srv.URL + BasePath }

// ServerURL is the web address comments link to.
func (s *Server) ServerURL() string { return s.srv.URL }

// AddToken lets token in as login. canWrite false is a fork pull request's
// read-only token; isApp marks an App installation token (GITHUB_TOKEN is
// one), the only kind that may create check runs and the kind GET /user
// refuses.
func (s *Server) AddToken(tok, login string, canWrite, isApp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = token{login: login, canWrite: canWrite, isApp: isApp}
	s.userID(login)
}

// AddRepo creates an empty repository.
func (s *Server) AddRepo(owner, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(owner, name, true)
}

// AddPullRequest creates or replaces pull request number, creating the
// repository if needed. state is "open" or "closed".
func (s *Server) AddPullRequest(owner, name string, number int, headSHA, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(owner, name, true).pulls[number] = &pull{number: number, headSHA: headSHA, state: state}
}

// AddComment seeds a comment by login on pull request number, which must exist.
func (s *Server) AddComment(owner, name string, number int, login, body string) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(owner, name, false)
	if rp == nil || rp.pulls[number] == nil {
		s.t.Fatalf("githubfake: AddComment on unknown pull request %s/%s#%d", owner, name, number)
	}
	c := s.newComment("issue-comment", login, body, s.htmlURL(owner, name, "pull", number, "issuecomment"))
	rp.issueComments[number] = append(rp.issueComments[number], c)
	return *c
}

// Comments returns the comments on pull request number, oldest first.
func (s *Server) Comments(owner, name string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp := s.repo(owner, name, false); rp != nil {
		return copies(rp.issueComments[number])
	}
	return nil
}

// CommitComments returns the comments on commit sha, oldest first.
func (s *Server) CommitComments(owner, name, sha string) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp := s.repo(owner, name, false); rp != nil {
		return copies(rp.commitComments[sha])
	}
	return nil
}

// Statuses returns the statuses set on sha, oldest first.
func (s *Server) Statuses(owner, name, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp := s.repo(owner, name, false); rp != nil {
		return copies(rp.statuses[sha])
	}
	return nil
}

// CheckRuns returns the check runs on sha, oldest first.
func (s *Server) CheckRuns(owner, name, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	if rp := s.repo(owner, name, false); rp != nil {
		for _, c := range rp.checkRuns {
			if c.HeadSHA == sha {
				cc := *c
				cc.Annotations = slices.Clone(c.Annotations)
				out = append(out, cc)
			}
		}
	}
	return out
}

// FailNext answers the next times requests whose method (""= any) and path
// (after /api/v3, matched with path.Match, so * stops at /) match with
// status, headers and a GitHub-style error body, before auth or any state
// change. times below 1 counts as 1.
func (s *Server) FailNext(method, pathPattern string, status int, headers map[string]string, times int) {
	pathPattern = "/" + strings.TrimPrefix(strings.TrimPrefix(pathPattern, strings.TrimSuffix(BasePath, "/")), "/")
	f := fakefault.Fault{Method: method, Path: pathPattern, Status: status, Header: headers, Times: times}
	if err := s.faults.Add(f); err != nil {
		s.t.Fatalf("githubfake: FailNext: %v", err)
	}
}

// Fault is an answer given instead of the real one, before authentication;
// its Message, "" for the status text, may hold "{token}", which becomes
// the request's token, to test that clients scrub it.
type Fault = fakefault.Fault

// Fail injects a fault; its Path is below /api/v3.
func (s *Server) Fail(f Fault) {
	if err := s.faults.Add(f); err != nil {
		s.t.Fatalf("githubfake: Fail: %v", err)
	}
}

// Delay makes every later request wait d (or until it is canceled).
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests lists every request received as "METHOD /path", the path without
// /api/v3 and without the query, oldest first.
func (s *Server) Requests() []string { return s.faults.Requests() }

// middleware records, delays, injects faults and authenticates, in that order.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := "/" + strings.TrimPrefix(r.URL.Path, BasePath)
		if !strings.HasPrefix(r.URL.Path, BasePath) {
			p = r.URL.Path
		}
		f := s.faults.Take(r.Method, p)
		s.mu.Lock()
		d := s.delay
		s.mu.Unlock()
		if d > 0 && !wait(r.Context(), d) {
			return
		}
		if f != nil {
			for k, v := range f.Header {
				w.Header().Set(k, v)
			}
			msg := f.Message
			if msg == "" {
				msg = http.StatusText(f.Status)
			}
			_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			writeError(w, f.Status, strings.ReplaceAll(msg, "{token}", strings.TrimSpace(tok)))
			return
		}
		if strings.HasPrefix(r.URL.Path, BasePath) {
			tok, ok := s.auth(r)
			if !ok {
				writeError(w, http.StatusUnauthorized, "Bad credentials")
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
		}
		next.ServeHTTP(w, r)
	})
}

type tokenKey struct{}

func tokenOf(r *http.Request) token { return r.Context().Value(tokenKey{}).(token) }

// auth accepts "Bearer TOKEN" and "token TOKEN", as GitHub does.
func (s *Server) auth(r *http.Request) (token, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) {
		return token{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[strings.TrimSpace(tok)]
	return t, ok
}

// repo finds owner/name, creating it when create is set; the caller holds mu.
func (s *Server) repo(owner, name string, create bool) *repo {
	k := strings.ToLower(owner + "/" + name)
	rp := s.repos[k]
	if rp == nil && create {
		rp = &repo{
			pulls:          map[int]*pull{},
			issues:         map[int]*issue{},
			issueComments:  map[int][]*Comment{},
			commitComments: map[string][]*Comment{},
			statuses:       map[string][]*Status{},
		}
		s.repos[k] = rp
	}
	return rp
}

// id returns the next id of kind; the caller holds mu.
func (s *Server) id(kind string) int64 {
	s.nextID[kind]++
	return s.nextID[kind]
}

func (s *Server) userID(login string) int64 {
	if id, ok := s.userIDs[login]; ok {
		return id
	}
	id := int64(len(s.userIDs) + 1)
	s.userIDs[login] = id
	return id
}

// newComment makes a comment whose html_url is base + its id; the caller
// holds mu.
func (s *Server) newComment(kind, login, body, base string) *Comment {
	now := time.Now().UTC().Truncate(time.Second)
	id := s.id(kind)
	return &Comment{ID: id, Login: login, Body: body, HTMLURL: base + itoa(id), CreatedAt: now, UpdatedAt: now}
}

// htmlURL is the web address prefix of a comment: /o/r/pull/N#issuecomment-.
func (s *Server) htmlURL(owner, name, kind string, ref any, anchor string) string {
	return s.srv.URL + "/" + owner + "/" + name + "/" + kind + "/" + toString(ref) + "#" + anchor + "-"
}

func copies[T any](in []*T) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		out = append(out, *v)
	}
	return out
}

func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
