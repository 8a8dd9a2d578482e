package gitlab_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/gitlab"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
	"github.com/mlci/mlci/internal/forge/retry"
)

const (
	token   = "glpat-s3cret-t0ken"
	bot     = "mlci-bot"
	project = "group/sub.project" // the dot is escaped too: %2E
	mrIID   = 7
	sha     = "0123abcd"
	pipe    = "https://gitlab.example/group/sub.project/-/pipelines/9"
)

var marker = forge.Marker("default")

func setup(t testing.TB) *gitlabfake.Server {
	t.Helper()
	s := gitlabfake.New(t)
	s.AddToken(token, bot, true)
	s.AddToken("read-only", "reader", false)
	s.AddToken("job-token", "ci-job", true)
	s.AddMergeRequest(project, mrIID, sha)
	return s
}

func config(s *gitlabfake.Server) gitlab.Config {
	return gitlab.Config{
		Token: token, APIURL: s.URL(), Project: project, MergeRequestIID: strconv.Itoa(mrIID),
		SHA: sha, PipelineURL: pipe,
		Retry:  retry.Policy{Sleep: func(context.Context, time.Duration) error { return nil }},
		Logger: slog.New(slog.DiscardHandler),
	}
}

func newForge(t testing.TB, cfg gitlab.Config) *gitlab.Forge {
	t.Helper()
	f, err := gitlab.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func report(body, mode string) forge.Report {
	return forge.Report{ID: "default", Body: body, Pass: true, Summary: "gate passed", Mode: mode}
}

func TestPost(t *testing.T) {
	notesPath := fmt.Sprintf("/projects/group%%2Fsub%%2Eproject/merge_requests/%d/notes", mrIID)
	tests := []struct {
		name  string
		cfg   func(*gitlab.Config)
		seed  func(*gitlabfake.Server)
		posts []forge.Report
		want  func(t *testing.T, s *gitlabfake.Server, res []forge.Result)
	}{
		{
			name:  "create then update keeps one note",
			posts: []forge.Report{report("one", ""), report("two", forge.ModeUpdate)},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				notes := s.Notes(project, mrIID)
				if len(notes) != 1 || notes[0].Body != "two\n\n"+marker {
					t.Fatalf("notes = %+v", notes)
				}
				wantURL := fmt.Sprintf("%s/%s/-/merge_requests/%d#note_%d", s.ServerURL(), project, mrIID, notes[0].ID)
				if res[0].CommentURL != wantURL || res[1].CommentURL != wantURL || res[1].Unchanged {
					t.Errorf("results = %+v, want URL %s", res, wantURL)
				}
			},
		},
		{
			name:  "unchanged body sends no PUT",
			posts: []forge.Report{report("same", ""), report("same", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				if !res[1].Unchanged || res[0].Unchanged {
					t.Errorf("results = %+v", res)
				}
				if n := count(s.Requests(), "PUT "); n != 0 {
					t.Errorf("%d PUT requests", n)
				}
			},
		},
		{
			name:  "recreate posts a new note and deletes the old",
			posts: []forge.Report{report("a", ""), report("a", forge.ModeRecreate)},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				if n := len(s.Notes(project, mrIID)); n != 1 || res[0].CommentURL == res[1].CommentURL {
					t.Errorf("%d notes, results %+v", n, res)
				}
			},
		},
		{
			name:  "append keeps every note",
			posts: []forge.Report{report("a", ""), report("b", forge.ModeAppend)},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				if n := len(s.Notes(project, mrIID)); n != 2 {
					t.Errorf("%d notes, want 2", n)
				}
			},
		},
		{
			name:  "off posts no note but the status",
			posts: []forge.Report{report("a", forge.ModeOff)},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				if n := len(s.Notes(project, mrIID)); n != 0 || !res[0].Status || res[0].CommentURL != "" {
					t.Errorf("%d notes, result %+v", n, res[0])
				}
			},
		},
		{
			name: "marker on page 3 of 3",
			seed: func(s *gitlabfake.Server) {
				for i := range 245 { // 100 per page: the sticky note is on page 3
					s.AddNote(project, mrIID, []string{"alice", bot}[i%2], fmt.Sprintf("comment %d", i))
				}
				s.AddNote(project, mrIID, bot, "old\n\n"+marker)
			},
			posts: []forge.Report{report("new", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				notes := s.Notes(project, mrIID)
				if len(notes) != 246 || notes[245].Body != "new\n\n"+marker {
					t.Fatalf("%d notes, last %q", len(notes), notes[len(notes)-1].Body)
				}
				reqs := s.Requests()
				if get, put := count(reqs, "GET "+notesPath), count(reqs, "PUT "); get != 3 || put != 1 {
					t.Errorf("%d list pages, %d PUTs; want 3 and 1", get, put)
				}
			},
		},
		{
			name:  "other users' notes with the marker are ignored",
			seed:  func(s *gitlabfake.Server) { s.AddNote(project, mrIID, "alice", "quoted\n\n"+marker) },
			posts: []forge.Report{report("mine", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				notes := s.Notes(project, mrIID)
				if len(notes) != 2 || notes[0].Body != "quoted\n\n"+marker || notes[1].Author.Username != bot {
					t.Errorf("notes = %+v", notes)
				}
			},
		},
		{
			name: "stale duplicates are cleaned, the newest kept",
			seed: func(s *gitlabfake.Server) {
				s.AddNote(project, mrIID, bot, "x\n\n"+marker)
				s.AddNote(project, mrIID, bot, "y\n\n"+marker)
			},
			posts: []forge.Report{report("z", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				notes := s.Notes(project, mrIID)
				if len(notes) != 1 || notes[0].Body != "z\n\n"+marker || !strings.HasSuffix(res[0].CommentURL, fmt.Sprint(notes[0].ID)) {
					t.Errorf("notes = %+v, result %+v", notes, res[0])
				}
			},
		},
		{
			name:  "status success",
			posts: []forge.Report{{ID: "default", Body: "b", Pass: true, Summary: strings.Repeat("é", 300)}},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				st := s.Statuses(project, sha)
				if len(st) != 1 || st[0].Status != "success" || st[0].Name != gitlab.StatusName || st[0].TargetURL != pipe ||
					utf8.RuneCountInString(st[0].Description) != 255 || !res[0].Status {
					t.Errorf("statuses = %+v", st)
				}
			},
		},
		{
			name:  "status failed",
			posts: []forge.Report{{ID: "default", Body: "b", Pass: false, Summary: "2 gates failed"}},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				st := s.Statuses(project, sha)
				if len(st) != 1 || st[0].Status != "failed" || st[0].Description != "2 gates failed" {
					t.Errorf("statuses = %+v", st)
				}
			},
		},
		{
			name:  "500 then success posts one note",
			seed:  func(s *gitlabfake.Server) { s.FailNext("POST", notesPath, 500, nil, 1) },
			posts: []forge.Report{report("a", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				if n, posts := len(s.Notes(project, mrIID)), count(s.Requests(), "POST "+notesPath); n != 1 || posts != 2 {
					t.Errorf("%d notes after %d POSTs; want 1 after 2", n, posts)
				}
			},
		},
		{
			name:  "403 read-only token is a note, not an error",
			cfg:   func(c *gitlab.Config) { c.Token = "read-only" },
			posts: []forge.Report{report("a", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				if len(s.Notes(project, mrIID)) != 0 || len(res[0].Notes) != 2 || res[0].Status {
					t.Errorf("result = %+v", res[0])
				}
			},
		},
		{
			name:  "no merge request sets only the status",
			cfg:   func(c *gitlab.Config) { c.MergeRequestIID = "" },
			posts: []forge.Report{report("a", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				if len(s.Notes(project, mrIID)) != 0 || !res[0].Status || len(res[0].Notes) != 1 ||
					!strings.Contains(res[0].Notes[0], `$CI_PIPELINE_SOURCE == "merge_request_event"`) {
					t.Errorf("result = %+v", res[0])
				}
			},
		},
		{
			name:  "job token skips the note and says why",
			cfg:   func(c *gitlab.Config) { c.Token, c.JobToken = "job-token", true },
			posts: []forge.Report{report("a", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				if len(s.Notes(project, mrIID)) != 0 || len(res[0].Notes) != 1 || !strings.Contains(res[0].Notes[0], "GITLAB_TOKEN") {
					t.Errorf("result = %+v", res[0])
				}
			},
		},
		{
			name: "numeric project id with CI_PROJECT_URL",
			cfg: func(c *gitlab.Config) {
				c.Project, c.ProjectURL = "1", "https://gitlab.example/group/sub.project/"
			},
			posts: []forge.Report{report("a", "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				n := s.Notes(project, mrIID)
				want := fmt.Sprintf("https://gitlab.example/group/sub.project/-/merge_requests/7#note_%d", n[0].ID)
				if res[0].CommentURL != want || count(s.Requests(), "POST /projects/1/statuses/") != 1 {
					t.Errorf("URL %q, want %q; requests %q", res[0].CommentURL, want, s.Requests())
				}
			},
		},
		{
			name:  "too long body is cut to GitLab's limit",
			posts: []forge.Report{report(strings.Repeat("x", gitlabfake.MaxNoteChars), "")},
			want: func(t *testing.T, s *gitlabfake.Server, res []forge.Result) {
				n := s.Notes(project, mrIID)
				if len(n) != 1 || utf8.RuneCountInString(n[0].Body) != gitlabfake.MaxNoteChars ||
					!strings.HasSuffix(n[0].Body, marker) || len(res[0].Notes) != 1 {
					t.Errorf("%d notes, notes %q", len(n), res[0].Notes)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			cfg := config(s)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if tc.seed != nil {
				tc.seed(s)
			}
			f := newForge(t, cfg)
			var res []forge.Result
			for _, r := range tc.posts {
				got, err := f.Post(t.Context(), r)
				if err != nil {
					t.Fatalf("Post: %v", err)
				}
				res = append(res, got)
			}
			tc.want(t, s, res)
		})
	}
}

func TestPostHonoursRetryAfter(t *testing.T) {
	s := setup(t)
	s.FailNext("POST", "/projects/*/merge_requests/*/notes", 429, map[string]string{"Retry-After": "7"}, 1)
	cfg := config(s)
	var mu sync.Mutex
	var slept []time.Duration
	cfg.Retry.Sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return nil
	}
	if _, err := newForge(t, cfg).Post(t.Context(), report("a", "")); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 1 || slept[0] != 7*time.Second {
		t.Errorf("slept %v, want [7s]", slept)
	}
	if n := len(s.Notes(project, mrIID)); n != 1 {
		t.Errorf("%d notes, want 1", n)
	}
}

func TestPostErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*gitlab.Config)
		want string
	}{
		{"invalid token", func(c *gitlab.Config) { c.Token = "glpat-wrong-t0ken" }, "GITLAB_TOKEN is invalid or expired"},
		{"unknown merge request", func(c *gitlab.Config) { c.MergeRequestIID = "99"; c.SHA = "" }, "does the token have access?"},
		{"unknown project", func(c *gitlab.Config) { c.Project = "no/such" }, "does the token have access?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			cfg := config(s)
			tc.cfg(&cfg)
			_, err := newForge(t, cfg).Post(t.Context(), report("a", ""))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			t.Log(err)
			if msg := err.Error(); strings.Contains(msg, cfg.Token) || strings.Contains(msg, "\n") || len(msg) > 400 {
				t.Errorf("message leaks the token or is not one short line: %q", msg)
			}
		})
	}
}

// BenchmarkPostUpdate updates an existing sticky note each iteration (the
// body alternates so every post is a real PUT).
func BenchmarkPostUpdate(b *testing.B) {
	s := setup(b)
	f := newForge(b, config(s))
	if _, err := f.Post(b.Context(), report("seed", "")); err != nil {
		b.Fatal(err)
	}
	before := len(s.Requests())
	i := 0
	for ; b.Loop(); i++ {
		if _, err := f.Post(b.Context(), report("body "+strconv.Itoa(i%2), "")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.Requests())-before)/float64(i), "requests/post")
}

// A poster lists again after deleting, until a list shows one note. A
// fault stages a delete that answers 404 (as if a concurrent job had
// deleted the note) but leaves it.
func TestRecreateListsAgain(t *testing.T) {
	s := setup(t)
	s.AddNote(project, mrIID, bot, "old\n\n"+marker)
	s.FailNext("DELETE", "/projects/*/merge_requests/*/notes/*", 404, nil, 1)
	if _, err := newForge(t, config(s)).Post(t.Context(), report("new", forge.ModeRecreate)); err != nil {
		t.Fatalf("Post: %v", err)
	}
	notes := s.Notes(project, mrIID)
	if len(notes) != 1 || !strings.HasPrefix(notes[0].Body, "new") {
		t.Errorf("notes = %+v; want the one kept, holding the new report", notes)
	}
}
