package dockerjob

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDatasetVolumeName(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name    string
		digest  string
		want    string
		wantErr string
	}{
		{"blake3", "blake3:" + hex, "mlci-data-blake3-" + hex[:32], ""},
		{"sha256", "sha256:" + hex, "mlci-data-sha256-" + hex[:32], ""},
		{"unknown algorithm", "md5:" + hex, "", "want blake3:<hex> or sha256:<hex>"},
		{"no colon", hex, "", "want blake3"},
		{"short", "sha256:abcd", "", "64 lowercase hex"},
		{"upper case", "sha256:" + strings.ToUpper(hex), "", "64 lowercase hex"},
		{"path in hex", "sha256:" + hex[:60] + "/../", "", "64 lowercase hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DatasetVolumeName(tt.digest)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("DatasetVolumeName(%q) error = %v, want one containing %q", tt.digest, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("DatasetVolumeName(%q) = %q, %v; want %q", tt.digest, got, err, tt.want)
			}
		})
	}
}

func TestTarDir(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "sub", "b.bin"), []byte("beta"), 0o600))
	must(os.Symlink("a.txt", filepath.Join(dir, "link")))

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(tarDir(tw, dir))
	must(tw.Close())

	type entry struct {
		Name, Link, Body string
		Mode             int64
		Uid              int
	}
	var got []entry
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(err)
		body, err := io.ReadAll(tr)
		must(err)
		got = append(got, entry{h.Name, h.Linkname, string(body), h.Mode & 0o777, h.Uid})
	}
	// Private source permissions become world-readable: jobs run as any user.
	want := []entry{
		{Name: "a.txt", Body: "alpha", Mode: 0o644},
		{Name: "link", Link: "a.txt", Mode: 0o777},
		{Name: "sub/", Mode: 0o755},
		{Name: "sub/b.bin", Body: "beta", Mode: 0o644},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tar entries (-want +got):\n%s", d)
	}
}

func TestDatasetVolumeRefusesBadInput(t *testing.T) {
	// A nil API is never reached: input is checked before the engine.
	c := FromAPI(nil)
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		name, digest, src, want string
	}{
		{"bad digest", "sha1:" + hex, t.TempDir(), "want blake3"},
		{"missing source", "sha256:" + hex, filepath.Join(t.TempDir(), "nope"), "not a readable directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DatasetVolume(context.Background(), tt.digest, tt.src, "img")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DatasetVolume error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
