package config

import (
	"strings"
	"testing"
)

func TestRemotes(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantDefault string
		wantSpecs   []string
	}{
		{
			name:        "first is the default",
			in:          "remotes:\n  - name: team\n    url: /srv/mlci\n  - name: cloud\n    url: s3://bucket/datasets\n",
			wantDefault: "team",
			wantSpecs:   []string{"/srv/mlci", "s3://bucket/datasets"},
		},
		{
			name:        "default marked",
			in:          "remotes:\n  - name: team\n    url: local:cache\n  - name: registry\n    url: oci://ghcr.io/org/data\n    default: true\n",
			wantDefault: "registry",
			wantSpecs:   []string{"local:cache", "oci://ghcr.io/org/data"},
		},
		{
			name:        "s3 settings go into the query",
			in:          "remotes:\n  - name: minio\n    url: s3://bucket/p\n    endpoint: http://127.0.0.1:9000\n    region: eu-west-1\n    path_style: true\n",
			wantDefault: "minio",
			wantSpecs:   []string{"s3://bucket/p?endpoint=http%3A%2F%2F127.0.0.1%3A9000&path_style=true&region=eu-west-1"},
		},
		{
			name:        "s3 settings in the url itself",
			in:          "remotes:\n  - name: minio\n    url: s3://bucket/p?path_style=true\n    region: us-east-1\n",
			wantDefault: "minio",
			wantSpecs:   []string{"s3://bucket/p?path_style=true&region=us-east-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("mlci.yaml", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := c.DefaultRemote(); !ok || d.Name != tt.wantDefault {
				t.Errorf("DefaultRemote() = %q, %v; want %q", d.Name, ok, tt.wantDefault)
			}
			var specs []string
			for _, r := range c.Remotes {
				specs = append(specs, r.Spec())
				if got, ok := c.Remote(r.Name); !ok || got.Line == 0 {
					t.Errorf("Remote(%q) = %+v, %v", r.Name, got, ok)
				}
			}
			if strings.Join(specs, "\n") != strings.Join(tt.wantSpecs, "\n") {
				t.Errorf("specs = %q, want %q", specs, tt.wantSpecs)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		c, err := Parse("mlci.yaml", []byte("data: [a]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.DefaultRemote(); ok {
			t.Error("DefaultRemote() found one in a config without remotes")
		}
	})
}

func TestRemoteErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"no name", "remotes:\n  - url: /srv\n",
			`mlci.yaml:2:5: remotes[0] has no name; set "name:" (letters, digits, ".", "_" and "-")`},
		{"bad name", "remotes:\n  - name: my remote\n    url: /srv\n",
			`mlci.yaml:2:11: remote name "my remote": use letters, digits, ".", "_" and "-", not starting with "-"`},
		{"duplicate name", "remotes:\n  - name: a\n    url: /x\n  - name: a\n    url: /y\n",
			`mlci.yaml:4:5: remote name "a" is used twice (lines 2 and 4); give each remote a unique name`},
		{"no url", "remotes:\n  - name: a\n",
			`mlci.yaml:2:5: remote a has no url; set "url:" to local:PATH, s3://BUCKET/PREFIX or oci://REGISTRY/REPO`},
		{"unknown scheme", "remotes:\n  - name: a\n    url: gs://bucket/x\n",
			`mlci.yaml:3:10: remote a: remote "gs://bucket/x": unknown form; use local:PATH, s3://BUCKET/PREFIX or oci://REGISTRY/REPO`},
		{"s3 keys in the url", "remotes:\n  - name: a\n    url: s3://AKID:topsecret@bucket/x\n",
			`mlci.yaml:3:10: remote a: remote "s3://***@bucket/x": credentials do not go in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`},
		{"s3 keys in the endpoint", "remotes:\n  - name: a\n    url: s3://bucket/x\n    endpoint: http://AKID:topsecret@minio:9000\n",
			`credentials do not go in the endpoint`},
		{"registry password in the url", "remotes:\n  - name: a\n    url: oci://user:topsecret@ghcr.io/org/data\n",
			`credentials do not go in the URL; pass them through the registry credential settings`},
		{"https with a token", "remotes:\n  - name: a\n    url: https://user:topsecret@example.com/data\n",
			`unknown form`},
		{"s3 setting on a local remote", "remotes:\n  - name: a\n    url: /srv\n    region: eu-west-1\n",
			`mlci.yaml:2:5: remote a: endpoint, region and path_style are for s3:// remotes only`},
		{"set twice", "remotes:\n  - name: a\n    url: s3://b?region=x\n    region: y\n",
			`mlci.yaml:4:13: remote a: region is set both here and in the url; keep one`},
		{"unknown query option", "remotes:\n  - name: a\n    url: s3://b?regoin=x\n",
			`unknown option "regoin"`},
		{"bad endpoint", "remotes:\n  - name: a\n    url: s3://b\n    endpoint: ftp://x\n",
			`want http(s)://HOST[:PORT]`},
		{"two defaults", "remotes:\n  - {name: a, url: /x, default: true}\n  - {name: b, url: /y, default: true}\n",
			`mlci.yaml:3:33: remotes a and b are both marked default: true; mark one`},
		{"path_style not a bool", "remotes:\n  - name: a\n    url: s3://b\n    path_style: sometimes\n",
			`mlci.yaml:4:17: remotes[0].path_style must be true or false, got "sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("mlci.yaml", []byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error holds the secret: %q", err)
			}
		})
	}
}
