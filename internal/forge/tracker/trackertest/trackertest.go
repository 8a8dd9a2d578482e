// Package trackertest is the conformance suite for forge/tracker: every
// forge runs Run against its fake, so Sync and EnsureChange are tested over
// each forge's real client and API shapes.
package trackertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/tracker"
)

// Forge is what a forge implements for the suite.
type Forge interface {
	forge.IssueTracker
	forge.ChangeRequester
}

// Change is a pull or merge request as the fake holds it.
type Change struct {
	ID          int64
	Head, Base  string
	Title, Body string
	Open        bool
}

// Target says which requests Site.Fail hits.
type Target int

const (
	IssueWrites  Target = iota // creating an issue
	ChangeWrites               // opening a pull/merge request
)

// Site is one repository or project on a fake.
type Site interface {
	// Forge returns a client with its own caches, as a separate job would.
	Forge(t *testing.T) Forge
	// Issues reads every issue from the fake, by ID.
	Issues(t *testing.T) []forge.Issue
	// Comments reads the comments (notes) on an issue, oldest first.
	Comments(t *testing.T, id int64) []string
	// AddIssue seeds an issue and returns its ID.
	AddIssue(t *testing.T, title, body string, labels []string, open bool) int64
	// Changes reads every pull/merge request opened through the API, by ID.
	Changes(t *testing.T) []Change
	CloseChange(t *testing.T, id int64)
	// Fail makes the next times requests of target answer status.
	Fail(t *testing.T, target Target, status, times int)
}

// NewSite returns a fresh, empty site.
type NewSite func(t *testing.T) Site

// Run runs the suite.
func Run(t *testing.T, newSite NewSite) {
	t.Run("issue cycle", func(t *testing.T) { testCycle(t, newSite(t)) })
	t.Run("keys apart", func(t *testing.T) { testKeys(t, newSite(t)) })
	t.Run("closed issue reopened, not duplicated", func(t *testing.T) { testReopen(t, newSite(t)) })
	t.Run("duplicates closed", func(t *testing.T) { testDuplicates(t, newSite(t)) })
	t.Run("concurrent syncs leave one", func(t *testing.T) { testRace(t, newSite(t)) })
	t.Run("found on a later page", func(t *testing.T) { testPages(t, newSite(t)) })
	t.Run("unlabelled issue ignored", func(t *testing.T) { testUnlabelled(t, newSite(t)) })
	t.Run("5xx on create retried", func(t *testing.T) { testRetry(t, newSite(t)) })
	t.Run("long body cut", func(t *testing.T) { testLong(t, newSite(t)) })
	t.Run("change opened once then updated", func(t *testing.T) { testChange(t, newSite(t)) })
	t.Run("change exists already", func(t *testing.T) { testChangeExists(t, newSite(t)) })
	t.Run("concurrent changes leave one", func(t *testing.T) { testChangeRace(t, newSite(t)) })
	t.Run("closed change not reused", func(t *testing.T) { testChangeClosed(t, newSite(t)) })
	t.Run("5xx on open retried", func(t *testing.T) { testChangeRetry(t, newSite(t)) })
}

var churn = tracker.Drift("churn")

func sync1(t *testing.T, f Forge, key tracker.Key, body string, open bool) tracker.Result {
	t.Helper()
	res, err := tracker.Sync(t.Context(), f, key, "mlci drift: "+key.Name, body, open)
	if err != nil {
		t.Fatalf("Sync(%s, open=%v): %v", key.Name, open, err)
	}
	return res
}

// marked returns the site's issues carrying key's marker.
func marked(t *testing.T, s Site, key tracker.Key) []forge.Issue {
	t.Helper()
	var out []forge.Issue
	for _, i := range s.Issues(t) {
		if strings.Contains(i.Body, key.Marker()) {
			out = append(out, i)
		}
	}
	return out
}

func one(t *testing.T, s Site, key tracker.Key) forge.Issue {
	t.Helper()
	is := marked(t, s, key)
	if len(is) != 1 {
		t.Fatalf("%d issues carry %s, want 1: %+v", len(is), key.Marker(), is)
	}
	return is[0]
}

func testCycle(t *testing.T, s Site) {
	f := s.Forge(t)
	steps := []struct {
		name   string
		body   string
		open   bool
		action tracker.Action
		isOpen bool
	}{
		{name: "drift found", body: "PSI 0.31", open: true, action: tracker.Created, isOpen: true},
		{name: "same report again", body: "PSI 0.31", open: true, action: tracker.Unchanged, isOpen: true},
		{name: "new report", body: "PSI 0.40", open: true, action: tracker.Updated, isOpen: true},
		{name: "drift cleared", body: "Drift cleared: PSI 0.02", open: false, action: tracker.Closed, isOpen: false},
		{name: "still clear", body: "Drift cleared: PSI 0.01", open: false, action: tracker.None, isOpen: false},
		{name: "drift back", body: "PSI 0.50", open: true, action: tracker.Reopened, isOpen: true},
	}
	var id int64
	for _, st := range steps {
		res := sync1(t, f, churn, st.body, st.open)
		if res.Action != st.action {
			t.Fatalf("%s: action %s, want %s", st.name, res.Action, st.action)
		}
		got := one(t, s, churn)
		if id == 0 {
			id = got.ID
		}
		switch {
		case got.ID != id:
			t.Fatalf("%s: the issue is #%d, want #%d", st.name, got.ID, id)
		case got.Open != st.isOpen:
			t.Fatalf("%s: open=%v, want %v", st.name, got.Open, st.isOpen)
		case res.Issue.ID != id || res.URL() == "":
			t.Fatalf("%s: result names #%d at %q, want #%d with a URL", st.name, res.Issue.ID, res.URL(), id)
		case st.open && !strings.HasPrefix(got.Body, st.body):
			t.Fatalf("%s: body %q, want it to start with %q", st.name, got.Body, st.body)
		case got.Title != "mlci drift: churn":
			t.Fatalf("%s: title %q", st.name, got.Title)
		}
		if !hasLabel(got, tracker.DriftLabel) {
			t.Fatalf("%s: labels %v, want %s", st.name, got.Labels, tracker.DriftLabel)
		}
	}
	comments := s.Comments(t, id)
	if len(comments) != 1 || !strings.Contains(comments[0], "Drift cleared: PSI 0.02") {
		t.Fatalf("comments %q, want the one drift-cleared comment", comments)
	}
}

func hasLabel(i forge.Issue, l string) bool {
	for _, x := range i.Labels {
		if strings.EqualFold(x, l) {
			return true
		}
	}
	return false
}

func testKeys(t *testing.T, s Site) {
	f := s.Forge(t)
	a, ab := tracker.Drift("a"), tracker.Drift("ab")
	sync1(t, f, a, "a drifts", true)
	sync1(t, f, ab, "ab drifts", true)
	if res := sync1(t, f, a, "a is fine", false); res.Action != tracker.Closed {
		t.Fatalf("closing a: %s", res.Action)
	}
	if i := one(t, s, ab); !i.Open || !strings.HasPrefix(i.Body, "ab drifts") {
		t.Fatalf("ab was touched: %+v", i)
	}
	if i := one(t, s, a); i.Open {
		t.Fatalf("a is open: %+v", i)
	}
}

func testReopen(t *testing.T, s Site) {
	id := s.AddIssue(t, "mlci drift: churn", "old report\n\n"+churn.Marker(), []string{tracker.DriftLabel}, false)
	res := sync1(t, s.Forge(t), churn, "new report", true)
	if res.Action != tracker.Reopened || res.Issue.ID != id {
		t.Fatalf("got %s #%d, want reopened #%d", res.Action, res.Issue.ID, id)
	}
	if i := one(t, s, churn); !i.Open || !strings.HasPrefix(i.Body, "new report") {
		t.Fatalf("issue %+v, want open with the new report", i)
	}
}

func testDuplicates(t *testing.T, s Site) {
	body := "report\n\n" + churn.Marker()
	old := s.AddIssue(t, "mlci drift: churn", body, []string{tracker.DriftLabel}, true)
	dup := s.AddIssue(t, "mlci drift: churn", body, []string{tracker.DriftLabel}, true)
	res := sync1(t, s.Forge(t), churn, "report", true)
	if res.Issue.ID != old || len(res.Duplicates) != 1 || res.Duplicates[0] != dup {
		t.Fatalf("kept #%d, closed %v; want #%d kept, #%d closed", res.Issue.ID, res.Duplicates, old, dup)
	}
	for _, i := range marked(t, s, churn) {
		if i.Open != (i.ID == old) {
			t.Fatalf("issue #%d open=%v", i.ID, i.Open)
		}
	}
	if cs := s.Comments(t, dup); len(cs) != 1 || !strings.Contains(cs[0], fmt.Sprintf("#%d", old)) {
		t.Fatalf("duplicate's comments %q, want one naming #%d", cs, old)
	}
	// Closing the drift leaves the closed duplicate alone.
	if res := sync1(t, s.Forge(t), churn, "cleared", false); res.Action != tracker.Closed || res.Issue.ID != old {
		t.Fatalf("close: %s #%d", res.Action, res.Issue.ID)
	}
	// And the next drift reopens the oldest, not the duplicate.
	if res := sync1(t, s.Forge(t), churn, "again", true); res.Action != tracker.Reopened || res.Issue.ID != old {
		t.Fatalf("reopen: %s #%d", res.Action, res.Issue.ID)
	}
}

// testRace runs jobs that each find no issue and create one; every job
// ends pointing at the oldest, and only it stays open.
func testRace(t *testing.T, s Site) {
	const jobs = 6
	forges := make([]Forge, jobs)
	for i := range forges {
		forges[i] = s.Forge(t)
	}
	results := make([]tracker.Result, jobs)
	errs := make([]error, jobs)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = tracker.Sync(context.Background(), forges[i], churn, "mlci drift: churn", fmt.Sprintf("report %d", i), true)
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	all := marked(t, s, churn)
	t.Logf("%d concurrent syncs created %d issues", jobs, len(all))
	var open []forge.Issue
	for _, i := range all {
		if i.Open {
			open = append(open, i)
		}
	}
	if len(open) != 1 {
		t.Fatalf("%d open issues after %d concurrent syncs, want 1: %+v", len(open), jobs, open)
	}
	for i, r := range results {
		if r.Issue.ID != open[0].ID {
			t.Errorf("job %d ended on #%d (%s), want #%d", i, r.Issue.ID, r.Action, open[0].ID)
		}
	}
	// The next sync finds nothing to settle.
	if res := sync1(t, s.Forge(t), churn, "settled", true); res.Issue.ID != open[0].ID || len(res.Duplicates) != 0 {
		t.Fatalf("next sync: #%d, duplicates %v", res.Issue.ID, res.Duplicates)
	}
}

// testPages puts the issue behind more than a page of other drift issues.
func testPages(t *testing.T, s Site) {
	for i := range 130 {
		k := tracker.Drift(fmt.Sprintf("model-%03d", i))
		s.AddIssue(t, "mlci drift: "+k.Name, "x\n\n"+k.Marker(), []string{tracker.DriftLabel}, i%2 == 0)
	}
	k := tracker.Drift("model-129")
	res := sync1(t, s.Forge(t), k, "found", true)
	if res.Action != tracker.Reopened && res.Action != tracker.Updated {
		t.Fatalf("action %s: the issue on a later page was missed", res.Action)
	}
	one(t, s, k)
}

func testUnlabelled(t *testing.T, s Site) {
	// Someone pasted the marker into an issue of their own, without the
	// label: it is not the key's issue.
	other := s.AddIssue(t, "copied", "see "+churn.Marker(), nil, true)
	res := sync1(t, s.Forge(t), churn, "report", true)
	if res.Action != tracker.Created || res.Issue.ID == other {
		t.Fatalf("got %s #%d, want a new issue", res.Action, res.Issue.ID)
	}
}

func testRetry(t *testing.T, s Site) {
	s.Fail(t, IssueWrites, 502, 1)
	if res := sync1(t, s.Forge(t), churn, "report", true); res.Action != tracker.Created {
		t.Fatalf("action %s", res.Action)
	}
	one(t, s, churn)
}

// testLong sends a body over the forge's limit: it is cut with a note and
// keeps its marker, so the next sync finds it.
func testLong(t *testing.T, s Site) {
	f := s.Forge(t)
	limit := f.MaxBodyChars()
	body := strings.Repeat("é", limit+100)
	res := sync1(t, f, churn, body, true)
	if !res.Truncated || res.Action != tracker.Created {
		t.Fatalf("got %s truncated=%v", res.Action, res.Truncated)
	}
	got := one(t, s, churn)
	if n := utf8.RuneCountInString(got.Body); n > limit || !strings.HasSuffix(got.Body, churn.Marker()) || !strings.Contains(got.Body, "limit") {
		t.Fatalf("stored body: %d characters, ends %q", n, got.Body[max(len(got.Body)-200, 0):])
	}
	if res := sync1(t, f, churn, body, true); res.Action != tracker.Unchanged {
		t.Fatalf("second sync of the long body: %s", res.Action)
	}
}

func ensure(t *testing.T, c forge.ChangeRequester, head, base, body string) tracker.ChangeResult {
	t.Helper()
	res, err := tracker.EnsureChange(t.Context(), c, head, base, "Refit churn", body)
	if err != nil {
		t.Fatalf("EnsureChange(%s→%s): %v", head, base, err)
	}
	return res
}

func openChanges(t *testing.T, s Site, head, base string) []Change {
	var out []Change
	for _, c := range s.Changes(t) {
		if c.Open && c.Head == head && c.Base == base {
			out = append(out, c)
		}
	}
	return out
}

func testChange(t *testing.T, s Site) {
	f := s.Forge(t)
	steps := []struct {
		name   string
		base   string
		body   string
		action tracker.Action
	}{
		{name: "first refit", base: "main", body: "refit 1", action: tracker.Created},
		{name: "same again", base: "main", body: "refit 1", action: tracker.Unchanged},
		{name: "new refit", base: "main", body: "refit 2", action: tracker.Updated},
		{name: "another base", base: "release", body: "refit 2", action: tracker.Created},
	}
	for _, st := range steps {
		res := ensure(t, f, "mlci/refit-churn", st.base, st.body)
		if res.Action != st.action || res.Change.URL == "" || res.Change.ID == 0 {
			t.Fatalf("%s: %s #%d %q, want %s", st.name, res.Action, res.Change.ID, res.Change.URL, st.action)
		}
		cs := openChanges(t, s, "mlci/refit-churn", st.base)
		if len(cs) != 1 || cs[0].ID != res.Change.ID || cs[0].Body != st.body {
			t.Fatalf("%s: open changes %+v, want #%d with %q", st.name, cs, res.Change.ID, st.body)
		}
	}
}

// missFirst hides the open change from the first look, as when another
// job opens it between EnsureChange's look and its open.
type missFirst struct {
	forge.ChangeRequester
	mu     sync.Mutex
	missed bool
}

func (m *missFirst) FindOpenChange(ctx context.Context, head, base string) (forge.Change, bool, error) {
	m.mu.Lock()
	miss := !m.missed
	m.missed = true
	m.mu.Unlock()
	if miss {
		return forge.Change{}, false, nil
	}
	return m.ChangeRequester.FindOpenChange(ctx, head, base)
}

func testChangeExists(t *testing.T, s Site) {
	f := s.Forge(t)
	first := ensure(t, f, "mlci/refit-churn", "main", "one")
	_, err := f.OpenChange(t.Context(), "mlci/refit-churn", "main", "Refit churn", "two")
	if !errors.Is(err, forge.ErrChangeExists) {
		t.Fatalf("second OpenChange: %v, want forge.ErrChangeExists", err)
	}
	res := ensure(t, &missFirst{ChangeRequester: f}, "mlci/refit-churn", "main", "two")
	if res.Action != tracker.Updated || res.Change.ID != first.Change.ID {
		t.Fatalf("got %s #%d, want #%d updated", res.Action, res.Change.ID, first.Change.ID)
	}
	if cs := openChanges(t, s, "mlci/refit-churn", "main"); len(cs) != 1 || cs[0].Body != "two" {
		t.Fatalf("open changes %+v", cs)
	}
}

func testChangeRace(t *testing.T, s Site) {
	const jobs = 6
	var wg sync.WaitGroup
	errs := make([]error, jobs)
	forges := make([]Forge, jobs)
	for i := range forges {
		forges[i] = s.Forge(t)
	}
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = tracker.EnsureChange(context.Background(), forges[i], "mlci/refit-churn", "main", "Refit churn", fmt.Sprintf("refit %d", i))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if cs := s.Changes(t); len(cs) != 1 {
		t.Fatalf("%d changes after %d concurrent jobs, want 1: %+v", len(cs), jobs, cs)
	}
}

func testChangeClosed(t *testing.T, s Site) {
	f := s.Forge(t)
	first := ensure(t, f, "mlci/refit-churn", "main", "one")
	s.CloseChange(t, first.Change.ID)
	res := ensure(t, f, "mlci/refit-churn", "main", "two")
	if res.Action != tracker.Created || res.Change.ID == first.Change.ID {
		t.Fatalf("got %s #%d, want a new change", res.Action, res.Change.ID)
	}
}

func testChangeRetry(t *testing.T, s Site) {
	s.Fail(t, ChangeWrites, 503, 1)
	if res := ensure(t, s.Forge(t), "mlci/refit-churn", "main", "one"); res.Action != tracker.Created {
		t.Fatalf("action %s", res.Action)
	}
	if cs := s.Changes(t); len(cs) != 1 {
		t.Fatalf("%d changes, want 1", len(cs))
	}
}
