package jobrun

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/syncbuf"
	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/gpu/gputest"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/lease"
)

type fixture struct {
	host   *Host
	store  *lease.Store // the host's leases, for what Host does not ask of them
	srv    *gputest.Server
	log    *syncbuf.Buffer
	mu     sync.Mutex
	killed []int
}

// newFixture is a host with n mocked GPUs. Kill ends the process in the
// mock as the driver would, unless the pid is in stubborn.
func newFixture(t *testing.T, n int, stubborn ...int) *fixture {
	t.Helper()
	cfg := hostconfig.Default()
	cfg.StateDir = t.TempDir()
	cfg.GPUWait = 0
	cfg.TelemetryInterval = hostconfig.Duration(time.Millisecond)
	store, err := lease.Open(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{log: &syncbuf.Buffer{}, store: store}
	if n > 0 {
		f.srv = gputest.NewServer(t, n)
		h, err := gpu.Open(f.srv)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		f.host = &Host{Config: cfg, Leases: store, GPUs: h}
	} else {
		f.host = &Host{Config: cfg, Leases: store}
	}
	f.host.Log = f.log
	f.host.Kill = func(pid int) error {
		f.mu.Lock()
		f.killed = append(f.killed, pid)
		f.mu.Unlock()
		if slices.Contains(stubborn, pid) {
			return nil
		}
		f.srv.KillProcess(uint32(pid))
		return nil
	}
	f.host.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return f
}

func readFingerprint(t *testing.T, path string) gpu.Fingerprint {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fp gpu.Fingerprint
	if err := json.Unmarshal(data, &fp); err != nil {
		t.Fatalf("hardware file is not JSON: %v\n%s", err, data)
	}
	return fp
}

func TestAllocateLeasesAndFingerprints(t *testing.T) {
	f := newFixture(t, 8)
	ctx := t.Context()
	a, err := f.host.Allocate(ctx, "gitlab:1", Ask{Count: 2}, lease.Self())
	if err != nil {
		t.Fatal(err)
	}
	if len(a.GPUs) != 2 {
		t.Fatalf("leased %v, want 2 GPUs", a.GPUs)
	}
	l, ok, err := f.host.Leases.Get("gitlab:1")
	if err != nil || !ok || !slices.Equal(l.IDs, a.GPUs) {
		t.Fatalf("lease = %+v %v %v; want the allocation's GPUs", l, ok, err)
	}
	fp := readFingerprint(t, filepath.Join(a.Dir, HardwareFileName))
	var uuids []string
	for _, g := range fp.GPUs {
		uuids = append(uuids, g.UUID)
	}
	slices.Sort(uuids)
	want := slices.Sorted(slices.Values(a.GPUs))
	if !slices.Equal(uuids, want) || fp.Driver != gputest.DriverVersion || !strings.HasPrefix(fp.Digest, "sha256:") {
		t.Errorf("fingerprint = %+v; want GPUs %v and driver %s", fp, want, gputest.DriverVersion)
	}
	if a.Env[EnvHardwareFile] != "/mlci/hardware.json" || a.Env["MLCI_GPU_COUNT"] != "2" {
		t.Errorf("env = %v", a.Env)
	}
	// A second job gets other GPUs.
	b, err := f.host.Allocate(ctx, "gitlab:2", Ask{Count: 2}, lease.Self())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range b.GPUs {
		if slices.Contains(a.GPUs, id) {
			t.Fatalf("GPU %s leased to two jobs: %v and %v", id, a.GPUs, b.GPUs)
		}
	}
	if _, err := f.host.Release(ctx, "gitlab:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job folder left after release: %v", err)
	}
	if _, ok, _ := f.host.Leases.Get("gitlab:1"); ok {
		t.Error("lease left after release")
	}
}

func TestAllocateWithoutGPUs(t *testing.T) {
	t.Run("no driver, no ask", func(t *testing.T) {
		f := newFixture(t, 0)
		a, err := f.host.Allocate(t.Context(), "github:x", Ask{}, lease.Self())
		if err != nil {
			t.Fatal(err)
		}
		fp := readFingerprint(t, filepath.Join(a.Dir, HardwareFileName))
		if len(fp.GPUs) != 0 || len(a.GPUs) != 0 || a.Env["MLCI_GPU_COUNT"] != "0" {
			t.Errorf("fingerprint %+v, GPUs %v", fp, a.GPUs)
		}
		if ls, _ := f.host.Leases.List(); len(ls) != 0 {
			t.Errorf("a CPU job took a lease: %v", ls)
		}
	})
	t.Run("driver, no ask", func(t *testing.T) {
		f := newFixture(t, 2)
		a, err := f.host.Allocate(t.Context(), "github:y", Ask{}, lease.Self())
		if err != nil {
			t.Fatal(err)
		}
		fp := readFingerprint(t, filepath.Join(a.Dir, HardwareFileName))
		if len(fp.GPUs) != 0 || fp.Driver != gputest.DriverVersion {
			t.Errorf("fingerprint %+v; want the driver and no GPUs", fp)
		}
	})
	t.Run("no driver, asks for GPUs", func(t *testing.T) {
		f := newFixture(t, 0)
		_, err := f.host.Allocate(t.Context(), "github:z", Ask{Count: 1}, lease.Self())
		if !errors.Is(err, ErrNoGPUs) || !strings.Contains(err.Error(), "drop MLCI_GPUS") {
			t.Fatalf("err = %v; want ErrNoGPUs with advice", err)
		}
	})
}

func TestAllocateNeverGivesBadGPUs(t *testing.T) {
	tests := []struct {
		name    string
		bad     int
		fault   func(*gputest.Server)
		wantErr error
		msg     string
	}{
		{name: "ECC errors", bad: 3, fault: func(s *gputest.Server) { s.SetECCErrors(3, 2) }, wantErr: lease.ErrUnsatisfiable, msg: "ECC"},
		{name: "lost GPU", bad: 5, fault: func(s *gputest.Server) { s.LoseGPU(5) }, wantErr: lease.ErrUnsatisfiable, msg: "lost"},
		{name: "stray process", bad: 1, fault: func(s *gputest.Server) { s.AddProcess(1, 4242, 1<<30) }, wantErr: lease.ErrTimeout, msg: "no job owns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 8)
			tc.fault(f.srv)
			_, err := f.host.Allocate(t.Context(), "j", Ask{Count: 8}, lease.Self())
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; want %v mentioning %q", err, tc.wantErr, tc.msg)
			}
			a, err := f.host.Allocate(t.Context(), "k", Ask{Count: 7}, lease.Self())
			if err != nil {
				t.Fatalf("the 7 good GPUs: %v", err)
			}
			if slices.Contains(a.GPUs, gputest.UUID(tc.bad)) {
				t.Fatalf("handed out faulty GPU %s", gputest.UUID(tc.bad))
			}
		})
	}
}

func TestAllocateMIG(t *testing.T) {
	f := newFixture(t, 1)
	f.srv.EnableMIG(0, 3)
	a, err := f.host.Allocate(t.Context(), "mig-job", Ask{Count: 2}, lease.Self())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range a.GPUs {
		if !strings.HasPrefix(id, "MIG-") {
			t.Errorf("leased %s; a GPU in MIG mode is handed out as MIG devices", id)
		}
	}
}

func TestReleaseKillsLeftoversAndQuarantines(t *testing.T) {
	t.Run("processes killed, GPU clean", func(t *testing.T) {
		f := newFixture(t, 2)
		a, err := f.host.Allocate(t.Context(), "j", Ask{Count: 1}, lease.Self())
		if err != nil {
			t.Fatal(err)
		}
		idx := slices.Index([]string{gputest.UUID(0), gputest.UUID(1)}, a.GPUs[0])
		f.srv.AddProcess(idx, 777, 2<<30)
		out, err := f.host.Release(t.Context(), "j")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.Killed, []int{777}) || len(out.Quarantined) != 0 {
			t.Errorf("outcome = %+v; want pid 777 killed and nothing quarantined", out)
		}
		if q, _ := f.store.Quarantined(); len(q) != 0 {
			t.Errorf("quarantined %v", q)
		}
	})
	t.Run("process survives, GPU quarantined", func(t *testing.T) {
		f := newFixture(t, 2, 888)
		a, err := f.host.Allocate(t.Context(), "j", Ask{Count: 1}, lease.Self())
		if err != nil {
			t.Fatal(err)
		}
		idx := slices.Index([]string{gputest.UUID(0), gputest.UUID(1)}, a.GPUs[0])
		f.srv.AddProcess(idx, 888, 2<<30)
		out, err := f.host.Release(t.Context(), "j")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out.Quarantined[a.GPUs[0]]; !ok {
			t.Fatalf("outcome = %+v; want %s quarantined", out, a.GPUs[0])
		}
		q, _ := f.store.Quarantined()
		if !strings.Contains(q[a.GPUs[0]], "still running") {
			t.Errorf("quarantine reason = %q", q[a.GPUs[0]])
		}
		// The next job never gets it.
		b, err := f.host.Allocate(t.Context(), "k", Ask{Count: 1}, lease.Self())
		if err != nil || b.GPUs[0] == a.GPUs[0] {
			t.Errorf("next job got %v, %v", b.GPUs, err)
		}
		if !strings.Contains(f.log.String(), "quarantined GPU") {
			t.Errorf("log does not report the quarantine:\n%s", f.log)
		}
	})
	t.Run("memory not freed, GPU quarantined", func(t *testing.T) {
		f := newFixture(t, 1)
		if _, err := f.host.Allocate(t.Context(), "j", Ask{Count: 1}, lease.Self()); err != nil {
			t.Fatal(err)
		}
		f.srv.SetMemoryUsed(0, 8<<30)
		out, err := f.host.Release(t.Context(), "j")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.Quarantined[gputest.UUID(0)], "MiB of memory still in use") {
			t.Errorf("outcome = %+v", out)
		}
	})
	t.Run("release twice", func(t *testing.T) {
		f := newFixture(t, 1)
		if _, err := f.host.Allocate(t.Context(), "j", Ask{Count: 1}, lease.Self()); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if _, err := f.host.Release(t.Context(), "j"); err != nil {
				t.Fatalf("release %d: %v", i, err)
			}
		}
	})
}

// A job whose runner died never calls cleanup: the next allocation reclaims
// its lease and cleans its GPUs before anyone gets them.
func TestSweepReclaimsDeadJobs(t *testing.T) {
	f := newFixture(t, 1)
	dead := lease.Owner{PID: os.Getpid(), Start: 1} // our pid, wrong start: a reused pid
	if _, err := f.host.Allocate(t.Context(), "crashed", Ask{Count: 1}, dead); err != nil {
		t.Fatal(err)
	}
	f.srv.AddProcess(0, 999, 1<<30)
	var removed []string
	f.host.Engine = &hostEngine{remove: func(ctx context.Context, id string) error { removed = append(removed, id); return nil }}
	if err := f.host.Leases.SetContainer("crashed", "abc123"); err != nil {
		t.Fatal(err)
	}
	a, err := f.host.Allocate(t.Context(), "next", Ask{Count: 1}, lease.Self())
	if err != nil {
		t.Fatal(err)
	}
	if a.GPUs[0] != gputest.UUID(0) || !slices.Contains(f.killed, 999) || !slices.Equal(removed, []string{"abc123"}) {
		t.Errorf("got %v, killed %v, removed %v; want the GPU cleaned and re-leased", a.GPUs, f.killed, removed)
	}
}

func TestMonitorWritesTelemetry(t *testing.T) {
	f := newFixture(t, 2)
	f.srv.SetUtilization(0, 60, 0)
	f.srv.SetUtilization(1, 60, 0)
	a, err := f.host.Allocate(t.Context(), "j", Ask{Count: 2}, lease.Self())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.host.Monitor(t.Context(), "j") }()
	path := filepath.Join(a.Dir, TelemetryFileName)
	for {
		if s, err := readSummary(path); err == nil && s.MeanUtilization == 60 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Ending the lease ends the monitor, which writes its last summary.
	if _, _, err := f.host.Leases.Release("j"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s, err := readSummary(path)
	if err != nil || len(s.GPUs) != 2 || s.EnergyWh <= 0 {
		t.Errorf("summary = %+v, %v", s, err)
	}
}

func TestLogOutcome(t *testing.T) {
	var b strings.Builder
	LogOutcome(&b, Outcome{
		GPUs:        []string{"GPU-a"},
		Telemetry:   &gpu.Summary{PeakMemory: 3 << 30, MeanUtilization: 87.4, EnergyWh: 1.5, DurationS: 61},
		Quarantined: map[string]string{"GPU-a": "2 process(es) still running"},
	})
	want := "mlci-runner: released GPU-a\n" +
		"mlci-runner: GPU telemetry: peak memory 3.0 GiB, mean utilization 87%, energy 1.50 Wh over 1m1s\n" +
		"mlci-runner: warning: GPU GPU-a quarantined: 2 process(es) still running\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// hostEngine is the part of a job engine Host uses, each call answered by
// the test's function; nil functions answer "not gone", nil and "".
type hostEngine struct {
	gone   func(ctx context.Context, id string) bool
	remove func(ctx context.Context, id string) error
	volume func(ctx context.Context, digest, srcDir, image string) (string, error)
}

func (e *hostEngine) Gone(ctx context.Context, id string) bool {
	return e.gone != nil && e.gone(ctx, id)
}

func (e *hostEngine) Remove(ctx context.Context, id string) error {
	if e.remove == nil {
		return nil
	}
	return e.remove(ctx, id)
}

func (e *hostEngine) DatasetVolume(ctx context.Context, digest, srcDir, image string) (string, error) {
	if e.volume == nil {
		return "", nil
	}
	return e.volume(ctx, digest, srcDir, image)
}

func TestOuterRoots(t *testing.T) {
	got := OuterRoots([]HostRoot{{Path: "/r/_work"}, {Path: "/r/_work/_temp/_github_home"}, {Path: "/r/externals", ReadOnly: true}, {Path: "/r/_work2"}})
	var paths []string
	for _, r := range got {
		paths = append(paths, r.Path)
	}
	if strings.Join(paths, " ") != "/r/_work /r/externals /r/_work2" {
		t.Errorf("OuterRoots = %v", paths)
	}
}
