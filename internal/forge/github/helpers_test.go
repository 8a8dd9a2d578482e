package github

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/retry"
)

const (
	userToken = "ghp_user0123456789abcdefSECRET"
	appToken  = "ghs_app0123456789abcdefSECRET"
	forkToken = "ghs_fork0123456789abcdefSECRET"
	headSHA   = "1111111111111111111111111111111111111111"
	mergeSHA  = "2222222222222222222222222222222222222222"
	pushSHA   = "3333333333333333333333333333333333333333"
	prNumber  = 7
	runURL    = "https://github.example/o/r/actions/runs/42"
)

// newFake returns a fake with repo o/r, open PR #7 at headSHA, and a user,
// an App and a fork (read-only App) token.
func newFake(t testing.TB) *githubfake.Server {
	t.Helper()
	s := githubfake.New(t)
	s.AddToken(userToken, "octocat", true, false)
	s.AddToken(appToken, "github-actions[bot]", true, true)
	s.AddToken(forkToken, "github-actions[bot]", false, true)
	s.AddPullRequest("o", "r", prNumber, headSHA, "open")
	return s
}

// sleeps records the retry transport's waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.d = append(r.d, d)
	return ctx.Err()
}

func (r *sleeps) waits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.d...)
}

// config is a pull_request run on PR #7 against s as tok.
func config(t testing.TB, s *githubfake.Server, tok string, rec *sleeps) Config {
	t.Helper()
	return Config{
		Token:      tok,
		APIURL:     s.URL(),
		Repository: "o/r",
		EventName:  "pull_request",
		EventPath:  writeEvent(t, map[string]any{"pull_request": map[string]any{"number": prNumber, "head": map[string]any{"sha": headSHA}}}),
		SHA:        mergeSHA,
		RunURL:     runURL,
		Retry:      retry.Policy{Sleep: rec.Sleep, Rand: func() float64 { return 0.5 }},
		Logger:     slog.New(slog.DiscardHandler),
	}
}

func newForge(t testing.TB, cfg Config) *Forge {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func writeEvent(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// count counts requests with the given method whose path contains part.
func count(reqs []string, method, part string) int {
	n := 0
	for _, r := range reqs {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.Contains(p, part) {
			n++
		}
	}
	return n
}
