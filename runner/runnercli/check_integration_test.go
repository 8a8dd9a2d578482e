//go:build integration

package runnercli_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/mlci/mlci/runner/runnercli"
)

func TestCheck(t *testing.T) {
	t.Run("healthy host", func(t *testing.T) {
		h, _ := healthyHost(t)
		r := h.run("check")
		if r.code != runnercli.ExitOK {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"ok    gpus        driver 550.54.15, CUDA 12.4, 8 GPU(s); labels cuda-12,gpu,gpu-a100", "ok    docker      engine ", "ok    config"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("no %q in:\n%s", want, r.stdout)
			}
		}
	})
	// A state dir others can write fails, and the quarantine in it is not
	// listed: nothing in such a directory can be trusted.
	t.Run("unhealthy GPU, quarantine and a writable state dir", func(t *testing.T) {
		h, srv := healthyHost(t)
		srv.SetECCErrors(2, 3)
		h.mustRun("gpus", "quarantine", "GPU-00000000-0000-0000-0000-000000000005", "--reason", "fan")
		state := h.env["MLCI_RUNNER_STATE_DIR"]
		if err := os.Chmod(state, 0o777); err != nil {
			t.Fatal(err)
		}
		r := h.run("--json", "check")
		if r.code != runnercli.ExitFailed {
			t.Errorf("exit %d, want %d", r.code, runnercli.ExitFailed)
		}
		var rs []struct{ Level, What, Say string }
		if err := json.Unmarshal([]byte(r.stdout), &rs); err != nil {
			t.Fatalf("--json output: %v\n%s", err, r.stdout)
		}
		want := map[string]string{"gpu": "fail", "state": "fail"}
		for _, c := range rs {
			if c.What == "quarantine" {
				t.Errorf("quarantine listed from an untrusted state dir: %s", c.Say)
			}
			if lvl, ok := want[c.What]; ok {
				if c.Level != lvl {
					t.Errorf("%s: level %s, want %s (%s)", c.What, c.Level, lvl, c.Say)
				}
				delete(want, c.What)
			}
		}
		if len(want) != 0 {
			t.Errorf("missing checks %v in %+v", want, rs)
		}
		oneErrorLine(t, r.stderr, "2 check(s) failed")
	})
}
