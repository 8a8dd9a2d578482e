package dockerjob

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// RemoveLabelled force-removes every container labelled key=value, running
// or stopped (with its anonymous volumes), and then every network with that
// label. A job's cleanup uses it so that what the job made goes even when
// the ids it kept are incomplete. It goes on past a failure and reports
// them all.
func (c *Client) RemoveLabelled(ctx context.Context, key, value string) error {
	if key == "" || value == "" {
		// An empty value would match everything carrying the key with no
		// value, which is never one job's.
		return fmt.Errorf("remove labelled %q=%q: give both the label and its value", key, value)
	}
	f := filters.NewArgs(filters.Arg("label", key+"="+value))
	ctrs, err := c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list containers labelled %s=%s: %w", key, value, err)
	}
	var errs []error
	for _, ctr := range ctrs {
		if err := c.Remove(ctx, ctr.ID); err != nil {
			errs = append(errs, err)
		}
	}
	// Networks after containers: the engine refuses to remove a network a
	// container is still attached to.
	nets, err := c.api.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list networks labelled %s=%s: %w", key, value, err))...)
	}
	for _, n := range nets {
		// By id: a name may match another network's id prefix.
		err := c.api.NetworkRemove(ctx, n.ID)
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}
