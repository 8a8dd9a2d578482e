package dockerjob

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
)

// WaitHealthy waits until a container with a health check reports healthy,
// as the runner does for service containers before the job's steps start
// (a database still starting would fail the first step). A container
// without a health check counts as ready once running. It fails when the
// check reports unhealthy, the container exits, or timeout passes, with the
// check's last output.
func (c *Client) WaitHealthy(ctx context.Context, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	poll := 100 * time.Millisecond
	for {
		info, err := c.api.ContainerInspect(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("inspecting container %s: %w", shortID(id), err)
		}
		st := info.State
		switch {
		case st == nil:
		case !st.Running && st.Status != "created":
			return fmt.Errorf("container %s exited (code %d) before it was ready", shortID(id), st.ExitCode)
		case st.Health == nil || st.Health.Status == "none":
			return nil
		case st.Health.Status == "healthy":
			return nil
		case st.Health.Status == "unhealthy":
			return fmt.Errorf("container %s is unhealthy: %s", shortID(id), lastProbe(st.Health.Log))
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("container %s not healthy after %s: check its health command and intervals", shortID(id), timeout)
		case <-t.C:
		}
		if poll < time.Second {
			poll *= 2
		}
	}
	return fmt.Errorf("container %s not healthy after %s: check its health command and intervals", shortID(id), timeout)
}

func lastProbe(log []*container.HealthcheckResult) string {
	if len(log) == 0 || log[len(log)-1] == nil {
		return "no health check output"
	}
	out := strings.TrimSpace(log[len(log)-1].Output)
	if len(out) > 200 {
		out = out[:200] + "…"
	}
	if out == "" {
		return "the health command failed without output"
	}
	return out
}
