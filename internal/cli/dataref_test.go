package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// data ref prints what a runner job puts in MLCI_DATASETS: the name and the
// full digest the lock pins, which is the digest the data hashes to.
func TestDataRef(t *testing.T) {
	dir := quickstart(t)
	h := run(t, nil, "-C", dir, "data", "hash", "digits")
	if h.code != 0 {
		t.Fatalf("data hash: exit %d: %s", h.code, h.stderr)
	}
	hashed := strings.Fields(h.stdout)[0]
	if !strings.HasPrefix(hashed, "blake3:") || len(hashed) != len("blake3:")+64 {
		t.Fatalf("data hash printed %q, want a full blake3 digest first", h.stdout)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderrIn []string
	}{
		{"every dataset", nil, 0, "digits@" + hashed + "\n", nil},
		{"one by name", []string{"digits"}, 0, "digits@" + hashed + "\n", nil},
		{"env", []string{"--env"}, 0, "MLCI_DATASETS=digits@" + hashed + "\n", nil},
		{"not locked", []string{"imagenet"}, ExitUsage, "", []string{`"imagenet"`, "mlci data lock imagenet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"-C", dir, "data", "ref"}, tt.args...)...)
			if r.code != tt.code || r.stdout != tt.stdout {
				t.Fatalf("exit %d, stdout %q; want %d, %q (stderr %q)", r.code, r.stdout, tt.code, tt.stdout, r.stderr)
			}
			for _, w := range tt.stderrIn {
				if !strings.Contains(lastLine(r.stderr), w) {
					t.Errorf("last stderr line %q, want it to contain %q", lastLine(r.stderr), w)
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		r := run(t, nil, "-C", dir, "--json", "data", "ref")
		var out struct {
			Datasets []struct{ Name, Digest, Ref string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
			t.Fatalf("exit %d, %v: %q", r.code, err, r.stdout)
		}
		if len(out.Datasets) != 1 || out.Datasets[0].Ref != "digits@"+hashed || out.Datasets[0].Digest != hashed {
			t.Errorf("json = %+v", out)
		}
	})

	t.Run("no lock", func(t *testing.T) {
		empty := t.TempDir()
		writeFile(t, filepath.Join(empty, "mlci.yaml"), "data: [d]\n")
		r := run(t, nil, "-C", empty, "data", "ref")
		if r.code != ExitUsage || !strings.Contains(lastLine(r.stderr), "run mlci data lock first") {
			t.Errorf("exit %d, stderr %q; want %d and how to lock", r.code, r.stderr, ExitUsage)
		}
	})
}
