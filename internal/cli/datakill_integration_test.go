//go:build integration

package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/datasync"
	"github.com/mlci/mlci/internal/remote"
	"github.com/mlci/mlci/internal/remote/remotetest"
)

// killAfter is how many object transfers the proxy lets through before it
// holds the rest: enough that the killed process has done real work, few
// enough that most of the dataset is still to move.
const killAfter = 40

// TestDataKill SIGKILLs a real mlci process in the middle of a push and of
// a pull against a real S3 server, then checks that a rerun completes and
// that nothing the kill cut short is trusted. The kill is timed by a proxy
// that holds transfers after the first killAfter, so no sleep decides when
// it lands.
func TestDataKill(t *testing.T) {
	bin := buildMLCIBinary(t)
	v := remotetest.StartVersity(t)
	t.Run("push", func(t *testing.T) { testKilledPush(t, bin, v) })
	t.Run("pull", func(t *testing.T) { testKilledPull(t, bin, v) })
}

func testKilledPush(t *testing.T, bin string, v *remotetest.Versity) {
	proxy := startHoldingProxy(t, v.Endpoint, http.MethodPut, killAfter)
	k := newKillProject(t, v, proxy.endpoint())

	p := k.start(t, bin, k.dir, "data", "push", "--remote", "held")
	proxy.waitThenKill(t, p)
	if n := proxy.held.Load(); n == 0 {
		t.Fatal("no upload was held when push was killed: it was not cut short")
	}

	// The remote holds exactly the uploads the proxy let through; the
	// ones it cut mid-body left nothing behind.
	var partial remoteCheckOutput
	r := run(t, k.env, "-C", k.dir, "--json", "data", "check", "--remote", "s3")
	if err := json.Unmarshal([]byte(r.stdout), &partial); err != nil || r.code != 1 {
		t.Fatalf("check --remote after the kill: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if partial.OK || partial.Objects != k.objects || partial.Missing != k.objects-killAfter {
		t.Fatalf("check --remote after the kill: ok %v, %d of %d objects missing; want %d missing", partial.OK, partial.Missing, partial.Objects, k.objects-killAfter)
	}
	for _, m := range partial.Datasets[0].Missing {
		if m.Kind == "file" && (len(m.Paths) == 0 || k.files[strings.TrimPrefix(m.Paths[0], "data/ds/")] == nil) {
			t.Errorf("check --remote names a missing file %s at %q, not one of the dataset", m.Digest, m.Paths)
		}
	}
	r = run(t, k.env, "-C", k.dir, "data", "check", "--remote", "s3")
	want := fmt.Sprintf("remote s3 lacks %d of %d objects (first: ", k.objects-killAfter, k.objects)
	if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stdout, "MISSING") {
		t.Errorf("check --remote after the kill: exit %d, want 1 naming what is missing (%q)\n%s%s", r.code, want, r.stdout, r.stderr)
	}

	// The rerun sends only what is missing.
	var again struct {
		Datasets []transferOutput `json:"datasets"`
	}
	r = run(t, k.env, "-C", k.dir, "--json", "data", "push", "--remote", "s3")
	if err := json.Unmarshal([]byte(r.stdout), &again); err != nil || r.code != 0 {
		t.Fatalf("push after the kill: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	if d := again.Datasets[0]; d.Objects != int64(k.objects) || d.Skipped != killAfter || d.Transferred != int64(k.objects-killAfter) {
		t.Errorf("push after the kill: %d objects, %d sent, %d already there; want %d, %d, %d",
			d.Objects, d.Transferred, d.Skipped, k.objects, k.objects-killAfter, killAfter)
	}
	if r := run(t, k.env, "-C", k.dir, "data", "check", "--remote", "s3"); r.code != 0 {
		t.Fatalf("check --remote after the second push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Pull verifies every object against its digest, so a fresh clone
	// with the original bytes proves no object on the remote is partial.
	clone := k.clone(t)
	if r := run(t, k.env, "-C", clone, "data", "pull", "--remote", "s3"); r.code != 0 {
		t.Fatalf("pull into a fresh clone: exit %d\n%s", r.code, r.stderr)
	}
	k.assertData(t, clone)
}

func testKilledPull(t *testing.T, bin string, v *remotetest.Versity) {
	proxy := startHoldingProxy(t, v.Endpoint, http.MethodGet, killAfter)
	k := newKillProject(t, v, proxy.endpoint())
	if r := run(t, k.env, "-C", k.dir, "data", "push", "--remote", "s3"); r.code != 0 {
		t.Fatalf("push: exit %d\n%s", r.code, r.stderr)
	}

	clone := k.clone(t)
	p := k.start(t, bin, clone, "data", "pull", "--remote", "held")
	proxy.waitThenKill(t, p)
	if n := proxy.held.Load(); n == 0 {
		t.Fatal("no download was held when pull was killed: it was not cut short")
	}

	// What the killed pull placed is whole; what it had half-downloaded
	// is not in the dataset.
	ds := filepath.Join(clone, "data", "ds")
	got := tree(t, ds)
	if len(got) >= len(k.files) {
		t.Fatalf("the killed pull placed all %d files: it was not cut short", len(got))
	}
	for name, content := range got {
		if want, ok := k.files[filepath.ToSlash(name)]; !ok || string(want) != content {
			t.Errorf("after the kill, %s holds %d bytes that are not the locked file's (known: %v)", name, len(content), ok)
		}
	}
	if r := run(t, k.env, "-C", clone, "data", "check"); r.code != 1 {
		t.Errorf("data check after the kill: exit %d, want 1 (files missing)\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("the killed pull placed %d of %d files; %d downloads were held", len(got), len(k.files), proxy.held.Load())

	var again struct {
		Datasets []transferOutput `json:"datasets"`
	}
	r := run(t, k.env, "-C", clone, "--json", "data", "pull", "--remote", "s3")
	if err := json.Unmarshal([]byte(r.stdout), &again); err != nil || r.code != 0 {
		t.Fatalf("pull after the kill: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	if d := again.Datasets[0]; *d.Present != int64(len(got)) || *d.Placed != int64(len(k.files)-len(got)) {
		t.Errorf("pull after the kill: %d files written, %d already there; want %d and %d", *d.Placed, *d.Present, len(k.files)-len(got), len(got))
	}
	k.assertData(t, clone)

	// The killed pull's staging folder is the only trace it leaves, and it
	// is outside the dataset, in git-ignored .mlci/tmp.
	staged, err := os.ReadDir(filepath.Join(clone, filepath.FromSlash(datasync.TempDir)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range staged {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "pull-") {
			t.Errorf("%s holds %s, not a pull's staging folder", datasync.TempDir, e.Name())
		}
	}
	t.Logf("%s holds %d staging folder(s) after the rerun", datasync.TempDir, len(staged))
}

// killProject is a git project whose dataset ds has a few hundred files of
// distinct content, so each file is one object, with two remotes on one
// bucket: s3 reaches the server directly, held through the proxy.
type killProject struct {
	dir     string
	env     map[string]string
	files   map[string][]byte // the dataset's files by slash path
	objects int               // distinct objects: blobs and tree objects
}

func newKillProject(t *testing.T, v *remotetest.Versity, proxyEndpoint string) *killProject {
	t.Helper()
	bucket := "mlci-" + remotetest.RandomKey(t)
	env := v.Env(v.Secret)
	delete(env, "AWS_ENDPOINT_URL") // each remote names its endpoint
	s, err := remote.Open(t.Context(), "s3://"+bucket+"?path_style=true&endpoint="+v.Endpoint, "", remote.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(*remote.S3).MakeBucket(t.Context()); err != nil {
		t.Fatal(err)
	}

	k := &killProject{dir: t.TempDir(), env: env, files: map[string][]byte{}}
	remoteYAML := func(name, endpoint string) string {
		return "  - name: " + name + "\n    url: s3://" + bucket + "/datasets\n    endpoint: " + endpoint + "\n    path_style: true\n"
	}
	writeFile(t, filepath.Join(k.dir, "mlci.yaml"), "data:\n  - name: ds\n    path: data/ds\nremotes:\n"+
		remoteYAML("s3", v.Endpoint)+remoteYAML("held", proxyEndpoint))
	writeFile(t, filepath.Join(k.dir, ".gitignore"), "/data/\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		// Most files fit in the first read of a download; every 25th is
		// larger, so a download cut short has written part of a file.
		size := 512 + rng.IntN(3584)
		if i%25 == 0 {
			size = 96 << 10
		}
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		name := fmt.Sprintf("part-%02d/file-%03d.bin", i%12, i)
		k.files[name] = b
		writeFile(t, filepath.Join(k.dir, "data", "ds", filepath.FromSlash(name)), string(b))
	}
	if r := run(t, nil, "-C", k.dir, "data", "lock"); r.code != 0 {
		t.Fatalf("data lock: exit %d\n%s", r.code, r.stderr)
	}
	git(t, k.dir, "init", "-q")
	git(t, k.dir, "add", ".")
	git(t, k.dir, "commit", "-q", "-m", "lock ds")

	var c remoteCheckOutput
	r := run(t, env, "-C", k.dir, "--json", "data", "check", "--remote", "s3")
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil || c.Missing != c.Objects {
		t.Fatalf("check --remote of an empty bucket: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	k.objects = c.Objects
	if k.objects < len(k.files) || k.objects <= killAfter {
		t.Fatalf("%d objects for %d files", k.objects, len(k.files))
	}
	return k
}

// clone is a fresh git clone of the project: its config and lock, no data.
func (k *killProject) clone(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	git(t, k.dir, "clone", "-q", k.dir, dir)
	if _, err := os.Lstat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the clone has data before any pull: %v", err)
	}
	return dir
}

// assertData checks that dir's dataset holds exactly the locked files, byte
// for byte and nothing else, and passes data check.
func (k *killProject) assertData(t *testing.T, dir string) {
	t.Helper()
	want := map[string]string{}
	for name, b := range k.files {
		want[filepath.FromSlash(name)] = string(b)
	}
	if d := cmp.Diff(want, tree(t, filepath.Join(dir, "data", "ds"))); d != "" {
		t.Errorf("the dataset differs from the locked files (-locked +pulled):\n%.2000s", d)
	}
	if r := run(t, k.env, "-C", dir, "data", "check"); r.code != 0 {
		t.Errorf("data check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// process is an mlci process the test kills.
type process struct {
	cmd            *exec.Cmd
	exited         chan struct{}
	err            error // Wait's, once exited is closed
	stdout, stderr bytes.Buffer
}

// start runs bin in dir with the project's environment, as a separate
// process that the test can SIGKILL.
func (k *killProject) start(t *testing.T, bin, dir string, args ...string) *process {
	t.Helper()
	p := &process{exited: make(chan struct{})}
	p.cmd = exec.CommandContext(t.Context(), bin, append([]string{"-C", dir}, args...)...)
	p.cmd.Env = os.Environ()
	for key, val := range k.env {
		p.cmd.Env = append(p.cmd.Env, key+"="+val)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// buildMLCIBinary builds cmd/mlci as users get it (static, no cgo), once
// for all the subtests of the test that calls it.
func buildMLCIBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mlci")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "../../cmd/mlci")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// holdingProxy forwards to an S3 server. Of the object requests with one
// method (PUT for uploads, GET for downloads), it lets the first `let`
// through whole; each later one it forwards only halfway, holds until
// released, then cuts: an upload the server gets half of, or a download
// the client gets half of, as a SIGKILL mid-transfer leaves them.
type holdingProxy struct {
	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	method string
	let    int64

	admitted atomic.Int64  // requests of method seen
	answered atomic.Int64  // let-through requests answered
	failed   atomic.Int64  // let-through requests the server refused
	held     atomic.Int64  // requests held
	reached  chan struct{} // closed once `let` requests are answered
	release  chan struct{} // closed to cut the held requests
}

func startHoldingProxy(t *testing.T, target, method string, let int64) *holdingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingProxy{method: method, let: let, reached: make(chan struct{}), release: make(chan struct{})}
	// The Host header is kept as the client signed it, so the server's
	// signature check passes through the proxy.
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
		w.WriteHeader(http.StatusBadGateway) // a cut request; its client is gone
	}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.stop)
	return p
}

func (p *holdingProxy) endpoint() string { return p.srv.URL }

// stop cuts what is held and waits until every request is done, so the
// server has seen the cut uploads end before the test looks at it.
func (p *holdingProxy) stop() {
	select {
	case <-p.release:
	default:
		close(p.release)
	}
	p.srv.Close()
}

func (p *holdingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != p.method || !strings.Contains(r.URL.Path, "/objects/") {
		p.rp.ServeHTTP(w, r)
		return
	}
	if p.admitted.Add(1) <= p.let {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		p.rp.ServeHTTP(sw, r)
		if sw.code/100 != 2 {
			p.failed.Add(1)
		}
		if p.answered.Add(1) == p.let {
			close(p.reached)
		}
		return
	}
	p.held.Add(1)
	if r.Method == http.MethodPut {
		r.Body = &holdBody{ReadCloser: r.Body, left: r.ContentLength / 2, release: p.release}
		p.rp.ServeHTTP(w, r)
		return
	}
	p.rp.ServeHTTP(&holdWriter{ResponseWriter: w, release: p.release}, r)
}

// waitThenKill waits until the proxy has let its transfers through,
// SIGKILLs the process, and cuts what the proxy held.
func (p *holdingProxy) waitThenKill(t *testing.T, proc *process) {
	t.Helper()
	select {
	case <-p.reached:
	case <-proc.exited:
		t.Fatalf("mlci exited before %d transfers were done: %v\n%s%s", p.let, proc.err, proc.stdout.String(), proc.stderr.String())
	}
	if err := proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-proc.exited
	var exit *exec.ExitError
	if !errors.As(proc.err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("mlci was not killed by SIGKILL: %v\n%s", proc.err, proc.stderr.String())
	}
	p.stop()
	if n := p.failed.Load(); n > 0 {
		t.Fatalf("the server refused %d of the %d transfers let through", n, p.let)
	}
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// holdBody passes on the first `left` bytes of an upload, then waits for
// release and fails, which makes the proxy drop its connection to the
// server mid-body.
type holdBody struct {
	io.ReadCloser
	left    int64
	release <-chan struct{}
}

func (b *holdBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		<-b.release
		return 0, errors.New("upload cut by the test's proxy")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// holdWriter passes on the headers and the first half of a successful
// download, flushed so that the client has it, then waits for release and
// fails, which makes the proxy drop the client's connection.
type holdWriter struct {
	http.ResponseWriter
	release <-chan struct{}
	left    int64 // -1: not holding this response
	started bool
}

func (w *holdWriter) WriteHeader(code int) {
	w.started = true
	w.left = -1
	if n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); code == http.StatusOK && err == nil {
		w.left = n / 2
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *holdWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	if w.left < 0 {
		return w.ResponseWriter.Write(b)
	}
	if int64(len(b)) < w.left {
		w.left -= int64(len(b))
		return w.ResponseWriter.Write(b)
	}
	n, err := w.ResponseWriter.Write(b[:w.left])
	w.left = 0
	if err == nil {
		err = http.NewResponseController(w.ResponseWriter).Flush()
	}
	<-w.release
	if err == nil {
		err = errors.New("download cut by the test's proxy")
	}
	return n, err
}

func (w *holdWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
