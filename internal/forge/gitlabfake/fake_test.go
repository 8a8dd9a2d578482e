package gitlabfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestServer(t *testing.T) {
	s := New(t)
	s.AddToken("rw", "bot", true)
	s.AddToken("ro", "reader", false)
	s.AddMergeRequest("g/p", 1, "abc")
	for range 45 {
		s.AddNote("g/p", 1, "alice", "hi")
	}
	s.FailNext("GET", "/projects/*/merge_requests/1/notes/*", 502, map[string]string{"Retry-After": "3"}, 2)
	notes := "/projects/g%2Fp/merge_requests/1/notes"

	tests := []struct {
		name, method, path, auth, body string
		wantStatus                     int
		wantBody                       string            // a substring
		wantHeader                     map[string]string // exact values
	}{
		{"no token", "GET", "/user", "", "", 401, `{"message":"401 Unauthorized"}`, nil},
		{"bad token", "GET", "/user", "PRIVATE-TOKEN: nope", "", 401, `{"message":"401 Unauthorized"}`, nil},
		{"private token", "GET", "/user", "PRIVATE-TOKEN: rw", "", 200, `"username":"bot"`, nil},
		{"job token", "GET", "/user", "JOB-TOKEN: ro", "", 200, `"username":"reader"`, nil},
		{"bearer", "GET", "/user", "Authorization: Bearer rw", "", 200, `"username":"bot"`, nil},
		{"page 3 of 3", "GET", notes + "?per_page=20&page=3&sort=asc", "PRIVATE-TOKEN: ro", "", 200, `"noteable_iid":1`,
			map[string]string{"X-Page": "3", "X-Per-Page": "20", "X-Total": "45", "X-Total-Pages": "3", "X-Next-Page": "", "X-Prev-Page": "2"}},
		{"default and max per_page", "GET", notes + "?per_page=500", "PRIVATE-TOKEN: ro", "", 200, "",
			map[string]string{"X-Per-Page": "100", "X-Total-Pages": "1", "X-Page": "1"}},
		{"default per_page is 20", "GET", notes, "PRIVATE-TOKEN: ro", "", 200, "", map[string]string{"X-Per-Page": "20", "X-Next-Page": "2"}},
		{"project by id", "GET", "/projects/1/merge_requests/1", "PRIVATE-TOKEN: ro", "", 200, `"sha":"abc"`, nil},
		{"unknown project", "GET", "/projects/g%2Fq/merge_requests/1/notes", "PRIVATE-TOKEN: ro", "", 404, `{"message":"404 Not found"}`, nil},
		{"unknown merge request", "GET", "/projects/1/merge_requests/2/notes", "PRIVATE-TOKEN: ro", "", 404, `404 Not found`, nil},
		{"fault 1", "GET", notes + "/1", "PRIVATE-TOKEN: ro", "", 502, `502 Bad Gateway`, map[string]string{"Retry-After": "3"}},
		{"fault 2", "GET", notes + "/2", "", "", 502, `502 Bad Gateway`, nil},
		{"unknown note", "GET", notes + "/999", "PRIVATE-TOKEN: ro", "", 404, `404 Not found`, nil},
		{"read-only write", "POST", notes, "PRIVATE-TOKEN: ro", `{"body":"x"}`, 403, `{"message":"403 Forbidden"}`, nil},
		{"create", "POST", notes, "PRIVATE-TOKEN: rw", `{"body":"x"}`, 201, `"body":"x"`, nil},
		{"form body", "POST", notes, "PRIVATE-TOKEN: rw", "body=y", 201, `"body":"y"`, nil},
		{"too long", "POST", notes, "PRIVATE-TOKEN: rw", `{"body":"` + strings.Repeat("é", MaxNoteChars+1) + `"}`, 400,
			`{"message":{"note":["is too long (maximum is 1000000 characters)"]}}`, nil},
		{"edit another's note", "PUT", notes + "/4", "PRIVATE-TOKEN: rw", `{"body":"z"}`, 403, "403 Forbidden", nil},
		{"status", "POST", "/projects/g%2Fp/statuses/abc", "PRIVATE-TOKEN: rw", `{"state":"success","name":"mlci/gate"}`, 201, `"status":"success"`, nil},
		{"bad state", "POST", "/projects/g%2Fp/statuses/abc", "PRIVATE-TOKEN: rw", `{"state":"green"}`, 400, "state", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, s.URL()+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if k, v, ok := strings.Cut(tc.auth, ": "); ok {
				req.Header.Set(k, v)
			}
			if strings.HasPrefix(tc.body, "{") {
				req.Header.Set("Content-Type", "application/json")
			} else if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(b), tc.wantBody) {
				t.Errorf("%d %.300s, want %d containing %q", resp.StatusCode, b, tc.wantStatus, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}

	if n := len(s.Notes("g/p", 1)); n != 47 {
		t.Errorf("%d notes, want 47", n)
	}
	if st := s.Statuses("1", "abc"); len(st) != 1 || st[0].Name != "mlci/gate" || st[0].Author.Username != "bot" {
		t.Errorf("statuses = %+v", st)
	}
	if r := s.Requests(); r[0] != "GET /user" || r[len(r)-1] != "POST /projects/g%2Fp/statuses/abc" {
		t.Errorf("requests = %q", r)
	}
}

func TestLinkHeader(t *testing.T) {
	s := New(t)
	s.AddToken("ro", "reader", false)
	s.AddMergeRequest("g/p", 1, "abc")
	for range 45 {
		s.AddNote("g/p", 1, "alice", "hi")
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL()+"/projects/g%2Fp/merge_requests/1/notes?page=2", nil)
	req.Header.Set("PRIVATE-TOKEN", "ro")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []Note
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got) != 20 {
		t.Fatalf("%d notes, %v", len(got), err)
	}
	if got[0].ID < got[1].ID {
		t.Error("default order is not newest first")
	}
	rels := map[string]string{}
	for _, l := range strings.Split(resp.Header.Get("Link"), ", ") {
		u, rel, _ := strings.Cut(l, "; ")
		pu, err := url.Parse(strings.Trim(u, "<>"))
		if err != nil {
			t.Fatal(err)
		}
		if pu.EscapedPath() != "/api/v4/projects/g%2Fp/merge_requests/1/notes" {
			t.Errorf("link path %q", pu.EscapedPath())
		}
		rels[rel] = pu.Query().Get("page")
	}
	want := map[string]string{`rel="next"`: "3", `rel="prev"`: "1", `rel="first"`: "1", `rel="last"`: "3"}
	for k, v := range want {
		if rels[k] != v {
			t.Errorf("Link %s page %q, want %q (all: %v)", k, rels[k], v, rels)
		}
	}
}
