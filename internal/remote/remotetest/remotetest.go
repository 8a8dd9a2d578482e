// Package remotetest starts real servers for data remote tests: the
// distribution registry in-process, and Versity's S3 gateway (versitygw)
// over a temporary folder. Tests only.
package remotetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the registry's storage
)

// StartRegistry serves distribution's registry in-process, so the registry
// protocol is exercised without Docker, and returns its 127.0.0.1:PORT
// (a loopback host, spoken to in plain HTTP). wrap, when set, stands in
// front of it.
func StartRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	config := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory":    configuration.Parameters{},
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		},
	}
	config.Log.Level = "error"
	config.Log.AccessLog.Disabled = true
	var h http.Handler = handlers.NewApp(ctx, config)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Versity is a Versity S3 gateway serving a temporary folder.
type Versity struct {
	Endpoint       string // http://127.0.0.1:PORT
	Dir            string // the posix root: one folder per bucket
	Access, Secret string // the root user's keys
}

// StartVersity starts versitygw on a free port and stops it when the test
// ends. A missing versitygw fails the test: S3 is tested against a real
// server, not a fake.
func StartVersity(t *testing.T) *Versity {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		bin = filepath.Join(build.Default.GOPATH, "bin", "versitygw")
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("versitygw is not on PATH nor in $(go env GOPATH)/bin; install it with: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	v := &Versity{Endpoint: "http://" + addr, Dir: t.TempDir(), Access: RandomKey(t), Secret: RandomKey(t)}
	cmd := exec.Command(bin, "--port", addr, "posix", v.Dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+v.Access, "ROOT_SECRET_KEY="+v.Secret)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(v.Endpoint)
		if err == nil {
			resp.Body.Close()
			return v
		}
		select {
		case <-exited:
			t.Fatalf("versitygw exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not answer on %s within 20s: %s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Env is the AWS_* environment a client of v would have, with secret as
// its secret key.
func (v *Versity) Env(secret string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":      v.Endpoint,
		"AWS_REGION":            "us-east-1",
		"AWS_ACCESS_KEY_ID":     v.Access,
		"AWS_SECRET_ACCESS_KEY": secret,
	}
}

// RandomKey is 24 random hex digits, for keys and unique names.
func RandomKey(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
