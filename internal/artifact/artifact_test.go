package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

func openLayout(t *testing.T) (Store, string) {
	t.Helper()
	base := t.TempDir()
	s, err := Open(context.Background(), "oci-layout:store", base, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(base, "store")
}

// writeTree creates files under dir in the given order, each with its own mtime.
func writeTree(t *testing.T, dir string, files map[string]string, order []string, mtime time.Time) {
	t.Helper()
	for _, name := range order {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

var modelTree = map[string]string{
	"model.onnx":        "weights",
	"config/meta.json":  `{"classes":10}`,
	"config/a/deep.txt": "deep",
	"README":            "digits classifier",
}

func TestPushFileTwiceSameDigest(t *testing.T) {
	s, layout := openLayout(t)
	f := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(f, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ann := map[string]string{"org.mlci.model": "digits"}
	a, err := s.Push(ctx, "digits", f, ann)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Push(ctx, "digits", f, ann)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("pushes differ: %+v vs %+v", a, b)
	}
	if !strings.HasPrefix(a.Digest, "sha256:") || a.Size != int64(len("weights")) || a.Files != 1 {
		t.Errorf("unexpected Pushed %+v", a)
	}
	if want := "oci-layout:" + layout + "@" + a.Digest; a.Ref != want {
		t.Errorf("Ref = %q, want %q", a.Ref, want)
	}
	// The digest pins the content: its manifest's one layer is the file.
	st := s.(*store)
	mdesc, err := st.target.Resolve(ctx, a.Digest)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := st.modelLayer(ctx, mdesc)
	if err != nil {
		t.Fatal(err)
	}
	if layer.Digest != digest.FromString("weights") {
		t.Errorf("layer digest = %s, want the file's", layer.Digest)
	}
}

func TestDirectoryDigestReproducible(t *testing.T) {
	order1 := []string{"model.onnx", "config/meta.json", "config/a/deep.txt", "README"}
	order2 := []string{"README", "config/a/deep.txt", "model.onnx", "config/meta.json"}
	tests := []struct {
		name   string
		order  []string
		mtime  time.Time
		umask0 bool
	}{
		{"sorted order old mtime", order1, time.Unix(1000, 0), false},
		{"reverse order new mtime", order2, time.Now(), false},
		{"other order other perms", order2, time.Unix(5e8, 0), true},
	}
	s, _ := openLayout(t)
	var want Pushed
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, modelTree, tc.order, tc.mtime)
			if tc.umask0 {
				if err := os.Chmod(filepath.Join(dir, "README"), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Push(context.Background(), "digits", dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				want = got
				return
			}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

// roundTrip pushes path, tags it "production", pulls by tag into a fresh
// directory and compares bytes.
func roundTrip(t *testing.T, s Store) {
	t.Helper()
	src := t.TempDir()
	file := filepath.Join(src, "model.bin")
	if err := os.WriteFile(file, []byte("file-weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(src, "digits")
	writeTree(t, dir, modelTree, []string{"README", "model.onnx", "config/meta.json", "config/a/deep.txt"}, time.Now())
	if err := os.Chmod(filepath.Join(dir, "model.onnx"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		path  string
		want  map[string]string // relative path in pull dir -> content
		files int
	}{
		{"file", file, map[string]string{"model.bin": "file-weights"}, 1},
		{"directory", dir, modelTree, len(modelTree)},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Push(ctx, "digits", tc.path, map[string]string{"org.mlci.version": "v1.2.0"})
			if err != nil {
				t.Fatal(err)
			}
			if p.Files != tc.files || !strings.HasSuffix(p.Ref, "@"+p.Digest) {
				t.Errorf("Push = %+v, want %d files and a Ref pinned by its digest", p, tc.files)
			}
			if err := s.Tag(ctx, p.Digest, "production"); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "pulled")
			got, err := s.Pull(ctx, "production", out, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Manifest != p.Digest || got.Files != tc.files {
				t.Errorf("Pull = %+v, want manifest %s and %d files", got, p.Digest, tc.files)
			}
			seen := 0
			err = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(out, path)
				want, ok := tc.want[filepath.ToSlash(rel)]
				if !ok {
					t.Errorf("unexpected file %s", rel)
					return nil
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				if string(b) != want {
					t.Errorf("%s = %q, want %q", rel, b, want)
				}
				seen++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != len(tc.want) {
				t.Errorf("pulled %d files, want %d", seen, len(tc.want))
			}
			if tc.name == "directory" {
				info, err := os.Stat(filepath.Join(out, "model.onnx"))
				if err != nil || info.Mode().Perm() != 0o755 {
					t.Errorf("model.onnx mode = %v, %v; want 0755", info, err)
				}
			}
			// Pulling again over the same directory replaces files in
			// place when asked to, and only then.
			if _, err := s.Pull(ctx, p.Digest, out, PullOptions{}); !errors.Is(err, ErrExists) {
				t.Errorf("re-pull by digest without Overwrite: error = %v, want ErrExists", err)
			}
			if _, err := s.Pull(ctx, p.Digest, out, PullOptions{Overwrite: true}); err != nil {
				t.Errorf("re-pull by digest: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*")); len(left) > 0 {
				t.Errorf("staging left beside the folder: %v", left)
			}
			if left, _ := filepath.Glob(filepath.Join(out, stagingPrefix+"*")); len(left) > 0 {
				t.Errorf("staging left in the folder: %v", left)
			}
		})
	}

	t.Run("unknown tag", func(t *testing.T) {
		_, err := s.Pull(ctx, "no-such-tag", t.TempDir(), PullOptions{})
		if err == nil || !strings.Contains(err.Error(), "no-such-tag") || !errors.Is(err, ErrNotFound) {
			t.Errorf("Pull(no-such-tag) error = %v; want ErrNotFound naming the tag", err)
		}
	})
}

func TestRoundTripLayout(t *testing.T) {
	s, _ := openLayout(t)
	roundTrip(t, s)
}

func tarOf(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(make([]byte, h.Size)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPullRefusesHostileTar(t *testing.T) {
	reg := func(name string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 4}
	}
	dir := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
	link := func(name, target string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}
	}
	tests := []struct {
		name    string
		entries []*tar.Header
		want    string
	}{
		{"dotdot escape", []*tar.Header{reg("../escape")}, `".."`},
		{"nested dotdot", []*tar.Header{reg("a/../../escape")}, `".."`},
		{"absolute path", []*tar.Header{reg("/tmp/escape")}, "absolute"},
		{"symlink escape", []*tar.Header{{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../../etc"}}, "escapes"},
		{"absolute symlink", []*tar.Header{{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc"}}, "escapes"},
		{"char device", []*tar.Header{{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}, "not a file"},
		{"hard link", []*tar.Header{reg("a"), {Name: "b", Typeflag: tar.TypeLink, Linkname: "a"}}, "not a file"},
		{"chained links", []*tar.Header{dir("a/"), link("a/b", ".."), link("c", "a/b/..")}, "escapes"},
		{"chained links, the escaping one first", []*tar.Header{link("c", "a/b/.."), dir("a/"), link("a/b", "..")}, "escapes"},
		{"link through a link", []*tar.Header{link("up", ".."), link("x", "up/escape")}, "escapes"},
		{"link loop", []*tar.Header{link("a", "b"), link("b", "a")}, "links"},
		{"file below a link", []*tar.Header{dir("d/"), link("l", "d"), reg("l/escape")}, "symbolic link"},
		{".git entry", []*tar.Header{reg(".git/config")}, `".git/config"`},
		{"nested .git entry", []*tar.Header{reg("sub/.GIT/config")}, `".GIT"`},
		{"link into .git", []*tar.Header{link("cfg", ".git/config")}, ".git"},
	}
	ctx := context.Background()
	root := t.TempDir()
	layout := filepath.Join(root, "store")
	raw, err := oci.New(layout)
	if err != nil {
		t.Fatal(err)
	}
	type crafted struct{ tag, want string }
	var cases []crafted
	for i, tc := range tests {
		blob := tarOf(t, tc.entries...)
		layer := ocispec.Descriptor{MediaType: MediaTypeTar, Digest: digest.FromBytes(blob), Size: int64(len(blob))}
		if err := raw.Push(ctx, layer, bytes.NewReader(blob)); err != nil {
			t.Fatal(err)
		}
		m, err := oras.PackManifest(ctx, raw, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
		if err != nil {
			t.Fatal(err)
		}
		tag := "evil" + string(rune('a'+i))
		if err := raw.Tag(ctx, m, tag); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, crafted{tag, tc.want})
	}
	s, err := Open(ctx, "oci-layout:"+layout, "/nonexistent", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "deep", "out")
			_, err := s.Pull(ctx, cases[i].tag, out, PullOptions{})
			if err == nil || !strings.Contains(err.Error(), cases[i].want) || !errors.Is(err, ErrRefused) {
				t.Fatalf("Pull error = %v; want ErrRefused containing %s", err, cases[i].want)
			}
			if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
				t.Errorf("refused pull left %v beside %s", left, out)
			}
			for _, p := range []string{filepath.Join(out, "..", "escape"), "/tmp/escape"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != 0 {
				t.Errorf("refused pull left %d entries in %s", len(entries), out)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	// onlyFor logs in to one host and is anonymous elsewhere, as a CI's
	// job token is.
	onlyFor := func(host, user, pass string) func(string) (string, string, error) {
		return func(h string) (string, string, error) {
			if h != host {
				return "", "", nil
			}
			return user, pass, nil
		}
	}
	refuse := func(string) (string, string, error) {
		return "", "", errors.New("registry credentials: set both MLCI_REGISTRY_USERNAME and MLCI_REGISTRY_PASSWORD, or neither")
	}
	base := t.TempDir()
	tests := []struct {
		name      string
		spec      string
		cred      func(host string) (string, string, error)
		wantErr   string
		plainHTTP bool
		user      string
		layoutAt  string
	}{
		{name: "relative layout", spec: "oci-layout:.mlci/artifacts", layoutAt: filepath.Join(base, ".mlci/artifacts")},
		{name: "absolute layout", spec: "oci-layout:" + filepath.Join(base, "abs"), layoutAt: filepath.Join(base, "abs")},
		{name: "empty layout path", spec: "oci-layout:", wantErr: "oci-layout:PATH"},
		{name: "localhost plain http", spec: "oci://localhost:5000/models/digits", plainHTTP: true},
		{name: "loopback plain http", spec: "oci://127.0.0.1:5000/digits", plainHTTP: true},
		{name: "ghcr https with a login", spec: "oci://ghcr.io/acme/digits", cred: onlyFor("ghcr.io", "octocat", "t"), user: "octocat"},
		{name: "gitlab job registry", spec: "oci://registry.gitlab.com/acme/digits", cred: onlyFor("registry.gitlab.com", "gitlab-ci-token", "jt"), user: "gitlab-ci-token"},
		{name: "gitlab job token not sent elsewhere", spec: "oci://harbor.example.com/ml/digits", cred: onlyFor("registry.gitlab.com", "gitlab-ci-token", "jt")},
		{name: "gitlab anonymous", spec: "oci://registry.gitlab.com/acme/digits"},
		{name: "half credentials", spec: "oci://harbor.example.com/ml/digits", cred: refuse, wantErr: "MLCI_REGISTRY_PASSWORD"},
		{name: "tag in spec", spec: "oci://ghcr.io/acme/digits:latest", wantErr: "drop the tag"},
		{name: "digest in spec", spec: "oci://ghcr.io/acme/digits@sha256:" + strings.Repeat("0", 64), wantErr: `"oci://ghcr.io/acme/digits@sha256:000`},
		{name: "credentials in spec", spec: "oci://bot:s3cret@ghcr.io/acme/digits", wantErr: `"oci://***@ghcr.io/acme/digits": credentials do not go in the URL`},
		{name: "bad repo", spec: "oci://ghcr.io", wantErr: "oci://REGISTRY/REPO"},
		{name: "unknown scheme", spec: "s3://bucket/models", wantErr: "oci-layout:PATH or oci://REGISTRY/REPO"},
		{name: "bare path", spec: "./models", wantErr: "oci-layout:PATH or oci://REGISTRY/REPO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.spec, base, Options{Credential: tc.cred})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open(%q) error = %v; want one containing %q", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := s.(*store)
			switch target := st.target.(type) {
			case *oci.Store:
				if tc.layoutAt == "" {
					t.Fatalf("got an OCI layout for %q", tc.spec)
				}
				if _, err := os.Stat(filepath.Join(tc.layoutAt, "oci-layout")); err != nil {
					t.Errorf("layout not created at %s: %v", tc.layoutAt, err)
				}
			case *remote.Repository:
				if target.PlainHTTP != tc.plainHTTP {
					t.Errorf("PlainHTTP = %v, want %v", target.PlainHTTP, tc.plainHTTP)
				}
				// What Open wired in, not what the test passed.
				cred, err := target.Client.(*auth.Client).Credential(context.Background(), target.Reference.Registry)
				if err != nil {
					t.Fatal(err)
				}
				if cred.Username != tc.user {
					t.Errorf("username = %q, want %q", cred.Username, tc.user)
				}
			default:
				t.Fatalf("unexpected target %T", target)
			}
		})
	}
}
