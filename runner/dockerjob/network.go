package dockerjob

import (
	"context"
	"errors"
	"fmt"
	"maps"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// EnsureNetwork returns the id of the bridge network called name, creating
// it with labels (plus mlci.runner=1) if it does not exist yet. Labels of an
// existing network are left as they are.
func (c *Client) EnsureNetwork(ctx context.Context, name string, labels map[string]string) (string, error) {
	if name == "" {
		return "", errors.New("ensure network: empty name: give the job's network name")
	}
	if id, ok, err := c.networkID(ctx, name); err != nil || ok {
		return id, err
	}
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelRunner] = "1"
	resp, err := c.api.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: l})
	if err == nil {
		return resp.ID, nil
	}
	if cerrdefs.IsConflict(err) {
		// Another job created it between our inspect and create.
		if id, ok, ierr := c.networkID(ctx, name); ierr == nil && ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("create network %s: %w", name, err)
}

// networkID looks a network up by exact name; the engine would also match
// an id prefix, which is not what a caller naming a network means.
func (c *Client) networkID(ctx context.Context, name string) (string, bool, error) {
	n, err := c.api.NetworkInspect(ctx, name, network.InspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("inspect network %s: %w", name, err)
	case n.Name != name:
		return "", false, nil
	}
	return n.ID, true, nil
}

// RemoveNetwork removes the network; one that does not exist is already gone.
func (c *Client) RemoveNetwork(ctx context.Context, name string) error {
	err := c.api.NetworkRemove(ctx, name)
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsConflict(err) || cerrdefs.IsPermissionDenied(err):
		return fmt.Errorf("remove network %s: %w: remove the job's containers first", name, err)
	default:
		return fmt.Errorf("remove network %s: %w", name, err)
	}
}

// ImageExists reports whether ref is present on the engine (no pull).
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := c.api.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
}
