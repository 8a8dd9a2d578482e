package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// base is where the fake API is mounted, so a request that ignores the
// client's base path finds nothing.
const base = "/prom"

// serve starts a fake Prometheus whose /api/v1/query runs handle, and a
// client of it that retries quickly.
func serve(t *testing.T, handle http.HandlerFunc) *Client {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc(base+"/api/v1/query", handle)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &Client{URL: srv.URL + base + "/", Attempts: 3, Backoff: time.Millisecond}
}

// answerWith serves body with status for every request.
func answerWith(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// Answers as the API documents them:
// https://prometheus.io/docs/prometheus/latest/querying/api/
const (
	oneSeries = `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"version":"v2"},"value":[1700000000.5,"0.25"]}]}}`
	noSeries    = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	threeSeries = `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"pod":"a"},"value":[1700000000,"1"]},
		{"metric":{"pod":"b"},"value":[1700000000,"2"]},
		{"metric":{"pod":"c"},"value":[1700000000,"3"]}]}}`
	scalar   = `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}`
	nan      = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"NaN"]}]}}`
	posInf   = `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"+Inf"]}}`
	matrix   = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"]]}]}}`
	badData  = `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""}`
	timedOut = `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`
	histo    = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1700000000,{"count":"2","sum":"3"}]}]}}`
)

func TestClientQuery(t *testing.T) {
	tests := []struct {
		name    string
		handle  http.HandlerFunc
		want    []Sample
		wantErr string
	}{
		{name: "one series", handle: answerWith(200, oneSeries),
			want: []Sample{{Metric: map[string]string{"version": "v2"}, Value: 0.25, Time: time.Unix(1700000000, 5e8).UTC()}}},
		{name: "no series", handle: answerWith(200, noSeries), want: []Sample{}},
		{name: "scalar", handle: answerWith(200, scalar), want: []Sample{{Value: 42, Time: time.Unix(1700000000, 0).UTC()}}},
		{name: "matrix", handle: answerWith(200, matrix), wantErr: "returned a range vector"},
		{name: "native histogram", handle: answerWith(200, histo), wantErr: "native histogram"},
		{name: "bad data", handle: answerWith(400, badData), wantErr: `prometheus rejected query "sum(up)" (HTTP 400, bad_data): 1:5: parse error`},
		{name: "timeout after retries", handle: answerWith(503, timedOut), wantErr: `rejected query "sum(up)" (HTTP 503, timeout)`},
		{name: "not the API", handle: answerWith(200, "<html>"), wantErr: "not Prometheus API JSON"},
		{name: "unauthorized", handle: answerWith(401, "Unauthorized"), wantErr: "refused the credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, tt.handle)
			got, err := c.Query(context.Background(), "sum(up)")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Query = %v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientNonFiniteValues(t *testing.T) {
	for name, body := range map[string]string{"NaN": nan, "+Inf": posInf} {
		t.Run(name, func(t *testing.T) {
			got, err := serve(t, answerWith(200, body)).Query(context.Background(), "x")
			if err != nil || len(got) != 1 || !(math.IsNaN(got[0].Value) || math.IsInf(got[0].Value, 1)) {
				t.Fatalf("Query = %v, %v; want one %s sample", got, err, name)
			}
		})
	}
}

func TestClientAPIErrorIsTyped(t *testing.T) {
	_, err := serve(t, answerWith(422, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`)).
		Query(context.Background(), "a / b")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Type != "execution" || apiErr.Query != "a / b" || errors.Is(err, ErrUnreachable) {
		t.Fatalf("Query error = %#v; want an *APIError of type execution, not unreachable", err)
	}
}

func TestClientRequest(t *testing.T) {
	tests := []struct {
		name   string
		client func(*Client)
		check  func(t *testing.T, r *http.Request)
	}{
		{name: "posts the query as a form", check: func(t *testing.T, r *http.Request) {
			if r.Method != http.MethodPost || r.PostFormValue("query") != `sum(x{v="a b"})` {
				t.Errorf("%s query=%q; want a POST of the query", r.Method, r.PostFormValue("query"))
			}
		}},
		{name: "bearer token", client: func(c *Client) { c.BearerToken = "s3cret" }, check: func(t *testing.T, r *http.Request) {
			if got := r.Header.Get("Authorization"); got != "Bearer s3cret" {
				t.Errorf("Authorization = %q", got)
			}
		}},
		{name: "basic auth", client: func(c *Client) { c.Username, c.Password = "mlci", "pw" }, check: func(t *testing.T, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "mlci" || p != "pw" {
				t.Errorf("basic auth = %q, %q, %v", u, p, ok)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, func(w http.ResponseWriter, r *http.Request) {
				tt.check(t, r)
				answerWith(200, oneSeries)(w, r)
			})
			if tt.client != nil {
				tt.client(c)
			}
			if _, err := c.Query(context.Background(), `sum(x{v="a b"})`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClientFallsBackToGET(t *testing.T) {
	var methods []string
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		methods = append(methods, r.Method)
		if r.Method == http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if q := r.URL.Query().Get("query"); q != "sum(up)" {
			t.Errorf("GET query = %q", q)
		}
		answerWith(200, scalar)(w, r)
	})
	if _, err := c.Query(context.Background(), "sum(up)"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"POST", "GET"}, methods); diff != "" {
		t.Errorf("methods (-want +got):\n%s", diff)
	}
}

func TestClientRetries503(t *testing.T) {
	var calls atomic.Int32
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		answerWith(200, oneSeries)(w, r)
	})
	got, err := c.Query(context.Background(), "sum(up)")
	if err != nil || len(got) != 1 || calls.Load() != 3 {
		t.Fatalf("Query = %v, %v after %d calls; want one series on the third", got, err, calls.Load())
	}
}

func TestClientUnreachable(t *testing.T) {
	tests := []struct {
		name   string
		client func(t *testing.T) *Client
		want   string
	}{
		{name: "503 on every try", client: func(t *testing.T) *Client {
			return serve(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
		}, want: "after 3 attempts: HTTP 503: down"},
		{name: "connection refused", client: func(t *testing.T) *Client {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			return &Client{URL: "http://mlci:s3cret@" + addr, BearerToken: "tok3n", Attempts: 2, Backoff: time.Millisecond}
		}, want: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client(t).Query(context.Background(), "sum(up)")
			if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Query error = %v; want ErrUnreachable with %q", err, tt.want)
			}
			for _, secret := range []string{"s3cret", "tok3n"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestClientRetriesStopWithTheContext(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	c.Attempts, c.Backoff = 100, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Query(ctx, "sum(up)")
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Query error = %v; want ErrUnreachable and the deadline", err)
	}
}

func TestClientCancelIsNotUnreachable(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	c.Backoff = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := c.Query(ctx, "sum(up)")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("Query error = %v; want the cancellation alone, so mlci exits as interrupted", err)
	}
}

func TestClientBadURL(t *testing.T) {
	for _, u := range []string{"", "prometheus:9090", "ftp://x", "http://u:pw@"} {
		t.Run(u, func(t *testing.T) {
			_, err := (&Client{URL: u, Password: "pw"}).Query(context.Background(), "x")
			if err == nil || !strings.Contains(err.Error(), "not an http(s) URL") || strings.Contains(err.Error(), "pw@") {
				t.Fatalf("Query error = %v; want a bad URL without the password", err)
			}
		})
	}
}

func TestClientStringHidesSecrets(t *testing.T) {
	c := &Client{URL: "https://user:pass@prom.example", BearerToken: "tok"}
	if s := fmt.Sprint(c); strings.Contains(s, "pass") || strings.Contains(s, "tok") {
		t.Errorf("String() = %q shows a secret", s)
	}
}
