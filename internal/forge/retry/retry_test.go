package retry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var epoch = time.Unix(1_800_000_000, 0)

// step is one canned answer of the stub transport.
type step struct {
	status int
	header map[string]string
	body   string
	err    error
}

// stub answers with steps in order and records what it was sent.
type stub struct {
	mu     sync.Mutex
	steps  []step
	bodies []string
	closed []bool // per response: closed by the transport
}

func (s *stub) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var body string
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		body = string(b)
	}
	s.bodies = append(s.bodies, body)
	if len(s.steps) == 0 {
		return nil, errors.New("stub: no more steps")
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	if st.err != nil {
		return nil, st.err
	}
	h := http.Header{}
	for k, v := range st.header {
		h.Set(k, v)
	}
	i := len(s.closed)
	s.closed = append(s.closed, false)
	return &http.Response{
		StatusCode: st.status,
		Status:     strconv.Itoa(st.status) + " " + http.StatusText(st.status),
		Header:     h,
		Body:       &trackBody{Reader: strings.NewReader(st.body), onClose: func() { s.mu.Lock(); s.closed[i] = true; s.mu.Unlock() }},
		Request:    req,
	}, nil
}

type trackBody struct {
	io.Reader
	onClose func()
}

func (b *trackBody) Close() error { b.onClose(); return nil }

// recorder is an injected Sleep that records waits without waiting.
type recorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recorder) Sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func testPolicy(rec *recorder) Policy {
	return Policy{
		Sleep: rec.Sleep,
		Rand:  func() float64 { return 0.5 },
		Now:   func() time.Time { return epoch },
	}
}

func TestRoundTrip(t *testing.T) {
	reset10 := strconv.FormatInt(epoch.Add(10*time.Second).Unix(), 10)
	tests := []struct {
		name       string
		method     string
		body       string
		steps      []step
		policy     func(*Policy)
		wantStatus int
		wantErr    func(error) bool
		wantWaits  []time.Duration
		wantCalls  int
	}{
		{
			name:       "500 then 200 retries once after a jittered base delay",
			steps:      []step{{status: 500}, {status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{250 * time.Millisecond}, // 0.5 × 500ms
		},
		{
			name:       "429 with Retry-After seconds",
			steps:      []step{{status: 429, header: map[string]string{"Retry-After": "3"}}, {status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{3 * time.Second},
		},
		{
			name:       "503 with Retry-After HTTP date",
			steps:      []step{{status: 503, header: map[string]string{"Retry-After": epoch.Add(5 * time.Second).UTC().Format(http.TimeFormat)}}, {status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{5 * time.Second},
		},
		{
			name: "403 primary rate limit waits for the reset",
			steps: []step{{status: 403, header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset10}},
				{status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{10 * time.Second},
		},
		{
			name:       "403 secondary rate limit by Retry-After",
			steps:      []step{{status: 403, header: map[string]string{"Retry-After": "7"}}, {status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name:       "403 secondary rate limit by body waits a minute",
			steps:      []step{{status: 403, body: `{"message":"You have exceeded a secondary rate limit."}`}, {status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{time.Minute},
		},
		{
			name:       "GitLab RateLimit-Reset epoch on 429",
			steps:      []step{{status: 429, header: map[string]string{"RateLimit-Reset": strconv.FormatInt(epoch.Add(4*time.Second).Unix(), 10)}}, {status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{4 * time.Second},
		},
		{
			name:       "403 not rate limited is returned as is",
			steps:      []step{{status: 403, body: `{"message":"Resource not accessible by integration"}`}},
			wantStatus: 403, wantCalls: 1,
		},
		{
			name:       "404 is not retried",
			steps:      []step{{status: 404}},
			wantStatus: 404, wantCalls: 1,
		},
		{
			name:       "gives up after MaxAttempts with the last response",
			steps:      []step{{status: 502}, {status: 502}, {status: 502, body: "last"}},
			policy:     func(p *Policy) { p.MaxAttempts = 3 },
			wantStatus: 502, wantCalls: 3,
			wantWaits: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond},
		},
		{
			name:   "backoff doubles and is capped by MaxDelay",
			steps:  []step{{status: 500}, {status: 500}, {status: 500}, {status: 500}, {status: 200}},
			policy: func(p *Policy) { p.BaseDelay = time.Second; p.MaxDelay = 3 * time.Second },
			// 0.5 × min(1s·2^n, 3s)
			wantWaits:  []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond},
			wantStatus: 200, wantCalls: 5,
		},
		{
			name:      "Retry-After longer than MaxWait is an error naming the wait",
			steps:     []step{{status: 429, header: map[string]string{"Retry-After": "600"}}},
			wantCalls: 1,
			wantErr: func(err error) bool {
				var we *WaitError
				return errors.As(err, &we) && we.Wait == 10*time.Minute && strings.Contains(err.Error(), "wait 10m0s") &&
					strings.Contains(err.Error(), "retry after "+epoch.Add(10*time.Minute).UTC().Format(time.RFC3339))
			},
		},
		{
			name:       "POST body replayed byte-identical",
			method:     http.MethodPost,
			body:       `{"body":"report ü\n<!-- mlci:report:x -->"}`,
			steps:      []step{{status: 503}, {status: 502}, {status: 201}},
			wantStatus: 201, wantCalls: 3,
			wantWaits: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond},
		},
		{
			name:       "GET retried on connection reset",
			steps:      []step{{err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, {status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{250 * time.Millisecond},
		},
		{
			name:       "GET retried on unexpected EOF",
			steps:      []step{{err: io.ErrUnexpectedEOF}, {status: 200}},
			wantStatus: 200, wantCalls: 2,
			wantWaits: []time.Duration{250 * time.Millisecond},
		},
		{
			name:      "POST not retried after a connection reset",
			method:    http.MethodPost,
			body:      "x",
			steps:     []step{{err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, {status: 201}},
			wantCalls: 1,
			wantErr:   func(err error) bool { return errors.Is(err, syscall.ECONNRESET) },
		},
		{
			name:       "POST retried when the connection was refused",
			method:     http.MethodPost,
			body:       "x",
			steps:      []step{{err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, {status: 201}},
			wantStatus: 201, wantCalls: 2,
			wantWaits: []time.Duration{250 * time.Millisecond},
		},
		{
			name:      "permanent error not retried",
			steps:     []step{{err: errors.New("tls: bad certificate")}},
			wantCalls: 1,
			wantErr:   func(err error) bool { return err != nil && strings.Contains(err.Error(), "bad certificate") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			st := &stub{steps: tt.steps}
			tr := &Transport{Base: st, Policy: testPolicy(rec)}
			if tt.policy != nil {
				tt.policy(&tr.Policy)
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(method, "https://api.example.com/api/v3/repos/o/r", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if tt.wantErr != nil {
				if resp != nil || !tt.wantErr(err) {
					t.Fatalf("RoundTrip = %v, %v; want a matching error", resp, err)
				}
			} else {
				if err != nil {
					t.Fatalf("RoundTrip: %v", err)
				}
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := tt.steps[tt.wantCalls-1].body; string(b) != want {
					t.Errorf("returned body = %q, want %q", b, want)
				}
			}
			if len(st.bodies) != tt.wantCalls {
				t.Errorf("calls = %d, want %d", len(st.bodies), tt.wantCalls)
			}
			for i, b := range st.bodies {
				if b != tt.body {
					t.Errorf("attempt %d sent body %q, want %q", i+1, b, tt.body)
				}
			}
			for i, c := range st.closed {
				if !c {
					t.Errorf("response %d body not closed", i+1)
				}
			}
			if diff := cmp.Diff(tt.wantWaits, rec.waits); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoundTripContextCanceledDuringSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st := &stub{steps: []step{{status: 503}, {status: 200}}}
	// The real timer: an hour-long backoff that only the cancel ends.
	tr := &Transport{Base: st, Policy: Policy{BaseDelay: time.Hour, MaxDelay: time.Hour, Rand: func() float64 { return 1 }}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/x", nil)
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	resp, err := tr.RoundTrip(req)
	if resp != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("RoundTrip = %v, %v; want context.Canceled", resp, err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("cancel did not end the sleep")
	}
	if len(st.bodies) != 1 || !st.closed[0] {
		t.Errorf("calls = %d, closed = %v; want 1 call with its body closed", len(st.bodies), st.closed)
	}
}

func TestRoundTripCanceledNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := &recorder{}
	st := &stub{steps: []step{{err: context.Canceled}, {status: 200}}}
	tr := &Transport{Base: st, Policy: testPolicy(rec)}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/x", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(st.bodies) != 1 || len(rec.waits) != 0 {
		t.Errorf("calls = %d, waits = %v; want 1 call and no wait", len(st.bodies), rec.waits)
	}
}

func TestRoundTripBodyWithoutGetBody(t *testing.T) {
	st := &stub{steps: []step{{status: 200}}}
	tr := &Transport{Base: st}
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.com/x", io.NopCloser(strings.NewReader("x")))
	req.GetBody = nil
	if _, err := tr.RoundTrip(req); !errors.Is(err, ErrNotReplayable) {
		t.Fatalf("err = %v, want ErrNotReplayable", err)
	}
	if len(st.bodies) != 0 {
		t.Error("a request that cannot be replayed was sent")
	}
}

// hang blocks its first attempt until the attempt's context ends.
type hang struct {
	mu    sync.Mutex
	calls int
}

func (h *hang) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.calls++
	n := h.calls
	h.mu.Unlock()
	if n == 1 {
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}}, nil
}

func TestRoundTripAttemptTimeout(t *testing.T) {
	rec := &recorder{}
	p := testPolicy(rec)
	p.AttemptTimeout = 20 * time.Millisecond
	h := &hang{}
	tr := &Transport{Base: h, Policy: p}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/x", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	// The body outlives RoundTrip: the attempt's context ends only on Close.
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "ok" || h.calls != 2 {
		t.Errorf("body %q, err %v, calls %d; want ok after 2 calls", b, err, h.calls)
	}
}
