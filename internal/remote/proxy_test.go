package remote

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// faultProxy forwards to a server, cutting the first few uploads and
// downloads of objects mid-body by closing the connection.
type faultProxy struct {
	srv     *httptest.Server
	left    atomic.Int64 // connections still to drop
	dropped atomic.Int64
}

func (p *faultProxy) reset(n int64) { p.left.Store(n) }

func flakyProxy(t *testing.T, target string, drops int64, object func(*http.Request) bool) *faultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{}
	p.left.Store(drops)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if object(r) && (r.Method == http.MethodPut || r.Method == http.MethodGet) && p.left.Add(-1) >= 0 {
			p.dropped.Add(1)
			if r.Method == http.MethodPut {
				// Take half the upload, then hang up.
				io.CopyN(io.Discard, r.Body, r.ContentLength/2)
				panic(http.ErrAbortHandler)
			}
			rp.ServeHTTP(&cutWriter{ResponseWriter: w, left: 8}, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// cutWriter passes on a few bytes of a response body, then aborts the
// connection: a download dropped mid-body.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if len(b) > c.left {
		c.ResponseWriter.Write(b[:c.left])
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	c.left -= len(b)
	return c.ResponseWriter.Write(b)
}
