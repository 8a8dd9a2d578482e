package glexec

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlci/mlci/runner/lease"
)

// LabelOwner marks the job's containers with the gitlab-runner process that
// started them ("PID:START", see lease.Owner), so a prepare can tell a
// retry of its own job, or a leftover of a runner that died, from a live
// job of another runner that happens to share the container name.
const LabelOwner = "mlci.owner"

func formatOwner(o lease.Owner) string {
	return strconv.Itoa(o.PID) + ":" + strconv.FormatUint(o.Start, 10)
}

// parseOwner reads LabelOwner; ok is false for a container without one
// (made before the label existed) or with a value not ours.
func parseOwner(s string) (o lease.Owner, ok bool) {
	pid, start, found := strings.Cut(s, ":")
	if !found {
		return lease.Owner{}, false
	}
	p, err := strconv.Atoi(pid)
	if err != nil || p <= 0 {
		return lease.Owner{}, false
	}
	st, err := strconv.ParseUint(start, 10, 64)
	if err != nil {
		return lease.Owner{}, false
	}
	return lease.Owner{PID: p, Start: st}, true
}

// checkHolder refuses to touch the job's containers (its own and its n
// services') or its lease while another gitlab-runner process that still
// runs holds them. What owner itself started (a retried prepare, or the
// cleanup after it), what a dead runner left and what carries no owner
// label (an older mlci-runner's) may go.
func (e *Executor) checkHolder(ctx context.Context, job string, n int, owner lease.Owner) error {
	names := []string{containerName(job)}
	for i := range n {
		names = append(names, serviceName(job, i))
	}
	for _, name := range names {
		labels, ok, err := e.Engine.Labels(ctx, name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		holder, known := parseOwner(labels[LabelOwner])
		if !known || holder == owner || !holder.Alive() {
			continue
		}
		return fmt.Errorf("container %s of job %s belongs to another gitlab-runner process (pid %d) that still runs: refusing to replace it; if that job is stale, stop that process or remove the container with `docker rm -f %s`", name, job, holder.PID, name)
	}
	if e.Host == nil || e.Host.Leases == nil {
		return nil
	}
	ls, err := e.Host.Leases.List()
	if err != nil {
		return err
	}
	for _, l := range ls {
		if l.Job != job || l.Owner == owner || !l.Owner.Alive() {
			continue
		}
		if e.Host.Ended(ctx, l) {
			continue
		}
		return fmt.Errorf("job %s holds GPUs %s for another gitlab-runner process (pid %d) that still runs: refusing to take them over; if that job is stale, stop that process or run `mlci-runner leases release %s`", job, strings.Join(l.IDs, ","), l.Owner.PID, job)
	}
	return nil
}
