package lockfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
)

const goodDigest = "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"

func sampleLock() *Lock {
	l := New()
	l.Datasets["images"] = &Dataset{
		Path: "data/images", Digest: goodDigest, Files: 3, Bytes: 42,
		Manifest: ManifestPath("images"), Exclude: []string{"*.tmp"},
	}
	l.Datasets["data/labels.csv"] = &Dataset{
		Path: "data/labels.csv", Digest: goodDigest, Files: 1, Bytes: 7,
		Manifest: ManifestPath("data/labels.csv"),
	}
	return l
}

func TestEncodeGolden(t *testing.T) {
	got := sampleLock().Encode()
	want, err := os.ReadFile(filepath.Join("testdata", "sample.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("encoded lock differs from testdata/sample.lock (-want +got):\n%s", d)
	}
	back, err := Parse("mlci.lock", got)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sampleLock(), back); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		wantMsg string
	}{
		{"empty", "", ErrMalformed, "mlci.lock"},
		{"truncated", `{"version": 1, "datasets": {`, ErrMalformed, "unexpected end"},
		{"syntax error with position", "{\n  \"version\": 1,\n  \"datasets\": {]\n}", ErrMalformed, "mlci.lock:3:"},
		{"newer version", `{"version": 3, "datasets": {}}`, ErrNewerVersion, "upgrade mlci"},
		{"no version", `{"datasets": {}}`, ErrMalformed, "no \"version\""},
		{"zero version", `{"version": 0}`, ErrMalformed, "unknown format version 0"},
		{"unknown field", `{"version": 1, "datasets": {}, "extra": 1}`, ErrMalformed, "extra"},
		{"wrong type", `{"version": 1, "datasets": {"a": {"files": "3"}}}`, ErrMalformed, "mlci.lock:1:"},
		{"bad digest", `{"version": 1, "datasets": {"a": {"path": "a", "files": 1, "digest": "md5:00", "manifest": "mlci.lock.d/a.tsv"}}}`, ErrMalformed, `dataset "a"`},
		{"manifest escapes", `{"version": 1, "datasets": {"a": {"path": "a", "files": 1, "digest": "` + goodDigest + `", "manifest": "mlci.lock.d/../../etc/passwd"}}}`, ErrMalformed, "not a file in mlci.lock.d/"},
		{"null dataset", `{"version": 1, "datasets": {"a": null}}`, ErrMalformed, "null entry"},
		{"trailing data", `{"version": 1, "datasets": {}} {}`, ErrMalformed, "after top-level value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("mlci.lock", []byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("err %q is more than one line", err)
			}
		})
	}
}

func TestParseAcceptsBOM(t *testing.T) {
	if _, err := Parse("mlci.lock", append([]byte("\xef\xbb\xbf"), sampleLock().Encode()...)); err != nil {
		t.Fatal(err)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	entries := []datahash.Entry{
		{Path: "a/x", Type: datahash.File, Size: 1, Sum: datahash.Sum{1}},
		{Path: "a.b", Type: datahash.Symlink, Size: 3, Sum: datahash.Sum{2}},
		{Path: "tab\there", Type: datahash.File, Size: 0, Sum: datahash.Sum{3}},
		{Path: "z\xff\xfe", Type: datahash.File, Size: 9, Sum: datahash.Sum{4}},
		{Path: "z\"quote", Type: datahash.File, Size: 9, Sum: datahash.Sum{5}},
		{Path: "zz\\back", Type: datahash.File, Size: 9, Sum: datahash.Sum{6}},
	}
	datahash.Sort(entries)
	data := EncodeManifest(digest.SHA256, entries)
	alg, got, err := ParseManifest("m.tsv", data)
	if err != nil {
		t.Fatal(err)
	}
	if alg != digest.SHA256 {
		t.Errorf("algorithm = %s", alg)
	}
	if d := cmp.Diff(entries, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	single := []datahash.Entry{{Path: "", Type: datahash.File, Size: 4, Sum: datahash.Sum{9}}}
	if _, got, err := ParseManifest("m.tsv", EncodeManifest(digest.BLAKE3, single)); err != nil || got[0].Path != "" {
		t.Errorf("single-file manifest: %v %v", got, err)
	}
}

func TestParseManifestErrors(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		name, in, want string
	}{
		{"no header", "f\t1\t" + h + "\ta\n", ":1:"},
		{"bad algorithm", "# mlci-manifest 1 md5\n", "md5"},
		{"no entries", "# mlci-manifest 1 blake3\n", "no entries"},
		{"few fields", "# mlci-manifest 1 blake3\nf\t1\ta\n", ":2: malformed manifest: want 4"},
		{"bad type", "# mlci-manifest 1 blake3\nd\t1\t" + h + "\ta\n", "unknown entry type"},
		{"bad size", "# mlci-manifest 1 blake3\nf\t-1\t" + h + "\ta\n", "bad size"},
		{"short digest", "# mlci-manifest 1 blake3\nf\t1\tabcd\ta\n", "64 hex"},
		{"out of order", "# mlci-manifest 1 blake3\nf\t1\t" + h + "\tb\nf\t1\t" + h + "\ta\n", ":3:"},
		{"duplicate", "# mlci-manifest 1 blake3\nf\t1\t" + h + "\ta\nf\t1\t" + h + "\ta\n", "repeated"},
		{"dot dot", "# mlci-manifest 1 blake3\nf\t1\t" + h + "\t../x\n", "clean relative"},
		{"bad quote", "# mlci-manifest 1 blake3\nf\t1\t" + h + "\t\"abc\n", "bad quoted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseManifest("m.tsv", []byte(tt.in))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrMalformed containing %q", err, tt.want)
			}
		})
	}
}

func TestManifestPath(t *testing.T) {
	tests := []struct{ name, want string }{
		{"images", "mlci.lock.d/images.tsv"},
		{"v1.2_x-y", "mlci.lock.d/v1.2_x-y.tsv"},
	}
	for _, tt := range tests {
		if got := ManifestPath(tt.name); got != tt.want {
			t.Errorf("ManifestPath(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	seen := map[string]string{}
	for _, n := range []string{"data/images", "data-images", "data images", "..", "/", "a/b.c"} {
		p := ManifestPath(n)
		if other, dup := seen[p]; dup {
			t.Errorf("%q and %q share manifest %s", n, other, p)
		}
		seen[p] = n
		l := New()
		l.Datasets[n] = &Dataset{Path: "x", Digest: goodDigest, Files: 1, Manifest: p}
		if _, err := Parse("mlci.lock", l.Encode()); err != nil {
			t.Errorf("name %q: manifest path %q rejected: %v", n, p, err)
		}
	}
}

func TestSaveWritesManifestsAndPrunes(t *testing.T) {
	dir := t.TempDir()
	entries := []datahash.Entry{{Path: "a", Type: datahash.File, Size: 1, Sum: datahash.Sum{1}}}
	l := sampleLock()
	m := EncodeManifest(digest.BLAKE3, entries)
	if err := Save(dir, l, map[string][]byte{"images": m, "data/labels.csv": m}); err != nil {
		t.Fatal(err)
	}
	delete(l.Datasets, "images")
	if err := Save(dir, l, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestPath("images"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("manifest of removed dataset still there: %v", err)
	}
	back, err := Read(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, back.Datasets["data/labels.csv"].Manifest))
	if err != nil || string(got) != string(m) {
		t.Errorf("manifest = %q, %v", got, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sampleLock().Encode())
	f.Add([]byte(`{"version": 1}`))
	f.Add([]byte(`{"version": 3}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("mlci.lock", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		// Whatever parses must re-encode to something that parses the same.
		again, err := Parse("mlci.lock", l.Encode())
		if err != nil {
			t.Fatalf("re-encoded lock does not parse: %v", err)
		}
		if d := cmp.Diff(l, again); d != "" {
			t.Fatalf("re-encode changed the lock:\n%s", d)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add(EncodeManifest(digest.BLAKE3, []datahash.Entry{{Path: "a/b", Type: datahash.File, Size: 3}}))
	f.Add([]byte("# mlci-manifest 1 blake3\nl\t0\t" + strings.Repeat("0", 64) + "\t\"\\xff\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		alg, entries, err := ParseManifest("m.tsv", data)
		if err != nil {
			return
		}
		// Every manifest that parses must round-trip exactly.
		alg2, again, err := ParseManifest("m.tsv", EncodeManifest(alg, entries))
		if err != nil || alg2 != alg {
			t.Fatalf("re-encoded manifest does not parse: %v", err)
		}
		if d := cmp.Diff(entries, again); d != "" {
			t.Fatalf("round trip changed entries:\n%s", d)
		}
	})
}
