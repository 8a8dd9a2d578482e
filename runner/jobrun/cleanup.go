package jobrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mlci/mlci/runner/gpu"
)

// How long cleanup waits for killed processes to go and their memory to be
// freed before it gives a GPU up as not cleaned. The driver frees memory
// asynchronously after a process dies; a few seconds is usual.
const (
	cleanTimeout = 15 * time.Second
	cleanPoll    = 250 * time.Millisecond
)

// Outcome is what cleanup found and did.
type Outcome struct {
	Job         string
	GPUs        []string
	Killed      []int             // host PIDs the job left on its GPUs
	Quarantined map[string]string // GPU or MIG UUID -> why
	Telemetry   *gpu.Summary      // nil when none was written
}

// Release ends a job: stops its telemetry monitor (which writes the final
// summary), kills what the job left on its GPUs, quarantines a GPU that
// cannot be cleaned, releases the lease and removes the job folder. It is
// idempotent, so a retried cleanup is harmless.
func (h *Host) Release(ctx context.Context, job string) (Outcome, error) {
	out := Outcome{Job: job}
	dir := h.JobDir(job)
	stopMonitor(ctx, dir, h.sleep)
	if s, err := readSummary(filepath.Join(dir, TelemetryFileName)); err == nil {
		out.Telemetry = &s
	}
	var errs []error
	l, ok, err := h.Leases.Get(job)
	if err != nil {
		errs = append(errs, err)
	}
	if ok {
		out.GPUs = l.IDs
		killed, quarantined := h.cleanGPUs(ctx, job, l.IDs)
		out.Killed, out.Quarantined = killed, quarantined
		if _, _, err := h.Leases.Release(job); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("job folder: %w", err))
	}
	return out, errors.Join(errs...)
}

// release drops a lease without cleaning, for a job that never started.
func (h *Host) release(ctx context.Context, job string) {
	stopMonitor(ctx, h.JobDir(job), h.sleep)
	_, _, _ = h.Leases.Release(job)
	_ = os.RemoveAll(h.JobDir(job))
}

// Sweep reclaims leases whose owner died or whose container is gone (a
// runner killed mid-job never calls cleanup) and cleans their GPUs before
// anyone else gets them.
func (h *Host) Sweep(ctx context.Context) []Outcome {
	reclaimed, err := h.Leases.Reclaim(ctx, h.Ended)
	if err != nil {
		h.logf("reclaiming stale leases: %v", err)
		return nil
	}
	var outs []Outcome
	for _, l := range reclaimed {
		h.logf("reclaimed GPUs %s of ended job %s", strings.Join(l.IDs, ","), l.Job)
		dir := h.JobDir(l.Job)
		stopMonitor(ctx, dir, h.sleep)
		if l.Container != "" && h.Engine != nil {
			if err := h.Engine.Remove(ctx, l.Container); err != nil {
				h.logf("removing container %s of ended job %s: %v", short(l.Container), l.Job, err)
			}
		}
		killed, q := h.cleanGPUs(ctx, l.Job, l.IDs)
		_ = os.RemoveAll(dir)
		outs = append(outs, Outcome{Job: l.Job, GPUs: l.IDs, Killed: killed, Quarantined: q})
	}
	return outs
}

// cleanGPUs kills every compute process on ids (exclusive leases mean they
// are the job's, or strays that must not meet the next job) and waits for
// them to go and their memory to be freed. A GPU that stays dirty is
// quarantined: handing it out would make the next job fail or OOM.
func (h *Host) cleanGPUs(ctx context.Context, job string, ids []string) ([]int, map[string]string) {
	if h.GPUs == nil || len(ids) == 0 {
		return nil, nil
	}
	killed := map[int]bool{}
	var dirty map[string]string
	// Count polls rather than watch the clock, so the bound holds for an
	// injected Sleep too.
	for poll := 0; ; poll++ {
		dirty = map[string]string{}
		for _, id := range ids {
			if why := h.checkClean(ctx, id, killed); why != "" {
				dirty[id] = why
			}
		}
		if len(dirty) == 0 || poll >= int(cleanTimeout/cleanPoll) || ctx.Err() != nil {
			break
		}
		if h.sleep(ctx, cleanPoll) != nil {
			break
		}
	}
	var pids []int
	for p := range killed {
		pids = append(pids, p)
	}
	sort.Ints(pids)
	if len(pids) > 0 {
		h.logf("killed %d process(es) job %s left on its GPUs: %v", len(pids), job, pids)
	}
	if len(dirty) == 0 {
		return pids, nil
	}
	for id, why := range dirty {
		reason := fmt.Sprintf("not clean after job %s: %s", job, why)
		if err := h.Leases.Quarantine(id, reason); err != nil {
			h.logf("quarantining %s: %v", id, err)
		}
		h.logf("quarantined GPU %s: %s (release with: mlci-runner gpus unquarantine %s)", id, reason, id)
	}
	return pids, dirty
}

// checkClean kills the processes on id and says what still keeps it dirty.
func (h *Host) checkClean(ctx context.Context, id string, killed map[int]bool) string {
	procs, err := h.GPUs.Processes(ctx, id)
	if err != nil {
		return fmt.Sprintf("cannot list its processes: %v", err)
	}
	for _, p := range procs {
		pid := int(p.PID)
		if !killed[pid] {
			killed[pid] = true
			if err := h.kill(pid); err != nil && !errors.Is(err, os.ErrProcessDone) {
				h.logf("killing pid %d on %s: %v", pid, id, err)
			}
		}
	}
	if len(procs) > 0 {
		return fmt.Sprintf("%d process(es) still running", len(procs))
	}
	d, err := h.GPUs.Device(ctx, id)
	if err != nil {
		return fmt.Sprintf("cannot read it: %v", err)
	}
	if !d.Health.Healthy {
		return strings.Join(d.Health.Reasons, "; ")
	}
	if d.MIG {
		// Memory of the whole GPU also counts other MIG devices' jobs.
		return ""
	}
	limit := h.Config.CleanMemoryMiB << 20
	if d.MemoryUsed > limit {
		return fmt.Sprintf("%d MiB of memory still in use (limit %d MiB)", d.MemoryUsed>>20, h.Config.CleanMemoryMiB)
	}
	return ""
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// LogOutcome writes what cleanup did in the job's log: the GPUs' telemetry,
// processes killed, GPUs quarantined.
func LogOutcome(w io.Writer, o Outcome) {
	if w == nil || len(o.GPUs) == 0 {
		return
	}
	fmt.Fprintf(w, "mlci-runner: released %s\n", strings.Join(o.GPUs, ","))
	if t := o.Telemetry; t != nil {
		fmt.Fprintf(w, "mlci-runner: GPU telemetry: peak memory %.1f GiB, mean utilization %.0f%%, energy %.2f Wh over %s\n",
			float64(t.PeakMemory)/(1<<30), t.MeanUtilization, t.EnergyWh, time.Duration(t.DurationS*float64(time.Second)).Round(time.Second))
	}
	ids := make([]string, 0, len(o.Quarantined))
	for id := range o.Quarantined {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(w, "mlci-runner: warning: GPU %s quarantined: %s\n", id, o.Quarantined[id])
	}
}
