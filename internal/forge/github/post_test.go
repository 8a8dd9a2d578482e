package github

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/githubfake"
)

func TestPostStatus(t *testing.T) {
	long := strings.Repeat("ü", 200)
	tests := []struct {
		name string
		r    forge.Report
		want githubfake.Status
	}{
		{"pass", forge.Report{ID: "r", Pass: true, Summary: "3/3 checks passed"},
			githubfake.Status{State: "success", Context: "mlci/gate", Description: "3/3 checks passed", TargetURL: runURL, Creator: "octocat"}},
		{"fail with a long summary", forge.Report{ID: "r", Summary: long},
			githubfake.Status{State: "failure", Context: "mlci/gate", Description: strings.Repeat("ü", 139) + "…", TargetURL: runURL, Creator: "octocat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			f := newForge(t, config(t, s, userToken, &sleeps{}))
			res, err := f.Post(context.Background(), tt.r)
			if err != nil || !res.Status {
				t.Fatalf("Post = %+v, %v", res, err)
			}
			if got := s.Statuses("o", "r", mergeSHA); len(got) != 0 {
				t.Errorf("status set on the merge commit: %+v", got)
			}
			got := s.Statuses("o", "r", headSHA)
			if diff := cmp.Diff([]githubfake.Status{tt.want}, got, cmpopts.IgnoreFields(githubfake.Status{}, "ID", "CreatedAt")); diff != "" {
				t.Errorf("statuses on the PR head (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostCheckRun(t *testing.T) {
	anns := make([]forge.Annotation, 60)
	for i := range anns {
		anns[i] = forge.Annotation{Path: "eval/metrics.json", Line: i + 1, Level: "failure", Title: "t", Message: fmt.Sprint("m", i)}
	}
	r := forge.Report{ID: "r", Body: "body", Summary: "accuracy dropped", Annotations: anns}
	t.Run("non-App token skips with a note", func(t *testing.T) {
		s := newFake(t)
		f := newForge(t, config(t, s, userToken, &sleeps{}))
		for range 2 {
			res, err := f.Post(context.Background(), r)
			if err != nil || res.Check || !res.Status {
				t.Fatalf("Post = %+v, %v", res, err)
			}
			want := []string{"check run skipped: the token cannot create check runs (only GitHub Apps can); the commit status was set"}
			if diff := cmp.Diff(want, res.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		}
		if n := count(s.Requests(), "POST", "/check-runs"); n != 1 {
			t.Errorf("%d check-run attempts, want 1 (the refusal is remembered)", n)
		}
	})
	t.Run("App token creates with chunked annotations", func(t *testing.T) {
		s := newFake(t)
		f := newForge(t, config(t, s, appToken, &sleeps{}))
		res, err := f.Post(context.Background(), r)
		if err != nil || !res.Check || len(res.Notes) != 0 {
			t.Fatalf("Post = %+v, %v", res, err)
		}
		reqs := s.Requests()
		if c, u := count(reqs, "POST", "/check-runs"), count(reqs, "PATCH", "/check-runs/"); c != 1 || u != 1 {
			t.Errorf("check-run creates %d, updates %d; want 1 and 1", c, u)
		}
		runs := s.CheckRuns("o", "r", headSHA)
		if len(runs) != 1 {
			t.Fatalf("check runs = %+v", runs)
		}
		cr := runs[0]
		if cr.Name != "mlci" || cr.Conclusion != "failure" || cr.Status != "completed" || cr.Title != "accuracy dropped" ||
			cr.Summary != "body" || cr.DetailsURL != runURL || len(cr.Annotations) != 60 || cr.Annotations[59].Message != "m59" {
			t.Errorf("check run = %+v", cr)
		}
	})
}

func TestPostRetries(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		headers   map[string]string
		wantWaits []time.Duration
	}{
		{"500 then success", 500, nil, []time.Duration{250 * time.Millisecond}},
		{"429 with Retry-After", 429, map[string]string{"Retry-After": "2"}, []time.Duration{2 * time.Second}},
		{"403 secondary rate limit", 403, map[string]string{"Retry-After": "5"}, []time.Duration{5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			rec := &sleeps{}
			f := newForge(t, config(t, s, userToken, rec))
			s.FailNext("POST", "/repos/o/r/issues/*/comments", tt.status, tt.headers, 1)
			if _, err := f.Post(context.Background(), forge.Report{ID: "r", Body: "x"}); err != nil {
				t.Fatal(err)
			}
			if n := len(s.Comments("o", "r", prNumber)); n != 1 {
				t.Errorf("%d comments, want 1", n)
			}
			if diff := cmp.Diff(tt.wantWaits, rec.waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostForkReadOnly(t *testing.T) {
	s := newFake(t)
	f := newForge(t, config(t, s, forkToken, &sleeps{}))
	res, err := f.Post(context.Background(), forge.Report{ID: "r", Body: "x"})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if res.Status || res.Check || res.CommentURL != "" || len(s.Comments("o", "r", prNumber)) != 0 {
		t.Errorf("result = %+v", res)
	}
	want := "the token cannot write to this pull request (a fork?); the report is in the step summary — see README for the workflow_run recipe"
	if !contains(res.Notes, want) {
		t.Errorf("notes = %q, want %q among them", res.Notes, want)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestPostErrors(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(*Config)
		fault    func(*githubfake.Server)
		r        forge.Report
		want     error
		contains []string
	}{
		{
			name:     "401 names GITHUB_TOKEN and hides the token",
			cfg:      func(c *Config) { c.Token = "ghp_revokedSECRETvalue0123456789" },
			want:     ErrUnauthorized,
			contains: []string{"GITHUB_TOKEN is invalid or expired", "HTTP 401"},
		},
		{
			name:     "404 asks about access",
			cfg:      func(c *Config) { c.Repository = "o/missing" },
			want:     ErrNotFound,
			contains: []string{"does the token have access to o/missing?", "HTTP 404"},
		},
		{
			name:     "5xx after retries",
			fault:    func(s *githubfake.Server) { s.FailNext("POST", "/repos/o/r/statuses/*", 502, nil, 5) },
			want:     ErrUnavailable,
			contains: []string{"after 5 attempts", "HTTP 502"},
		},
		{
			name: "rate limit wait beyond MaxWait",
			fault: func(s *githubfake.Server) {
				s.FailNext("", "/repos/o/r/statuses/*", 429, map[string]string{"Retry-After": "3600"}, 1)
			},
			want:     ErrUnavailable,
			contains: []string{"wait 1h0m0s", "retry after"},
		},
		{
			name:     "body over 65536 characters",
			r:        forge.Report{Body: strings.Repeat("x", MaxCommentLength)},
			want:     ErrTooLong,
			contains: []string{"shorten it"},
		},
		{
			name:     "unknown mode",
			r:        forge.Report{Mode: "sideways"},
			contains: []string{`unknown comment mode "sideways"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			cfg := config(t, s, userToken, &sleeps{})
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			if tt.fault != nil {
				tt.fault(s)
			}
			r := tt.r
			r.ID = "r"
			_, err := newForge(t, cfg).Post(context.Background(), r)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			for _, c := range tt.contains {
				if !strings.Contains(msg, c) {
					t.Errorf("error %q does not contain %q", msg, c)
				}
			}
			if strings.Contains(msg, cfg.Token) || strings.Contains(msg, "\n") {
				t.Errorf("error is not one scrubbed line: %q", msg)
			}
		})
	}
}
