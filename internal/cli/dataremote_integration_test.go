//go:build integration

package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/remote"
	"github.com/mlci/mlci/internal/remote/remotetest"
)

// TestDataPushPullS3 runs push, pull and check --remote against a real S3
// server, Versity's gateway, with the endpoint from mlci.yaml and the keys
// from the environment.
func TestDataPushPullS3(t *testing.T) {
	v := remotetest.StartVersity(t)
	bucket := "mlci-" + remotetest.RandomKey(t)
	env := v.Env(v.Secret)
	delete(env, "AWS_ENDPOINT_URL") // the config's endpoint is the one used
	s, err := remote.Open(context.Background(), "s3://"+bucket+"?path_style=true&endpoint="+v.Endpoint, "", remote.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(*remote.S3).MakeBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	remotes := "  - name: s3\n    url: s3://" + bucket + "/datasets\n    endpoint: " + v.Endpoint + "\n    path_style: true\n"
	dir := remoteProject(t, digest.BLAKE3, remotes)
	clone := roundTrip(t, dir, env)
	if r := run(t, env, "-C", clone, "data", "check", "--remote", "s3"); r.code != 0 {
		t.Fatalf("check --remote: %d %s%s", r.code, r.stdout, r.stderr)
	}

	t.Run("wrong credentials", func(t *testing.T) {
		wrong := v.Env("not-" + v.Secret)
		delete(wrong, "AWS_ENDPOINT_URL")
		// A fresh clone, or pull would find everything in place and never
		// ask the remote.
		fresh := cloneProject(t, dir)
		for _, c := range []struct {
			dir  string
			args []string
		}{{dir, []string{"data", "push"}}, {fresh, []string{"data", "pull"}}, {fresh, []string{"data", "check", "--remote", "s3"}}} {
			args := c.args
			r := run(t, wrong, append([]string{"-C", c.dir}, args...)...)
			t.Logf("%s: %s", strings.Join(args, " "), r.stderr)
			if r.code != 3 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "AWS_SECRET_ACCESS_KEY") {
				t.Errorf("%s with a wrong secret: exit %d, stderr %q; want 3 and one line naming the variables", strings.Join(args, " "), r.code, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, v.Secret) {
				t.Errorf("%s printed the secret", strings.Join(args, " "))
			}
		}
	})
}
