package promtest

import (
	"io"
	"net/http/httptest"
	"testing"
)

func TestCountersExposition(t *testing.T) {
	tests := []struct {
		name string
		set  func(c *Counters)
		want string
	}{
		{name: "empty", set: func(*Counters) {}, want: ""},
		{name: "sorted by metric and version", set: func(c *Counters) {
			c.Set("mlci_requests_total", "v2", 5)
			c.Set("mlci_requests_total", "v1", 10)
			c.Add("mlci_request_errors_total", "v1", 1)
			c.Add("mlci_request_errors_total", "v1", 2.5)
		}, want: "# TYPE mlci_request_errors_total counter\n" +
			"mlci_request_errors_total{version=\"v1\"} 3.5\n" +
			"# TYPE mlci_requests_total counter\n" +
			"mlci_requests_total{version=\"v1\"} 10\n" +
			"mlci_requests_total{version=\"v2\"} 5\n"},
		{name: "label values escaped", set: func(c *Counters) {
			c.Set("m", "a\"b\\c\nd", 1)
		}, want: "# TYPE m counter\nm{version=\"a\\\"b\\\\c\\nd\"} 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Counters
			tt.set(&c)
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			got, _ := io.ReadAll(rec.Body)
			if string(got) != tt.want {
				t.Errorf("exposition:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
