package tracker

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlci/mlci/internal/forge"
)

func TestKeyValidate(t *testing.T) {
	tests := []struct {
		name string
		key  Key
		ok   bool
	}{
		{name: "drift key", key: Drift("churn-v2"), ok: true},
		{name: "no name", key: Drift("")},
		{name: "no label", key: Key{Name: "x"}},
		{name: "comma in label", key: Key{Label: "a,b", Name: "x"}},
		{name: "name ends the comment", key: Drift("x -->")},
		{name: "name with a line break", key: Drift("x\ny")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.key.validate(); (err == nil) != tt.ok {
				t.Fatalf("validate(%+v) = %v, want ok=%v", tt.key, err, tt.ok)
			}
		})
	}
	if got := Drift("churn").Marker(); got != "<!-- mlci-drift:churn -->" {
		t.Fatalf("marker %q", got)
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		limit int
		cut   bool
	}{
		{name: "fits", body: "short", limit: 100},
		{name: "no limit", body: strings.Repeat("x", 500), limit: 0},
		{name: "exactly at the limit", body: strings.Repeat("x", 87), limit: 100},
		{name: "over, multibyte", body: strings.Repeat("é", 1000), limit: 300, cut: true},
	}
	const tail = "\n\n<!-- k -->"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := fit(tt.body, tail, tt.limit)
			if cut != tt.cut || !strings.HasSuffix(got, tail) || !utf8.ValidString(got) {
				t.Fatalf("cut=%v, ends %q", cut, got[max(len(got)-40, 0):])
			}
			if tt.limit > 0 && utf8.RuneCountInString(got) > tt.limit {
				t.Fatalf("%d characters, over %d", utf8.RuneCountInString(got), tt.limit)
			}
		})
	}
}

// memTracker is an in-memory forge whose list can lag a create.
type memTracker struct {
	issues []forge.Issue
	lag    int // the next lists leave out issues created after this many
	lists  int
}

func (m *memTracker) FindIssues(_ context.Context, label, marker string) ([]forge.Issue, error) {
	m.lists++
	var out []forge.Issue
	for i, is := range m.issues {
		if m.lag > 0 && i >= m.lag-1 {
			break
		}
		if strings.Contains(is.Body, marker) {
			out = append(out, is)
		}
	}
	return out, nil
}

func (m *memTracker) CreateIssue(_ context.Context, title, body string, labels []string) (forge.Issue, error) {
	i := forge.Issue{ID: int64(len(m.issues) + 1), Title: title, Body: body, Open: true, Labels: labels}
	m.issues = append(m.issues, i)
	return i, nil
}

func (m *memTracker) UpdateIssue(_ context.Context, id int64, title, body string) (forge.Issue, error) {
	m.issues[id-1].Title, m.issues[id-1].Body = title, body
	return m.issues[id-1], nil
}

func (m *memTracker) CommentIssue(context.Context, int64, string) error { return nil }

func (m *memTracker) CloseIssue(_ context.Context, id int64, _ bool) (forge.Issue, error) {
	m.issues[id-1].Open = false
	return m.issues[id-1], nil
}

func (m *memTracker) ReopenIssue(_ context.Context, id int64) (forge.Issue, error) {
	m.issues[id-1].Open = true
	return m.issues[id-1], nil
}

func (m *memTracker) MaxBodyChars() int { return 1000 }

// TestSyncListLag: when the list after a create does not show it yet, the
// created issue still counts and no second one is made.
func TestSyncListLag(t *testing.T) {
	m := &memTracker{lag: 1}
	res, err := Sync(t.Context(), m, Drift("churn"), "t", "b", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Created || res.Issue.ID != 1 || len(m.issues) != 1 || m.lists != 2 {
		t.Fatalf("got %s #%d, %d issues, %d lists", res.Action, res.Issue.ID, len(m.issues), m.lists)
	}
}

func TestSyncRefuses(t *testing.T) {
	tests := []struct {
		name  string
		key   Key
		title string
	}{
		{name: "no title", key: Drift("churn"), title: " "},
		{name: "bad key", key: Drift("a--b"), title: "t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memTracker{}
			if _, err := Sync(t.Context(), m, tt.key, tt.title, "b", true); err == nil || len(m.issues) != 0 {
				t.Fatalf("err %v, %d issues; want a refusal and nothing created", err, len(m.issues))
			}
		})
	}
}

func TestEnsureChangeRefuses(t *testing.T) {
	tests := []struct{ name, head, base, title string }{
		{name: "no head", head: "", base: "main", title: "t"},
		{name: "head is base", head: "main", base: "main", title: "t"},
		{name: "no title", head: "h", base: "main", title: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := EnsureChange(t.Context(), nil, tt.head, tt.base, tt.title, "b"); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
