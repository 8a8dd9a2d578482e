// Package promtest runs a real Prometheus for integration tests, scraping
// an exporter the test controls; it is imported only by tests.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Wait bounds each wait for Prometheus: start-up, readiness, a scrape.
// Generous, as CI machines are slow; nothing waits for it unless
// Prometheus is broken.
const Wait = 60 * time.Second

// ScrapeInterval is how often Prometheus scrapes the exporter.
const ScrapeInterval = time.Second

// Start serves exporter over HTTP, runs the prometheus binary from PATH
// scraping it every ScrapeInterval, and returns the base URL of its HTTP
// API once it is ready. Prometheus is stopped when the test ends, and its
// log is shown if the test failed. Tests fail, not skip, without the
// binary: .ci/run installs Debian's prometheus.
func Start(t testing.TB, exporter http.Handler) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("no prometheus on PATH (apt-get install prometheus; .ci/run does)")
	}
	target := httptest.NewServer(exporter)
	t.Cleanup(target.Close)

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: mlci
    metrics_path: /metrics
    static_configs:
      - targets: [%[2]q]
`, ScrapeInterval, strings.TrimPrefix(target.URL, "http://"))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("prometheus log:\n%s", log)
		}
	})

	base := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	err = poll(ctx, exited, func() (bool, error) {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("prometheus at %s is not ready: %v", base, err)
	}
	return base
}

// freeAddr picks a loopback port no one listens on. Another process may
// take it before Prometheus does; that shows as Prometheus exiting with
// "address already in use" in the log.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// poll calls ok until it reports true, an error, Prometheus exits, or ctx
// ends.
func poll(ctx context.Context, exited <-chan struct{}, ok func() (bool, error)) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := ok()
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("prometheus exited")
		case <-tick.C:
		}
	}
}

// WaitValue polls the API at base until query returns one series with
// value want, so a test asserts on what Prometheus has scraped rather than
// on how long a scrape takes.
func WaitValue(t testing.TB, base, query string, want float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	var last string
	err := poll(ctx, nil, func() (bool, error) {
		got, err := instant(ctx, base, query)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = fmt.Sprint(got)
		return len(got) == 1 && got[0] == want, nil
	})
	if err != nil {
		t.Fatalf("query %q never returned %v (last: %s): %v", query, want, last, err)
	}
}

// instant runs query and returns its vector's or scalar's values.
func instant(ctx context.Context, base, query string) ([]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?"+url.Values{"query": {query}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var a struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, err
	}
	if a.Status != "success" {
		return nil, fmt.Errorf("status %s: %s", a.Status, a.Error)
	}
	var out []float64
	for _, r := range a.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %w", r.Value[1], err)
		}
		out = append(out, v)
	}
	return out, nil
}

// Counters is an exporter of counters labelled by version, in the text
// exposition format, whose values the test sets; the zero value exports
// nothing.
type Counters struct {
	mu sync.Mutex
	// values is metric name → version → value.
	values map[string]map[string]float64
}

// Set makes metric{version="version"} read v.
func (c *Counters) Set(metric, version string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values == nil {
		c.values = map[string]map[string]float64{}
	}
	if c.values[metric] == nil {
		c.values[metric] = map[string]float64{}
	}
	c.values[metric][version] = v
}

// Add raises metric{version="version"} by v.
func (c *Counters) Add(metric, version string, v float64) {
	c.mu.Lock()
	var now float64
	if c.values != nil && c.values[metric] != nil {
		now = c.values[metric][version]
	}
	c.mu.Unlock()
	c.Set(metric, version, now+v)
}

// ServeHTTP writes every counter, sorted, as Prometheus scrapes them.
func (c *Counters) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	var b bytes.Buffer
	for _, metric := range sortedKeys(c.values) {
		fmt.Fprintf(&b, "# TYPE %s counter\n", metric)
		for _, version := range sortedKeys(c.values[metric]) {
			fmt.Fprintf(&b, "%s{version=\"%s\"} %s\n", metric, escapeLabel(version), strconv.FormatFloat(c.values[metric][version], 'g', -1, 64))
		}
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// escapeLabel escapes a label value as the exposition format requires.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
