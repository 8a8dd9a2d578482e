package gitrepo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	gitCmd(t, dir, "init", "-q", "-b", "main")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"m.json": `{"a": 1}`, "sub/x.json": "{}", "*.json": "star", "big.json": strings.Repeat("x", 100)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(".git/config", filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, dir, "add", ".")
	gitCmd(t, dir, "commit", "-q", "-m", "files")
	ctx := context.Background()
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		want    string
		wantErr error
		errText string
	}{
		{path: "m.json", want: `{"a": 1}`},
		{path: "sub/x.json", want: "{}"},
		{path: "*.json", want: "star"}, // a name, not a pattern
		{path: "link.json", wantErr: ErrSymlink},
		{path: "missing.json", wantErr: ErrNotFound},
		{path: "sub", errText: "is a directory"},
		{path: "big.json", wantErr: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := r.File(ctx, "HEAD", tt.path, 64)
			switch {
			case tt.wantErr != nil || tt.errText != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("File(%s) = %q, %v; want error %v %q", tt.path, got, err, tt.wantErr, tt.errText)
				}
			case err != nil || string(got) != tt.want:
				t.Errorf("File(%s) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}
}
