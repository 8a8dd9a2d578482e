// Package registerfake fakes the runner endpoints of the GitHub and GitLab
// REST APIs for tests: stateful, with tokens, pagination and injected
// faults, mounted under /api/v3/ and /api/v4/ so a client that builds an
// absolute path fails loudly.
package registerfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mlci/mlci/internal/forge/fakefault"
)

// Fault is an answer given instead of the real one, before authentication;
// its Message may hold "{token}", which becomes the request's token, to test
// that clients scrub it.
type Fault = fakefault.Fault

// common is what both fakes have: the test, the faults, the request log
// and whether registrations answer without their secret.
type common struct {
	t      testing.TB
	faults fakefault.List

	secretMu  sync.Mutex // guards withholdN; the fakes' own mu guards their state
	withholdN int
}

// WithholdSecret makes the next registration create its runner but answer
// without the JIT config (GitHub) or runner token (GitLab), as a proxy that
// strips fields or a broken server might: the client is left holding a
// runner it cannot start.
func (c *common) WithholdSecret() {
	c.secretMu.Lock()
	defer c.secretMu.Unlock()
	c.withholdN++
}

// withhold reports whether this registration's secret is withheld.
func (c *common) withhold() bool {
	c.secretMu.Lock()
	defer c.secretMu.Unlock()
	if c.withholdN == 0 {
		return false
	}
	c.withholdN--
	return true
}

// Fail injects a fault.
func (c *common) Fail(f Fault) {
	if err := c.faults.Add(f); err != nil {
		c.t.Fatalf("registerfake: %v", err)
	}
}

// Requests lists "METHOD /path" (without the API base path and the query),
// oldest first.
func (c *common) Requests() []string { return c.faults.Requests() }

// guard answers a request with a queued fault, or 401/403 by its token,
// before the API sees it.
type guard struct {
	base            string
	faults          *fakefault.List
	token           func(*http.Request) string
	allowed         func(tok string) (known, allowed bool)
	unknown, denied string // messages of the 401 and the 403
}

func (g guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := "/" + strings.TrimPrefix(r.URL.Path, g.base)
		tok := g.token(r)
		if f := g.faults.Take(r.Method, p); f != nil {
			writeFault(w, f, tok)
			return
		}
		switch known, ok := g.allowed(tok); {
		case !known:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": g.unknown})
		case !ok:
			writeJSON(w, http.StatusForbidden, map[string]string{"message": g.denied})
		default:
			next.ServeHTTP(w, r)
		}
	})
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
