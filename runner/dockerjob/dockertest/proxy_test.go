package dockertest

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStamp(t *testing.T) {
	p := &stamper{
		labels: map[string]string{"mlci.test": "run1", "mlci.test.scope": "s1"},
		rename: map[string]string{"act-toolcache": "act-toolcache-s1"},
	}
	tests := []struct {
		name, method, path, body string
		want                     string // the body the engine gets, as JSON
	}{
		{
			name: "container: labels, volume mounts renamed and labelled, binds renamed", method: "POST",
			path: "/v1.41/containers/create?name=act-x",
			body: `{"Image": "i", "Labels": {"k": "v"}, "HostConfig": {"Memory": 9007199254740993,
				"Binds": ["/host:/in", "act-toolcache:/opt/tc:ro"],
				"Mounts": [{"Type": "volume", "Source": "act-toolcache", "Target": "/opt/hostedtoolcache"},
					{"Type": "volume", "Source": "act-x-env", "Target": "/var/run/act", "VolumeOptions": {"NoCopy": true}},
					{"Type": "bind", "Source": "/host", "Target": "/b"}]}}`,
			want: `{"Image": "i", "Labels": {"k": "v", "mlci.test": "run1", "mlci.test.scope": "s1"}, "HostConfig": {"Memory": 9007199254740993,
				"Binds": ["/host:/in", "act-toolcache-s1:/opt/tc:ro"],
				"Mounts": [{"Type": "volume", "Source": "act-toolcache-s1", "Target": "/opt/hostedtoolcache",
						"VolumeOptions": {"Labels": {"mlci.test": "run1", "mlci.test.scope": "s1"}}},
					{"Type": "volume", "Source": "act-x-env", "Target": "/var/run/act",
						"VolumeOptions": {"NoCopy": true, "Labels": {"mlci.test": "run1", "mlci.test.scope": "s1"}}},
					{"Type": "bind", "Source": "/host", "Target": "/b"}]}}`,
		},
		{
			name: "volume: renamed and labelled", method: "POST", path: "/volumes/create",
			body: `{"Name": "act-toolcache"}`,
			want: `{"Name": "act-toolcache-s1", "Labels": {"mlci.test": "run1", "mlci.test.scope": "s1"}}`,
		},
		{
			name: "network: labelled", method: "POST", path: "/v1.41/networks/create",
			body: `{"Name": "n", "Labels": null}`,
			want: `{"Name": "n", "Labels": {"mlci.test": "run1", "mlci.test.scope": "s1"}}`,
		},
		{name: "other calls pass unchanged", method: "POST", path: "/v1.41/containers/abc/start", body: `{"x": 1}`, want: `{"x": 1}`},
		{name: "a listing passes unchanged", method: "GET", path: "/v1.41/containers/json", body: `{"x": 1}`, want: `{"x": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if err := p.stamp(r); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if r.ContentLength != int64(len(got)) {
				t.Errorf("ContentLength %d, body %d bytes", r.ContentLength, len(got))
			}
			if d := cmp.Diff(decode(t, tt.want), decode(t, string(got))); d != "" {
				t.Errorf("body (-want +got):\n%s", d)
			}
		})
	}
}

func TestStampRefusesBrokenJSON(t *testing.T) {
	p := &stamper{labels: map[string]string{"mlci.test": "run1"}}
	if err := p.stamp(httptest.NewRequest("POST", "/containers/create", strings.NewReader("{"))); err == nil {
		t.Error("a broken body went through")
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}
