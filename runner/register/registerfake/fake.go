// Package registerfake fakes the runner endpoints of the GitHub and GitLab
// REST APIs for tests: stateful, with tokens, pagination and injected
// faults, mounted under /api/v3/ and /api/v4/ so a client that builds an
// absolute path fails loudly.
package registerfake

import (
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Fault is an answer given instead of the real one, before authentication.
type Fault struct {
	Method  string            // "" matches any
	Path    string            // path.Match pattern under the base path, e.g. /orgs/*/actions/runners; "" matches any
	Status  int               // HTTP status to answer
	Header  map[string]string // extra headers (Retry-After, X-RateLimit-Remaining…)
	Message string            // body message; "{token}" becomes the request's token, to test scrubbing
	Times   int               // how many requests it answers; below 1 means 1
}

// faults is the shared fault list and request log of both fakes.
type faults struct {
	mu       sync.Mutex
	list     []*Fault
	requests []string
}

func (f *faults) add(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft.Method = strings.ToUpper(ft.Method)
	ft.Times = max(ft.Times, 1)
	f.list = append(f.list, &ft)
}

// take logs the request and returns the fault that answers it, if any.
func (f *faults) take(method, p string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, method+" "+p)
	for i, ft := range f.list {
		if ft.Method != "" && ft.Method != method {
			continue
		}
		if ok, _ := path.Match(ft.Path, p); ft.Path != "" && !ok {
			continue
		}
		if ft.Times--; ft.Times <= 0 {
			f.list = slices.Delete(f.list, i, i+1)
		}
		c := *ft
		return &c
	}
	return nil
}

func (f *faults) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// mount serves api under base and fails the test for anything outside it.
func mount(t testing.TB, base string, api http.Handler) http.Handler {
	root := http.NewServeMux()
	root.Handle(base, http.StripPrefix(strings.TrimSuffix(base, "/"), api))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("registerfake: %s %s is outside %s; the client built an absolute path", r.Method, r.URL.Path, base)
		http.Error(w, "outside the API base path", http.StatusNotFound)
	})
	return root
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeFault(w http.ResponseWriter, f *Fault, token string) {
	for k, v := range f.Header {
		w.Header().Set(k, v)
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	writeJSON(w, f.Status, map[string]string{"message": strings.ReplaceAll(msg, "{token}", token)})
}
