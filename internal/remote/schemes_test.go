package remote

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	root := t.TempDir()
	env := map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}
	opt := Options{Getenv: func(k string) string { return env[k] }}
	tests := []struct {
		name    string
		spec    string
		want    string // String() of the store
		wantErr string
	}{
		{"local scheme", "local:cache", "local:" + filepath.Join(root, "cache"), ""},
		{"plain relative path", "data/remote", "local:" + filepath.Join(root, "data/remote"), ""},
		{"plain absolute path", filepath.Join(root, "abs"), "local:" + filepath.Join(root, "abs"), ""},
		{"s3 from the environment", "s3://bucket/team/datasets", "s3://bucket/team/datasets (http://127.0.0.1:9000)", ""},
		{"s3 endpoint in the query wins", "s3://bucket?endpoint=https://minio.example:9000&path_style=true", "s3://bucket (https://minio.example:9000)", ""},
		{"oci", "oci://registry.example/team/data", "oci://registry.example/team/data", ""},
		{"unknown scheme", "gs://bucket", "", "unknown form; use local:PATH, s3://BUCKET/PREFIX or oci://REGISTRY/REPO"},
		{"s3 keys in the URL", "s3://AKID:topsecret@bucket/x", "", "credentials do not go in the URL"},
		{"s3 without bucket", "s3:///x", "", "no bucket"},
		{"s3 bad path_style", "s3://b?path_style=maybe", "", "want true or false"},
		{"s3 bad endpoint", "s3://b?endpoint=ftp://x", "", "want http(s)://HOST[:PORT]"},
		{"oci with a tag", "oci://registry.example/team/data:v1", "", "drop the tag or digest"},
		{"oci password in the URL", "oci://user:topsecret@registry.example/team", "", "credentials do not go in the URL"},
		{"empty local path", "local:", "", "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.spec, root, opt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "topsecret") {
					t.Fatalf("error holds the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			if strings.Contains(s.String(), "s3cr3t") || strings.Contains(s.String(), "AKIDEXAMPLE") {
				t.Fatalf("String() holds a key: %q", s.String())
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, spec, wantErr string
	}{
		{"local path", "data/remote", ""},
		{"s3 with every option", "s3://bucket/p?endpoint=http://127.0.0.1:9000&path_style=true&region=eu-west-1", ""},
		{"oci", "oci://registry.example/team/data", ""},
		{"unknown scheme", "gs://bucket", "unknown form"},
		{"unknown s3 option", "s3://bucket?regoin=x", `unknown option "regoin"`},
		{"keys in the endpoint", "s3://bucket?endpoint=http://AKID:topsecret@minio:9000", "credentials do not go in the endpoint"},
		{"empty local path", "local:", "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.spec)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "topsecret") {
				t.Fatalf("err = %v, want it to contain %q and no secret", err, tt.wantErr)
			}
		})
	}
}
