package runnercli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/gpu/gputest"
	"github.com/mlci/mlci/runner/runnercli"
)

func TestGPUs(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(*gputest.Server)
		args   []string
		code   int
		stdout []string // substrings stdout must hold
		errs   []string // substrings of the one stderr line; nil: stderr empty
	}{
		{
			name:   "healthy host",
			args:   []string{"gpus"},
			stdout: []string{"Driver " + gputest.DriverVersion + "  CUDA 12.4  NVML " + gputest.NVMLVersion, "IDX", "HEALTH"},
		},
		{
			name:   "processes and MIG devices are shown, still healthy",
			fault:  func(s *gputest.Server) { s.AddProcess(1, 4242, 2<<30); s.EnableMIG(6, 2) },
			args:   []string{"gpus"},
			stdout: []string{"PID 4242", gputest.MIGUUID(6, 0), gputest.MIGUUID(6, 1)},
		},
		{
			name:   "ECC errors make GPU 3 unhealthy",
			fault:  func(s *gputest.Server) { s.SetECCErrors(3, 2) },
			args:   []string{"gpus"},
			code:   runnercli.ExitFailed,
			stdout: []string{"UNHEALTHY"},
			errs:   []string{"mlci-runner: 1 unhealthy GPU(s): GPU 3 (" + gputest.UUID(3) + "): ", "ECC"},
		},
		{
			name:   "unhealthy with --json still prints the inventory",
			fault:  func(s *gputest.Server) { s.SetECCErrors(3, 2) },
			args:   []string{"--json", "gpus"},
			code:   runnercli.ExitFailed,
			stdout: []string{`"gpus"`},
			errs:   []string{"mlci-runner: 1 unhealthy GPU(s): GPU 3 ("},
		},
		{
			name:   "a lost GPU is unhealthy",
			fault:  func(s *gputest.Server) { s.LoseGPU(5) },
			args:   []string{"gpus"},
			code:   runnercli.ExitFailed,
			stdout: []string{gputest.UUID(5)},
			errs:   []string{"mlci-runner: 1 unhealthy GPU(s): GPU 5 (" + gputest.UUID(5) + "): "},
		},
		{
			name:  "two unhealthy GPUs in one line",
			fault: func(s *gputest.Server) { s.SetECCErrors(0, 1); s.SetTemperature(7, gputest.SlowdownTemperatureC+5) },
			args:  []string{"gpus"},
			code:  runnercli.ExitFailed,
			errs:  []string{"mlci-runner: 2 unhealthy GPU(s): GPU 0 (", "; GPU 7 ("},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, srv := healthyHost(t)
			if tt.fault != nil {
				tt.fault(srv)
			}
			r := h.run(tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			for i := range 8 {
				if !strings.Contains(r.stdout, gputest.UUID(i)) {
					t.Errorf("stdout does not list GPU %d's UUID %s:\n%s", i, gputest.UUID(i), r.stdout)
				}
			}
			for _, w := range tt.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, r.stdout)
				}
			}
			if tt.errs == nil {
				if r.stderr != "" {
					t.Errorf("stderr = %q, want empty", r.stderr)
				}
				return
			}
			oneErrorLine(t, r.stderr, tt.errs...)
		})
	}
}

func TestGPUsJSON(t *testing.T) {
	h, _ := healthyHost(t)
	r := h.mustRun("gpus", "--json")
	var inv gpu.Inventory
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&inv); err != nil {
		t.Fatalf("stdout is not a gpu.Inventory: %v\n%s", err, r.stdout)
	}
	if inv.Driver != gputest.DriverVersion || inv.CUDA != "12.4" {
		t.Errorf("driver %q CUDA %q, want %q and 12.4", inv.Driver, inv.CUDA, gputest.DriverVersion)
	}
	if len(inv.GPUs) != 8 {
		t.Fatalf("%d GPUs, want 8", len(inv.GPUs))
	}
	for i, d := range inv.GPUs {
		if d.Index != i || d.UUID != gputest.UUID(i) || !d.Health.Healthy {
			t.Errorf("GPU %d: index %d UUID %s healthy %v, want %d %s true", i, d.Index, d.UUID, d.Health.Healthy, i, gputest.UUID(i))
		}
	}
}

// Every command that reads the GPUs says the same thing on a host without
// the driver: one line, exit 1.
func TestNoDriver(t *testing.T) {
	for _, args := range [][]string{
		{"gpus"},
		{"--json", "gpus"},
		{"gpus", "fingerprint"},
		{"gpus", "labels"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			h := newHost(t, nil)
			r := h.run(args...)
			if r.code != runnercli.ExitFailed {
				t.Errorf("exit %d, want %d", r.code, runnercli.ExitFailed)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want empty", r.stdout)
			}
			oneErrorLine(t, r.stderr, "no NVIDIA driver", "library not found")
		})
	}
}

func TestFingerprint(t *testing.T) {
	h, _ := healthyHost(t)
	decode := func(t *testing.T, text string) gpu.Fingerprint {
		t.Helper()
		var fp gpu.Fingerprint
		if err := json.Unmarshal([]byte(text), &fp); err != nil {
			t.Fatalf("fingerprint is not JSON: %v\n%s", err, text)
		}
		if !strings.HasPrefix(fp.Digest, "sha256:") || len(fp.Digest) != len("sha256:")+64 {
			t.Errorf("digest %q, want sha256:<64 hex>", fp.Digest)
		}
		if fp.Driver != gputest.DriverVersion {
			t.Errorf("driver %q, want %q", fp.Driver, gputest.DriverVersion)
		}
		return fp
	}
	all := h.mustRun("gpus", "fingerprint").stdout
	full := decode(t, all)
	if len(full.GPUs) != 8 {
		t.Errorf("%d GPUs in the full fingerprint, want 8", len(full.GPUs))
	}
	if again := h.mustRun("gpus", "fingerprint").stdout; again != all {
		t.Errorf("fingerprint differs between runs:\n%s\n%s", all, again)
	}

	tests := []struct {
		name  string
		args  []string
		uuids []string
	}{
		{"one GPU", []string{"--uuid", gputest.UUID(2)}, []string{gputest.UUID(2)}},
		{"repeated flag", []string{"--uuid", gputest.UUID(5), "--uuid", gputest.UUID(1)}, []string{gputest.UUID(1), gputest.UUID(5)}},
		{"comma list", []string{"--uuid", gputest.UUID(0) + "," + gputest.UUID(7)}, []string{gputest.UUID(0), gputest.UUID(7)}},
		{"unknown UUIDs are ignored", []string{"--uuid", "GPU-nope", "--uuid", gputest.UUID(4)}, []string{gputest.UUID(4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := decode(t, h.mustRun(append([]string{"gpus", "fingerprint"}, tt.args...)...).stdout)
			var got []string
			for _, g := range fp.GPUs {
				got = append(got, g.UUID)
			}
			if strings.Join(got, " ") != strings.Join(tt.uuids, " ") {
				t.Errorf("GPUs %v, want %v", got, tt.uuids)
			}
			if fp.Digest == full.Digest {
				t.Errorf("a subset has the full fingerprint's digest %s", fp.Digest)
			}
		})
	}

	t.Run("-o writes the file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "hardware.json")
		r := h.mustRun("gpus", "fingerprint", "-o", out)
		if r.stdout != "" {
			t.Errorf("stdout = %q, want empty with -o", r.stdout)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != all {
			t.Errorf("file holds\n%s\nwant what stdout gets\n%s", b, all)
		}
	})
	t.Run("-o into a missing directory", func(t *testing.T) {
		r := h.run("gpus", "fingerprint", "-o", filepath.Join(t.TempDir(), "no", "such", "hardware.json"))
		if r.code == runnercli.ExitOK {
			t.Fatal("exit 0, want an error")
		}
		oneErrorLine(t, r.stderr, "hardware fingerprint")
	})
}

func TestLabels(t *testing.T) {
	tests := []struct {
		name string
		srv  func(t *testing.T) *gputest.Server
		want string
	}{
		{"8 A100s", func(t *testing.T) *gputest.Server { return gputest.NewServer(t, 8) }, "cuda-12,gpu,gpu-a100,gpu-mem-40g,gpus-8"},
		{"unhealthy GPUs still count", func(t *testing.T) *gputest.Server {
			s := gputest.NewServer(t, 2)
			s.SetECCErrors(1, 3)
			return s
		}, "cuda-12,gpu,gpu-a100,gpu-mem-40g,gpus-2"},
		{"a driver without GPUs", func(t *testing.T) *gputest.Server { return gputest.NewServer(t, 0) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, tt.srv(t))
			r := h.mustRun("gpus", "labels")
			if r.stdout != tt.want+"\n" {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.want+"\n")
			}
		})
	}
}

func TestLeasesTry(t *testing.T) {
	t.Run("healthy host", func(t *testing.T) {
		h, _ := healthyHost(t)
		r := h.run("leases", "try", "--gpus", "2")
		if r.code != runnercli.ExitOK || !strings.Contains(r.stderr, "mlci-runner: leased 2 GPUs: GPU-") {
			t.Errorf("exit %d, stderr %q; want 0 and the job-log line", r.code, r.stderr)
		}
		if !strings.HasPrefix(r.stdout, "leased GPU-") || !strings.Contains(r.stdout, `"digest": "sha256:`) || !strings.Contains(r.stdout, " clean\n") {
			t.Errorf("stdout = %q", r.stdout)
		}
		if l := h.mustRun("leases"); l.stdout != "no leases\n" {
			t.Errorf("leases after the trial: %q", l.stdout)
		}
	})
	t.Run("more than the host has", func(t *testing.T) {
		h, srv := healthyHost(t)
		srv.SetECCErrors(3, 1)
		r := h.run("leases", "try", "--gpus", "8")
		if r.code != runnercli.ExitFailed {
			t.Errorf("exit %d, want %d", r.code, runnercli.ExitFailed)
		}
		oneErrorLine(t, r.stderr, "asks for 8 GPUs", "ECC")
	})
	t.Run("no driver", func(t *testing.T) {
		h, _ := healthyHost(t)
		h.nvml = noDriver
		r := h.run("leases", "try", "--gpus", "1")
		if r.code != runnercli.ExitFailed {
			t.Errorf("exit %d, want %d", r.code, runnercli.ExitFailed)
		}
		oneErrorLine(t, r.stderr, "no NVIDIA driver")
	})
	t.Run("bad count", func(t *testing.T) {
		h, _ := healthyHost(t)
		if r := h.run("leases", "try", "--gpus", "-1"); r.code != runnercli.ExitUsage {
			t.Errorf("exit %d, want %d", r.code, runnercli.ExitUsage)
		}
	})
}
