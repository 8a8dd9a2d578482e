package fakefault

import (
	"slices"
	"testing"
)

func TestList(t *testing.T) {
	var l List
	if err := l.Add(Fault{Method: "post", Path: "/repos/*/comments", Status: 502, Times: 2}); err != nil {
		t.Fatal(err)
	}
	if err := l.Add(Fault{Status: 500}); err != nil {
		t.Fatal(err)
	}
	if err := l.Add(Fault{Path: "/a/[", Status: 500}); err == nil {
		t.Error("a malformed pattern was accepted")
	}
	steps := []struct {
		method, path string
		want         int // status, 0 for none
	}{
		{"GET", "/repos/o/comments", 500},  // method differs: the catch-all answers, once
		{"POST", "/repos/o/comments", 502}, // first of two
		{"POST", "/repos/o/r/comments", 0}, // * stops at /
		{"POST", "/repos/x/comments", 502}, // second of two
		{"POST", "/repos/x/comments", 0},   // used up
	}
	for _, s := range steps {
		got := 0
		if f := l.Take(s.method, s.path); f != nil {
			got = f.Status
		}
		if got != s.want {
			t.Errorf("%s %s: status %d, want %d", s.method, s.path, got, s.want)
		}
	}
	want := []string{"GET /repos/o/comments", "POST /repos/o/comments", "POST /repos/o/r/comments", "POST /repos/x/comments", "POST /repos/x/comments"}
	if got := l.Requests(); !slices.Equal(got, want) {
		t.Errorf("Requests = %v", got)
	}
}
