// Package stickytest is the conformance suite for sticky comments: every
// forge runs Run against its fake, as restic's backends run backend/test.
package stickytest

import (
	"context"
	"flag"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge"
)

// The race tests' size: every mode runs rounds rounds of posters at once
// on one thread. -short caps rounds at 3; -sticky.rounds=200 soaks.
var (
	posters = flag.Int("sticky.posters", 8, "concurrent posters per round in the sticky race tests")
	rounds  = flag.Int("sticky.rounds", 20, "rounds per comment mode in the sticky race tests")
)

// ReportID names the report every post of the suite carries.
const ReportID = "stickytest"

// Comment is a comment as the fake holds it.
type Comment struct {
	ID   int64
	Mine bool // written by the posters' token
	Body string
	URL  string // what Result.CommentURL says for it
}

// Thread is one pull request, merge request or commit on a fake.
type Thread interface {
	// Poster returns a forge posting here with its own client and caches,
	// as a separate CI job would.
	Poster(t *testing.T) forge.Forge
	// Comments reads every comment on the thread from the fake, oldest first.
	Comments(t *testing.T) []Comment
	// Add seeds a comment, by the posters' token when mine.
	Add(t *testing.T, mine bool, body string)
}

// NewThread returns a fresh thread with no comments.
type NewThread func(t *testing.T) Thread

// Run runs the suite. Races are rare against a fake that answers at once:
// give posters a transport like Jitter.
func Run(t *testing.T, newThread NewThread) {
	t.Run("update edits in place", func(t *testing.T) { testUpdate(t, newThread(t)) })
	t.Run("recreate moves to the bottom", func(t *testing.T) { testRecreate(t, newThread(t)) })
	t.Run("append adds one each time", func(t *testing.T) { testAppend(t, newThread(t)) })
	t.Run("off leaves the thread alone", func(t *testing.T) { testOff(t, newThread(t)) })
	t.Run("others' comments are left alone", func(t *testing.T) { testOthers(t, newThread(t)) })
	t.Run("found on a later page", func(t *testing.T) { testPages(t, newThread(t)) })
	t.Run("duplicates collapse", func(t *testing.T) { testDuplicates(t, newThread(t)) })
	for _, mode := range append(forge.Modes(), mixed) {
		t.Run("race/"+mode, func(t *testing.T) {
			t.Parallel()
			testRace(t, newThread(t), mode)
		})
	}
}

// Jitter delays each request by up to upTo, so concurrent posters
// interleave differently every round. A nil base is http.DefaultTransport.
func Jitter(base http.RoundTripper, upTo time.Duration) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t := time.NewTimer(rand.N(upTo))
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-t.C:
		}
		return base.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Marker is the hidden line the suite's posts carry.
func Marker() string { return forge.Marker(ReportID) }

func post(t *testing.T, f forge.Forge, mode, body string) forge.Result {
	t.Helper()
	res, err := f.Post(t.Context(), forge.Report{ID: ReportID, Body: body, Mode: mode, Pass: true, Summary: "stickytest"})
	if err != nil {
		t.Fatalf("Post(%s, %q): %v", mode, body, err)
	}
	return res
}

// sticky returns the posters' comments that carry the marker, oldest first.
func sticky(cs []Comment) []Comment {
	var out []Comment
	for _, c := range cs {
		if c.Mine && strings.Contains(c.Body, Marker()) {
			out = append(out, c)
		}
	}
	return out
}

// one returns the only sticky comment, failing the test when there is not
// exactly one.
func one(t *testing.T, th Thread) Comment {
	t.Helper()
	s := sticky(th.Comments(t))
	if len(s) != 1 {
		t.Fatalf("%d sticky comments, want 1: %+v", len(s), s)
	}
	return s[0]
}

// holds reports whether c is the report body as posted.
func holds(c Comment, body string) bool {
	return strings.HasPrefix(c.Body, body+"\n") && strings.HasSuffix(strings.TrimSpace(c.Body), Marker())
}

func testUpdate(t *testing.T, th Thread) {
	f := th.Poster(t)
	th.Add(t, false, "chatter")
	r1 := post(t, f, forge.ModeUpdate, "one")
	c1 := one(t, th)
	if !holds(c1, "one") || r1.CommentURL != c1.URL || r1.Unchanged {
		t.Fatalf("first post: result %+v, comment %+v", r1, c1)
	}
	r2 := post(t, th.Poster(t), forge.ModeUpdate, "two")
	c2 := one(t, th)
	if c2.ID != c1.ID || !holds(c2, "two") || r2.CommentURL != c1.URL || r2.Unchanged {
		t.Fatalf("second post did not edit comment %d: result %+v, comment %+v", c1.ID, r2, c2)
	}
	before := th.Comments(t)
	r3 := post(t, f, forge.ModeUpdate, "two")
	if !r3.Unchanged || r3.CommentURL != c1.URL {
		t.Errorf("same body again: result %+v, want Unchanged at %s", r3, c1.URL)
	}
	if after := th.Comments(t); !slices.Equal(after, before) {
		t.Errorf("same body again changed the thread:\nbefore %+v\nafter  %+v", before, after)
	}
}

func testRecreate(t *testing.T, th Thread) {
	post(t, th.Poster(t), forge.ModeUpdate, "one")
	th.Add(t, false, "chatter")
	res := post(t, th.Poster(t), forge.ModeRecreate, "two")
	all := th.Comments(t)
	c := one(t, th)
	if last := all[len(all)-1]; last != c || !holds(c, "two") || res.CommentURL != c.URL {
		t.Errorf("result %+v; comments %+v; want the report last", res, all)
	}
}

func testAppend(t *testing.T, th Thread) {
	f := th.Poster(t)
	post(t, f, forge.ModeUpdate, "one")
	r2 := post(t, f, forge.ModeAppend, "two")
	r3 := post(t, th.Poster(t), forge.ModeAppend, "three")
	s := sticky(th.Comments(t))
	if len(s) != 3 || !holds(s[0], "one") || !holds(s[1], "two") || !holds(s[2], "three") ||
		r2.CommentURL != s[1].URL || r3.CommentURL != s[2].URL {
		t.Errorf("results %+v, %+v; comments %+v", r2, r3, s)
	}
}

func testOff(t *testing.T, th Thread) {
	th.Add(t, true, "old\n\n"+Marker())
	before := th.Comments(t)
	res := post(t, th.Poster(t), forge.ModeOff, "new")
	if after := th.Comments(t); !slices.Equal(after, before) || res.CommentURL != "" {
		t.Errorf("result %+v; comments %+v, want %+v", res, after, before)
	}
}

func testOthers(t *testing.T, th Thread) {
	th.Add(t, false, "quoted\n\n"+Marker())
	for _, mode := range []string{forge.ModeUpdate, forge.ModeRecreate} {
		post(t, th.Poster(t), mode, mode)
		all := th.Comments(t)
		if c := one(t, th); !holds(c, mode) || all[0].Mine || !holds(all[0], "quoted") {
			t.Errorf("after %s: comments %+v", mode, all)
		}
	}
}

func testPages(t *testing.T, th Thread) {
	for i := range 150 {
		th.Add(t, i%2 == 0, "chatter")
	}
	th.Add(t, true, "old\n\n"+Marker())
	for i := range 80 {
		th.Add(t, i%2 == 0, "chatter")
	}
	old := one(t, th)
	res := post(t, th.Poster(t), forge.ModeUpdate, "new")
	c := one(t, th)
	if c.ID != old.ID || !holds(c, "new") || res.CommentURL != c.URL || len(th.Comments(t)) != 231 {
		t.Errorf("result %+v; comment %+v, want comment %d edited", res, c, old.ID)
	}
}

func testDuplicates(t *testing.T, th Thread) {
	th.Add(t, true, "a\n\n"+Marker())
	th.Add(t, true, "b\n\n"+Marker())
	res := post(t, th.Poster(t), forge.ModeUpdate, "c")
	if c := one(t, th); !holds(c, "c") || res.CommentURL != c.URL {
		t.Errorf("result %+v; comment %+v", res, c)
	}
}

// mixed races update and recreate posters: jobs of one report may differ
// in mode, and must still leave one comment.
const mixed = "mixed"

// testRace runs rounds of concurrent posters on one thread and checks what
// mode promises after each: update and recreate leave exactly one sticky
// comment holding one of the round's reports (update: the same comment as
// before, when there was one; recreate: newer than anything before the
// round; mixed: both, with a recreate among the posters); append adds one
// comment per poster; off changes nothing. No mode touches others' comments.
func testRace(t *testing.T, th Thread, mode string) {
	th.Add(t, false, "quoted\n\n"+Marker())
	th.Add(t, false, "chatter")
	n := *rounds
	if testing.Short() {
		n = min(n, 3)
	}
	for round := range n {
		before := th.Comments(t)
		bodies := make([]string, *posters)
		for i := range bodies {
			bodies[i] = "round " + strconv.Itoa(round) + " poster " + strconv.Itoa(i)
		}
		modes := make([]string, len(bodies))
		for i := range modes {
			modes[i] = mode
			if mode == mixed {
				modes[i] = []string{forge.ModeUpdate, forge.ModeRecreate}[(round+i)%2]
			}
		}
		res := postAll(t, th, modes, bodies)
		after := th.Comments(t)
		if !slices.Equal(others(after), others(before)) {
			t.Fatalf("round %d: others' comments changed:\nbefore %+v\nafter  %+v", round, others(before), others(after))
		}
		for i, r := range res {
			if (mode == forge.ModeOff) != (r.CommentURL == "") {
				t.Errorf("round %d poster %d: CommentURL %q", round, i, r.CommentURL)
			}
		}
		prev, now := sticky(before), sticky(after)
		switch mode {
		case forge.ModeOff:
			if !slices.Equal(after, before) {
				t.Fatalf("round %d: off changed the thread:\nbefore %+v\nafter  %+v", round, before, after)
			}
		case forge.ModeAppend:
			if len(now) != len(prev)+len(bodies) || !slices.Equal(now[:len(prev)], prev) {
				t.Fatalf("round %d: %d sticky comments, want the %d before and %d new: %+v", round, len(now), len(prev), len(bodies), now)
			}
			for _, b := range bodies {
				if n := count(now[len(prev):], b); n != 1 {
					t.Fatalf("round %d: %q posted %d times, want 1: %+v", round, b, n, now)
				}
			}
		default:
			if len(now) != 1 {
				t.Fatalf("round %d: %d sticky comments, want 1: %+v", round, len(now), now)
			}
			c := now[0]
			if count(now, bodies...) != 1 {
				t.Fatalf("round %d: the sticky comment holds none of the round's reports: %+v", round, c)
			}
			if mode == forge.ModeUpdate && len(prev) == 1 && c.ID != prev[0].ID {
				t.Fatalf("round %d: update replaced comment %d with %d instead of editing it", round, prev[0].ID, c.ID)
			}
			if (mode == forge.ModeRecreate || mode == mixed && len(bodies) > 1) && c.ID <= before[len(before)-1].ID {
				t.Fatalf("round %d: recreate left comment %d, not newer than the thread's last before the round (%d)", round, c.ID, before[len(before)-1].ID)
			}
			if mode == forge.ModeUpdate {
				testRepeat(t, th, round, c)
			}
		}
	}
}

// testRepeat has every poster send the body the sticky comment already
// holds: none may write.
func testRepeat(t *testing.T, th Thread, round int, c Comment) {
	body, _, _ := strings.Cut(c.Body, "\n\n"+Marker())
	bodies := make([]string, *posters)
	for i := range bodies {
		bodies[i] = body
	}
	before := th.Comments(t)
	modes := make([]string, len(bodies))
	for i := range modes {
		modes[i] = forge.ModeUpdate
	}
	for i, r := range postAll(t, th, modes, bodies) {
		if !r.Unchanged || r.CommentURL != c.URL {
			t.Errorf("round %d repeat, poster %d: result %+v, want Unchanged at %s", round, i, r, c.URL)
		}
	}
	if after := th.Comments(t); !slices.Equal(after, before) {
		t.Fatalf("round %d: repeating the body changed the thread:\nbefore %+v\nafter  %+v", round, before, after)
	}
}

// postAll posts bodies[i] in modes[i] from poster i, all at once, each a
// separate job.
func postAll(t *testing.T, th Thread, modes, bodies []string) []forge.Result {
	t.Helper()
	fs := make([]forge.Forge, len(bodies))
	for i := range fs {
		fs[i] = th.Poster(t)
	}
	res := make([]forge.Result, len(bodies))
	errs := make([]error, len(bodies))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := make(chan struct{})
	done := make(chan struct{})
	for i, f := range fs {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			res[i], errs[i] = f.Post(ctx, forge.Report{ID: ReportID, Body: bodies[i], Mode: modes[i], Pass: true, Summary: "stickytest"})
		}()
	}
	close(start)
	for range fs {
		<-done
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("poster %d (%s, %q): %v", i, modes[i], bodies[i], err)
		}
	}
	return res
}

func others(cs []Comment) []Comment {
	var out []Comment
	for _, c := range cs {
		if !c.Mine {
			out = append(out, c)
		}
	}
	return out
}

// count counts the comments that hold one of bodies.
func count(cs []Comment, bodies ...string) int {
	n := 0
	for _, c := range cs {
		for _, b := range bodies {
			if holds(c, b) {
				n++
				break
			}
		}
	}
	return n
}
