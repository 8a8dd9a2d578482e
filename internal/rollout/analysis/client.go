package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mlci/mlci/internal/forge/redact"
)

// ErrUnreachable is wrapped by every error that comes from Prometheus not
// answering (connection failures, 5xx) after the client's retries; the
// CLI exits 3 on it and records nothing.
var ErrUnreachable = errors.New("prometheus is unreachable")

// APIError is Prometheus refusing a query (status "error" in its answer):
// a syntax error, an execution error, a timeout that persisted.
type APIError struct {
	Query      string
	StatusCode int
	// Type and Message are the answer's errorType and error.
	Type    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("prometheus rejected query %q (HTTP %d, %s): %s", e.Query, e.StatusCode, e.Type, e.Message)
}

// Sample is one series of an instant query's answer.
type Sample struct {
	Metric map[string]string
	// Value may be NaN or ±Inf, as Prometheus computes them.
	Value float64
	Time  time.Time
}

// Querier runs an instant PromQL query; *Client is the one that talks to
// Prometheus, tests use fakes.
type Querier interface {
	Query(ctx context.Context, promql string) ([]Sample, error)
}

// QuerierFunc adapts a function to Querier.
type QuerierFunc func(ctx context.Context, promql string) ([]Sample, error)

// Query calls f.
func (f QuerierFunc) Query(ctx context.Context, promql string) ([]Sample, error) {
	return f(ctx, promql)
}

// Client queries the Prometheus HTTP API (/api/v1/query). The zero value
// of every field but URL is usable.
type Client struct {
	// URL is the API's base, e.g. http://prometheus:9090 or a path under
	// a proxy; /api/v1/query is added to it.
	URL string
	// BearerToken, or Username and Password, authenticate each request;
	// they never appear in errors.
	BearerToken string
	Username    string
	Password    string
	// HTTPClient defaults to one with a 30s timeout per request.
	HTTPClient *http.Client
	// Attempts is how many times a request is tried on connection errors
	// and 5xx answers (default 4); Backoff the first wait, doubled after
	// each try (default 500ms). The context bounds both.
	Attempts int
	Backoff  time.Duration
}

// maxBody bounds an answer: one series per query is expected, so anything
// near this is a query that forgot to aggregate.
const maxBody = 16 << 20

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// String keeps credentials out of anything that prints a client.
func (c *Client) String() string {
	return "prometheus " + c.redact(c.URL)
}

func (c *Client) redact(s string) string {
	return redact.Secrets(s, c.BearerToken, c.Password)
}

// Query runs promql as an instant query at the current time. It posts the
// query as a form, as long queries may exceed a URL's limit, and falls
// back to GET for a server or proxy that refuses POST.
//
// https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries
func (c *Client) Query(ctx context.Context, promql string) ([]Sample, error) {
	endpoint, err := c.endpoint()
	if err != nil {
		return nil, err
	}
	form := url.Values{"query": {promql}}
	status, body, err := c.do(ctx, http.MethodPost, endpoint, form)
	if err == nil && (status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented) {
		status, body, err = c.do(ctx, http.MethodGet, endpoint, form)
	}
	if err != nil {
		return nil, err
	}
	return parseAnswer(promql, status, body)
}

func (c *Client) endpoint() (string, error) {
	u, err := url.Parse(strings.TrimSpace(c.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("prometheus URL %q is not an http(s) URL; write e.g. http://prometheus:9090", c.redact(c.URL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/query"
	u.RawPath = ""
	return u.String(), nil
}

// do sends one request, retrying connection errors and 5xx answers with
// backoff, and returns the last answer's status and body. A 5xx left after
// the retries is ErrUnreachable unless it carries Prometheus's own error
// (a query timeout is a 503 with errorType "timeout"), which the caller
// reports as that.
func (c *Client) do(ctx context.Context, method, endpoint string, form url.Values) (int, []byte, error) {
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	wait := c.Backoff
	if wait <= 0 {
		wait = 500 * time.Millisecond
	}
	var last error
	for try := 1; ; try++ {
		status, body, retryAfter, err := c.once(ctx, method, endpoint, form)
		switch {
		case err != nil && ctx.Err() != nil:
			return 0, nil, c.gaveUp(ctx, err)
		case err != nil:
			last = err
		case status >= 500:
			last = fmt.Errorf("HTTP %d: %s", status, redact.Line(string(body), 200, c.BearerToken, c.Password))
		default:
			return status, body, nil
		}
		if try >= attempts {
			if err == nil && isAPIError(body) {
				return status, body, nil
			}
			return 0, nil, fmt.Errorf("%w: %s after %d attempts: %s", ErrUnreachable, c, try, c.redact(last.Error()))
		}
		d := max(wait, retryAfter)
		d += rand.N(d/4 + 1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil, c.gaveUp(ctx, last)
		case <-t.C:
		}
		wait *= 2
	}
}

// gaveUp is the error when ctx ended a query: a deadline is Prometheus
// not answering in the time the caller allowed (ErrUnreachable), a
// cancellation is the user stopping mlci and stays only that.
func (c *Client) gaveUp(ctx context.Context, last error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("querying %s: %w", c, ctx.Err())
	}
	return fmt.Errorf("%w: %s did not answer in time (%w); last: %s", ErrUnreachable, c, ctx.Err(), c.redact(last.Error()))
}

// maxRetryAfter caps a server's Retry-After, so one answer cannot park a
// scheduled job.
const maxRetryAfter = 30 * time.Second

func (c *Client) once(ctx context.Context, method, endpoint string, form url.Values) (status int, body []byte, retryAfter time.Duration, err error) {
	var req *http.Request
	if method == http.MethodGet {
		req, err = http.NewRequestWithContext(ctx, method, endpoint+"?"+form.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, endpoint, strings.NewReader(form.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return 0, nil, 0, fmt.Errorf("building the request to %s: %w", c, err)
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case c.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.BearerToken)
	case c.Username != "" || c.Password != "":
		req.SetBasicAuth(c.Username, c.Password)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("reading the answer: %w", err)
	}
	if len(body) > maxBody {
		return 0, nil, 0, fmt.Errorf("the answer is over %d MiB", maxBody>>20)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	return resp.StatusCode, body, retryAfter, nil
}

// answer is the API's envelope.
type answer struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type vectorSample struct {
	Metric    map[string]string `json:"metric"`
	Value     json.RawMessage   `json:"value"`
	Histogram json.RawMessage   `json:"histogram"`
}

func isAPIError(body []byte) bool {
	var a answer
	return json.Unmarshal(body, &a) == nil && a.Status == "error"
}

func parseAnswer(query string, status int, body []byte) ([]Sample, error) {
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return nil, fmt.Errorf("prometheus refused the credentials (HTTP %d); check the token or user it is given", status)
		case http.StatusNotFound:
			return nil, errors.New("no Prometheus API under the URL (HTTP 404 for /api/v1/query); give the base URL, e.g. http://prometheus:9090")
		}
		return nil, fmt.Errorf("query %q: the answer (HTTP %d) is not Prometheus API JSON: %s", query, status, redact.Line(string(body), 120))
	}
	switch {
	case a.Status == "error":
		return nil, &APIError{Query: query, StatusCode: status, Type: a.ErrorType, Message: a.Error}
	case a.Status != "success" || status/100 != 2:
		return nil, fmt.Errorf("query %q: unexpected answer: HTTP %d, status %q", query, status, a.Status)
	}
	var d queryData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, fmt.Errorf("query %q: reading data: %w", query, err)
	}
	switch d.ResultType {
	case "vector":
		var vs []vectorSample
		if err := json.Unmarshal(d.Result, &vs); err != nil {
			return nil, fmt.Errorf("query %q: reading the vector: %w", query, err)
		}
		out := make([]Sample, 0, len(vs))
		for _, v := range vs {
			if v.Value == nil {
				return nil, fmt.Errorf("query %q returned a native histogram, not a number; take e.g. histogram_quantile or histogram_count of it", query)
			}
			s, err := parsePoint(v.Value)
			if err != nil {
				return nil, fmt.Errorf("query %q: %w", query, err)
			}
			s.Metric = v.Metric
			out = append(out, s)
		}
		return out, nil
	case "scalar":
		s, err := parsePoint(d.Result)
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", query, err)
		}
		return []Sample{s}, nil
	case "matrix":
		return nil, fmt.Errorf("query %q returned a range vector; an analysis needs one value, e.g. sum(rate(x[5m])) rather than x[5m]", query)
	}
	return nil, fmt.Errorf("query %q returned a %s, not a number", query, d.ResultType)
}

// parsePoint reads [<unix seconds>, "<value>"]; the value is a string so
// that NaN and ±Inf survive JSON.
func parsePoint(raw json.RawMessage) (Sample, error) {
	var p []json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || len(p) != 2 {
		return Sample{}, fmt.Errorf("a point is not [time, \"value\"]: %s", redact.Line(string(raw), 80))
	}
	var ts float64
	var text string
	if err := json.Unmarshal(p[0], &ts); err != nil {
		return Sample{}, fmt.Errorf("a point's time %s is not a number", p[0])
	}
	if err := json.Unmarshal(p[1], &text); err != nil {
		return Sample{}, fmt.Errorf("a point's value %s is not a string", p[1])
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("a point's value %q is not a number", text)
	}
	sec := int64(ts)
	return Sample{Value: v, Time: time.Unix(sec, int64((ts-float64(sec))*1e9)).UTC()}, nil
}
