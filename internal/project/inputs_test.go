package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckInputName(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{name: "relative", file: "out/metrics.json"},
		{name: "dot segments inside a name", file: "out/..metrics.json"},
		{name: "empty", file: "", want: "an empty file name"},
		{name: "absolute", file: "/etc/passwd", want: "is an absolute path"},
		{name: "parent", file: "out/../../secret", want: `has ".."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkInputName(tt.file)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("checkInputName(%q) = %v, want nil", tt.file, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("checkInputName(%q) = %v, want %q", tt.file, err, tt.want)
			}
		})
	}
}

func TestInGitDir(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{".git/config", true},
		{"sub/.GIT/config", true},
		{"vendor/x/.git", true},
		{".gitignore", false},
		{"a/git/config", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := InGitDir(tt.path); got != tt.want {
				t.Errorf("InGitDir(%s) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestReadInput(t *testing.T) {
	outer := t.TempDir()
	root := filepath.Join(outer, "repo")
	write(t, filepath.Join(root, ".git", "config"), "token")
	write(t, filepath.Join(root, "metrics.json"), `{"acc": 0.9}`)
	write(t, filepath.Join(outer, "outside.json"), "secret")
	for link, target := range map[string]string{
		"inside.json":  "metrics.json",
		"outside.json": filepath.Join(outer, "outside.json"),
		"git.json":     filepath.Join(root, ".git", "config"),
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	p := &Project{Root: root}
	tests := []struct {
		name, file, want, wantErr string
	}{
		{name: "a file", file: "metrics.json", want: `{"acc": 0.9}`},
		{name: "a link inside", file: "inside.json", want: `{"acc": 0.9}`},
		{name: "missing", file: "nope.json", wantErr: "name only files that exist"},
		{name: "a link outside", file: "outside.json", wantErr: "leads outside the repository"},
		{name: "a link into .git", file: "git.json", wantErr: "leads into .git/"},
		{name: "a folder", file: ".git", wantErr: ".git"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := p.ReadInput(tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadInput(%s) = %q, %v; want an error with %q", tt.file, data, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(data) != tt.want {
				t.Errorf("ReadInput(%s) = %q, %v; want %q", tt.file, data, err, tt.want)
			}
		})
	}
}
