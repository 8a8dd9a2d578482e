package dockertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/client"
)

// Proxy serves the Docker Engine API on a socket of its own and forwards
// every call to the engine, for a tool that names and labels what it makes
// itself (act): it adds labels to each container, network and volume
// created through it, and to the named volumes a container's mounts
// create, and renames volumes by rename, so a volume the tool mounts under
// one fixed name in every run on the engine becomes the test's own. It
// returns the tool's DOCKER_HOST; the proxy stops when the test ends.
func Proxy(t testing.TB, labels, rename map[string]string) string {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	dial := api.Dialer()
	// A socket path must fit in 108 bytes, which a test's TempDir may not.
	dir, err := os.MkdirTemp("", "mlci-dockerproxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		},
		// Logs and attached streams go through as they come.
		FlushInterval: -1,
		ErrorLog:      log.New(os.Stderr, "dockertest proxy: ", 0),
	}
	p := &stamper{labels: labels, rename: rename}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := p.stamp(r); err != nil {
			http.Error(w, `{"message": "dockertest proxy: `+strings.ReplaceAll(err.Error(), `"`, `'`)+`"}`, http.StatusBadRequest)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

// stamper changes the bodies of create calls on their way to the engine.
type stamper struct {
	labels, rename map[string]string
}

func (p *stamper) stamp(r *http.Request) error {
	if r.Method != http.MethodPost {
		return nil
	}
	var change func(body map[string]any)
	switch {
	case strings.HasSuffix(r.URL.Path, "/containers/create"):
		change = p.container
	case strings.HasSuffix(r.URL.Path, "/volumes/create"):
		change = func(body map[string]any) {
			if name, ok := body["Name"].(string); ok && p.rename[name] != "" {
				body["Name"] = p.rename[name]
			}
			body["Labels"] = p.addLabels(body["Labels"])
		}
	case strings.HasSuffix(r.URL.Path, "/networks/create"):
		change = func(body map[string]any) { body["Labels"] = p.addLabels(body["Labels"]) }
	default:
		return nil
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber() // memory limits and the like stay exact
	var body map[string]any
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s body: %w", r.URL.Path, err)
	}
	r.Body.Close()
	if body == nil {
		body = map[string]any{}
	}
	change(body)
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.TransferEncoding = nil
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	r.Header.Set("Content-Type", "application/json")
	return nil
}

// container labels the container and the named volumes its mounts create,
// and renames those volumes, in mounts and in binds alike.
func (p *stamper) container(body map[string]any) {
	body["Labels"] = p.addLabels(body["Labels"])
	hc, _ := body["HostConfig"].(map[string]any)
	if hc == nil {
		return
	}
	mounts, _ := hc["Mounts"].([]any)
	for _, m := range mounts {
		m, _ := m.(map[string]any)
		if m == nil || m["Type"] != "volume" {
			continue
		}
		if src, ok := m["Source"].(string); ok && p.rename[src] != "" {
			m["Source"] = p.rename[src]
		}
		opts, _ := m["VolumeOptions"].(map[string]any)
		if opts == nil {
			opts = map[string]any{}
		}
		opts["Labels"] = p.addLabels(opts["Labels"])
		m["VolumeOptions"] = opts
	}
	binds, _ := hc["Binds"].([]any)
	for i, b := range binds {
		s, _ := b.(string)
		src, rest, ok := strings.Cut(s, ":")
		if ok && p.rename[src] != "" {
			binds[i] = p.rename[src] + ":" + rest
		}
	}
}

// addLabels returns a JSON label object with p.labels added.
func (p *stamper) addLabels(v any) map[string]any {
	l, _ := v.(map[string]any)
	if l == nil {
		l = map[string]any{}
	}
	for k, v := range p.labels {
		l[k] = v
	}
	return l
}
