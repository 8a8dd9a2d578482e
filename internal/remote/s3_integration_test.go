//go:build integration

package remote

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/remote/remotetest"
)

// versity is the gateway remotetest starts, with what these tests ask of it.
type versity struct{ *remotetest.Versity }

func startVersity(t *testing.T) *versity { return &versity{remotetest.StartVersity(t)} }

// env is what the CLI would pass as Options.Getenv.
func (v *versity) env(secret string) func(string) string {
	vars := v.Env(secret)
	return func(k string) string { return vars[k] }
}

// bucket opens an s3:// store on a new bucket with a unique name.
func (v *versity) bucket(t *testing.T, opt Options) (*S3, string) {
	t.Helper()
	name := "mlci-" + strings.ToLower(remotetest.RandomKey(t))
	if opt.Getenv == nil {
		opt.Getenv = v.env(v.Secret)
	}
	s, err := Open(context.Background(), "s3://"+name+"/datasets?path_style=true", "", opt)
	if err != nil {
		t.Fatal(err)
	}
	s3 := s.(*S3)
	if err := s3.MakeBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s3, name
}

func TestS3Versity(t *testing.T) {
	v := startVersity(t)
	for _, alg := range digest.Algorithms() {
		t.Run("contract/"+string(alg), func(t *testing.T) {
			s, _ := v.bucket(t, Options{})
			storeContract(t, s, alg)
		})
		t.Run("round trip/"+string(alg), func(t *testing.T) {
			s, _ := v.bucket(t, Options{})
			roundTrip(t, s, alg)
		})
	}

	t.Run("layout", func(t *testing.T) {
		s, name := v.bucket(t, Options{})
		d, content := blob(digest.BLAKE3, "layout")
		if err := s.Put(context.Background(), d, int64(len(content)), bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(v.Dir, name, "datasets", "objects", "blake3", d.Hex()[:2], d.Hex())
		if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, content) {
			t.Fatalf("object at %s: %q, %v", p, b, err)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		s, name := v.bucket(t, Options{})
		d, content := blob(digest.BLAKE3, "auth")
		if err := s.Put(context.Background(), d, int64(len(content)), bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		wrong := "not-" + v.Secret
		bad, err := Open(context.Background(), "s3://"+name+"/datasets", "", Options{Getenv: v.env(wrong)})
		if err != nil {
			t.Fatal(err)
		}
		_, hasErr := bad.Has(context.Background(), []digest.Digest{d})
		_, getErr := bad.Get(context.Background(), d)
		putErr := bad.Put(context.Background(), d, int64(len(content)), bytes.NewReader(content))
		ds := makeDataset(digest.BLAKE3, 3)
		_, pushErr := Push(context.Background(), bad, ds.objects, ds.open, fast)
		for op, err := range map[string]error{"has": hasErr, "get": getErr, "put": putErr, "push": pushErr} {
			if !errors.Is(err, ErrAuth) {
				t.Errorf("%s with a wrong secret: %v, want ErrAuth", op, err)
				continue
			}
			if msg := err.Error(); strings.Contains(msg, wrong) || strings.Contains(msg, "\n") {
				t.Errorf("%s: message holds the secret or several lines: %q", op, msg)
			}
		}
		t.Logf("message: %v", pushErr)
	})

	t.Run("corrupt object refused", func(t *testing.T) {
		s, name := v.bucket(t, Options{})
		ds := makeDataset(digest.BLAKE3, 8)
		if _, err := Push(context.Background(), s, ds.objects, ds.open, fast); err != nil {
			t.Fatal(err)
		}
		bad := ds.objects[5]
		p := filepath.Join(v.Dir, name, "datasets", "objects", "blake3", bad.Digest.Hex()[:2], bad.Digest.Hex())
		if err := os.WriteFile(p, bytes.Repeat([]byte("?"), int(bad.Size)), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		_, err := Pull(context.Background(), s, ds.objects, ds.into(t, dir), fast)
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), string(bad.Digest)) {
			t.Fatalf("Pull: %v; want ErrDigestMismatch naming %s", err, bad.Digest)
		}
		if _, err := os.Stat(filepath.Join(dir, bad.Digest.Hex())); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("the corrupt object was placed")
		}
	})

	t.Run("flaky connection", func(t *testing.T) {
		const drops = 4
		proxy := flakyProxy(t, v.Endpoint, drops, func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/objects/") })
		s, name := v.bucket(t, Options{})
		env := v.env(v.Secret)
		flaky, err := Open(context.Background(), "s3://"+name+"/datasets?endpoint="+url.QueryEscape(proxy.srv.URL), "",
			Options{Getenv: env})
		if err != nil {
			t.Fatal(err)
		}
		ds := makeDataset(digest.SHA256, 30)
		st, err := Push(context.Background(), flaky, ds.objects, ds.open, fast)
		if err != nil {
			t.Fatalf("push through dropped connections: %v", err)
		}
		if st.Retries < drops || proxy.dropped.Load() < drops {
			t.Fatalf("retries = %d, dropped = %d; want at least %d", st.Retries, proxy.dropped.Load(), drops)
		}
		// Every object the server holds is whole: pull all straight from
		// it, verifying each.
		dir := t.TempDir()
		if _, err := Pull(context.Background(), s, ds.objects, ds.into(t, dir), fast); err != nil {
			t.Fatal(err)
		}
		ds.check(t, dir)
		// And downloads cut mid-body are retried too.
		proxy.reset(drops)
		dir = t.TempDir()
		st, err = Pull(context.Background(), flaky, ds.objects, ds.into(t, dir), fast)
		if err != nil || st.Retries < drops {
			t.Fatalf("pull through dropped connections: %+v, %v", st, err)
		}
		ds.check(t, dir)
	})
}
