package runrecord

import "testing"

func TestRemoteURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"https", "https://github.com/o/r", "https://github.com/o/r"},
		{"https with .git", "https://github.com/o/r.git\n", "https://github.com/o/r"},
		{"CI token", "https://gitlab-ci-token:glcbt-64_SECRET@gitlab.example.com/g/p.git", "https://gitlab.example.com/g/p"},
		{"user only", "https://x-access-token@github.com/o/r.git", "https://github.com/o/r"},
		{"raw @ in the password", "https://bot:p@ss@gitlab.example.com/g/p.git", "https://gitlab.example.com/g/p"},
		{"ssh URL", "ssh://git@github.com:22/o/r.git", "ssh://github.com:22/o/r"},
		{"scp-like", "git@github.com:o/r.git", "github.com:o/r"},
		{"scp-like without user", "github.com:o/r", "github.com:o/r"},
		{"unparsable keeps no credentials", "https://u:SECRET@host:bad/p.git", "https://***@host:bad/p"},
		{"local path", "/srv/git/r.git", ""},
		{"relative path", "../r", ""},
		{"path with a colon", "./a:b/r", ""},
		{"file URL", "file:///srv/git/r.git", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RemoteURL(tt.in); got != tt.want {
				t.Errorf("RemoteURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
