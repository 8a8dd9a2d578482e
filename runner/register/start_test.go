package register

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestDefaultName(t *testing.T) {
	valid := regexp.MustCompile(`^mlci-[a-z0-9-]+-[0-9a-f]{4}-[0-9a-f]{6}$`)
	tests := []struct {
		name, host string
		labels     []string
		wantPrefix string
	}{
		{name: "plain", host: "gpu-box-01", labels: []string{"gpu"}, wantPrefix: "mlci-gpu-box-01-"},
		{name: "fqdn and case", host: "GPU_Box.example.com", wantPrefix: "mlci-gpu-box-"},
		{name: "empty host", host: "", wantPrefix: "mlci-host-"},
		{name: "long host", host: strings.Repeat("a", 100), wantPrefix: "mlci-aaaa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := DefaultName(tt.host, tt.labels), DefaultName(tt.host, tt.labels)
			if a == b {
				t.Errorf("two registrations got the same name %q", a)
			}
			for _, n := range []string{a, b} {
				if !valid.MatchString(n) || !strings.HasPrefix(n, tt.wantPrefix) || len(n) > 64 {
					t.Errorf("name %q: want %s…, matching %s, at most 64 bytes", n, tt.wantPrefix, valid)
				}
			}
		})
	}
	// The label part groups runners with the same labels, in any order.
	x, y := DefaultName("h", []string{"gpu", "H100"}), DefaultName("h", []string{"h100", "gpu"})
	if x[:len(x)-6] != y[:len(y)-6] {
		t.Errorf("same labels, different groups: %q %q", x, y)
	}
}

func TestWriteSecret(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "jit")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSecret(p, "s3cret"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(p); string(b) != "s3cret" {
		t.Errorf("content = %q", b)
	}
	if err := WriteSecret(filepath.Join(dir, "missing", "jit"), "s3cret"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err = %v, want an error without the secret", err)
	}
	checkErr(t, WriteSecret(p, ""), []error{ErrUsage}, "empty")
}

func TestStartCommands(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{
			name: "github with hooks",
			got:  GitHubStartCommand("/opt/actions-runner", "/run/mlci/jit", "/opt/mlci/hooks/index.js"),
			want: `cd /opt/actions-runner && ACTIONS_RUNNER_CONTAINER_HOOKS=/opt/mlci/hooks/index.js ACTIONS_RUNNER_INPUT_JITCONFIG="$(cat /run/mlci/jit)" ./run.sh`,
		},
		{
			name: "github quoting",
			got:  GitHubStartCommand("/opt/my runner", "/tmp/it's", ""),
			want: `cd '/opt/my runner' && ACTIONS_RUNNER_INPUT_JITCONFIG="$(cat '/tmp/it'\''s')" ./run.sh`,
		},
		{
			name: "gitlab with template",
			got:  GitLabStartCommand("https://gitlab.example.com", "/run/mlci/token", "/etc/gitlab-runner/config.toml", "/etc/mlci/template.toml"),
			want: `CI_SERVER_TOKEN="$(cat /run/mlci/token)" gitlab-runner register --non-interactive --config /etc/gitlab-runner/config.toml` +
				` --url https://gitlab.example.com --executor custom --template-config /etc/mlci/template.toml` +
				` && gitlab-runner run --config /etc/gitlab-runner/config.toml`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got  %s\nwant %s", tt.got, tt.want)
			}
		})
	}
}
