package jobrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/lease"
)

// How often the monitor rewrites the running summary and checks that its
// job still holds the lease. The report step reads the file while the job
// still runs, so it must not wait for the end.
const monitorFlush = 5 * time.Second

// Monitor samples job's leased GPUs every Config.TelemetryInterval until the
// lease ends or ctx is done (cleanup sends SIGTERM), keeping the summary in
// the job folder current. It runs as its own process (see StartMonitor)
// because neither the GitHub hook nor the GitLab executor lives through
// the job.
func (h *Host) Monitor(ctx context.Context, job string) error {
	l, ok, err := h.Leases.Get(job)
	if err != nil {
		return err
	}
	if !ok || len(l.IDs) == 0 || h.GPUs == nil {
		return nil
	}
	path := filepath.Join(h.JobDir(job), TelemetryFileName)
	rec := gpu.Record(ctx, h.GPUs, l.IDs, time.Duration(h.Config.TelemetryInterval))
	defer func() {
		_ = gpu.WriteSummary(path, rec.Stop())
	}()
	for {
		if err := h.sleep(ctx, monitorFlush); err != nil {
			return nil
		}
		if cur, ok, err := h.Leases.Get(job); err != nil || !ok || !sameIDs(cur.IDs, l.IDs) {
			return nil
		}
		if err := gpu.WriteSummary(path, rec.Snapshot()); err != nil {
			return fmt.Errorf("telemetry: %w", err)
		}
	}
}

func sameIDs(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// StartMonitor starts cmd (mlci-runner's own monitor command for the job)
// detached in its own session, so the runner killing the hook's process
// group does not end it, and records its pid and start time in the job
// folder for stopMonitor.
func StartMonitor(dir string, cmd *exec.Cmd) error {
	logf, err := os.OpenFile(filepath.Join(dir, "monitor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("telemetry monitor: %w", err)
	}
	defer logf.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("telemetry monitor: %w", err)
	}
	owner, err := lease.ProcessOwner(cmd.Process.Pid)
	if err != nil {
		owner = lease.Owner{PID: cmd.Process.Pid}
	}
	data := fmt.Sprintf("%d %d\n", owner.PID, owner.Start)
	if err := os.WriteFile(filepath.Join(dir, monitorPIDFileName), []byte(data), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("telemetry monitor: %w", err)
	}
	// Reap it in the background while this process lives; after that,
	// init adopts it.
	go func() { _ = cmd.Wait() }()
	return nil
}

// stopMonitor asks the job's monitor to write its last summary and waits a
// little for it; a monitor that does not stop is killed.
func stopMonitor(ctx context.Context, dir string, sleep func(context.Context, time.Duration) error) {
	data, err := os.ReadFile(filepath.Join(dir, monitorPIDFileName))
	if err != nil {
		return
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return
	}
	o := lease.Owner{PID: pid, Start: start}
	if !o.Alive() {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 40 && o.Alive(); i++ {
		if sleep(ctx, 50*time.Millisecond) != nil {
			break
		}
	}
	if o.Alive() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func readSummary(path string) (gpu.Summary, error) {
	var s gpu.Summary
	data, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal(data, &s)
	return s, err
}
