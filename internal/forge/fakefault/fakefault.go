// Package fakefault is what the forge API fakes share for tests: a list of
// faults (answers given instead of the real one to the next requests that
// match a method and a path pattern) and the log of requests seen.
package fakefault

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
)

// Fault is an answer given instead of the real one, before authentication.
type Fault struct {
	Method  string            // "" matches any; compared case-insensitively
	Path    string            // path.Match pattern below the API base path; "" matches any
	Status  int               // HTTP status to answer
	Header  map[string]string // extra headers (Retry-After, X-RateLimit-Remaining…)
	Message string            // body message, where the fake uses one
	Times   int               // how many requests it answers; below 1 means 1
}

// List holds queued faults and the request log; the zero value is ready.
type List struct {
	mu       sync.Mutex
	faults   []*Fault
	requests []string
}

// Add queues f. A pattern path.Match cannot use is an error, so a test
// finds its typo instead of a fault that never fires.
func (l *List) Add(f Fault) error {
	if _, err := path.Match(f.Path, "/"); err != nil {
		return fmt.Errorf("fault path pattern %q: %w", f.Path, err)
	}
	f.Method = strings.ToUpper(f.Method)
	f.Times = max(f.Times, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, &f)
	return nil
}

// Take logs "METHOD p" and returns the first fault that answers it, using
// one of its times, or nil.
func (l *List) Take(method, p string) *Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, method+" "+p)
	for i, f := range l.faults {
		if f.Method != "" && f.Method != method {
			continue
		}
		if ok, _ := path.Match(f.Path, p); f.Path != "" && !ok {
			continue
		}
		if f.Times--; f.Times <= 0 {
			l.faults = slices.Delete(l.faults, i, i+1)
		}
		c := *f
		return &c
	}
	return nil
}

// Requests lists every request taken, oldest first.
func (l *List) Requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests)
}
