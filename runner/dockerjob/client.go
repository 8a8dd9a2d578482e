// Package dockerjob runs CI job containers on the Docker Engine with an exact
// GPU request: leased GPU UUIDs as DeviceIDs, never a count, and nothing else.
package dockerjob

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// cleanupTimeout bounds removals that run after the caller's context ended,
// so a cancelled job still leaves no container behind.
const cleanupTimeout = 30 * time.Second

// Client runs job containers on one Docker Engine.
type Client struct {
	api client.APIClient
	// initMissing is set when the engine reports no usable init binary;
	// every job container asks for one, so Create fails early and clearly.
	initMissing bool
	initBinary  string
	checkInit   bool // New asked for initCheck
	initOnce    sync.Once
	initErr     error
}

// New connects to the engine named by the environment (DOCKER_HOST and
// friends), negotiates the API version and checks that the engine answers.
func New(ctx context.Context) (*Client, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("cannot configure the Docker client from DOCKER_HOST/DOCKER_CERT_PATH/DOCKER_TLS_VERIFY: %w: fix those variables", err)
	}
	host := api.DaemonHost()
	ping, err := api.Ping(ctx)
	if err != nil {
		api.Close()
		return nil, engineError{fmt.Errorf("cannot reach the Docker Engine (DOCKER_HOST=%s): %w: start dockerd or set DOCKER_HOST", host, err)}
	}
	api.NegotiateAPIVersionPing(ping)
	c := FromAPI(api)
	c.checkInit = true
	return c, nil
}

// initCheck asks the engine, once and only before the first Create, whether
// it can run its init binary: Info is the engine's slowest read, and the
// hook calls that only exec or clean up never need it.
func (c *Client) initCheck(ctx context.Context) error {
	if !c.checkInit {
		return nil
	}
	// Jobs may create containers from several goroutines at once.
	c.initOnce.Do(func() {
		info, err := c.api.Info(ctx)
		if err != nil {
			c.initErr = engineError{fmt.Errorf("cannot read the Docker Engine's info: %w: check dockerd", err)}
			return
		}
		// dockerd reports InitCommit "N/A" when it cannot run its init binary;
		// other engines leave InitBinary empty and are given the benefit of the doubt.
		c.initMissing = info.InitBinary != "" && info.InitCommit.ID == "N/A"
		c.initBinary = info.InitBinary
	})
	return c.initErr
}

// FromAPI wraps an existing API client, for callers that configure their own
// connection and for tests with a fake engine. It assumes the engine can run
// an init process.
func FromAPI(api client.APIClient) *Client {
	return &Client{api: api}
}

// Close releases the connection to the engine.
func (c *Client) Close() error {
	return c.api.Close()
}

// Create composes spec (see Compose) and creates the container without
// starting it. It returns the container id.
func (c *Client) Create(ctx context.Context, spec Spec) (string, error) {
	if err := c.initCheck(ctx); err != nil {
		return "", err
	}
	if c.initMissing {
		return "", fmt.Errorf("the Docker Engine cannot run its init binary %q, which every job container uses to reap zombie processes: install tini as docker-init or set \"init-path\" in daemon.json", c.initBinary)
	}
	req, err := Compose(spec)
	if err != nil {
		return "", err
	}
	resp, err := c.api.ContainerCreate(ctx, req.Config, req.Host, req.Network, nil, spec.Name)
	switch {
	case err == nil:
		if err := c.placeLinks(ctx, resp.ID, req.Links); err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			_ = c.Remove(rctx, resp.ID)
			return "", err
		}
		return resp.ID, nil
	case cerrdefs.IsNotFound(err):
		return "", fmt.Errorf("create job container: image %s is not on this host: %w: pull or load it before the job", spec.Image, err)
	case cerrdefs.IsConflict(err):
		return "", fmt.Errorf("create job container: the name %s is taken: %w: remove the old container or use another name", spec.Name, err)
	default:
		return "", fmt.Errorf("create job container from %s: %w", spec.Image, err)
	}
}

// Labels returns the labels of the container id or name; ok is false when
// there is none.
func (c *Client) Labels(ctx context.Context, id string) (labels map[string]string, ok bool, err error) {
	info, err := c.api.ContainerInspect(ctx, id)
	switch {
	case cerrdefs.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("inspect container %s: %w", shortID(id), err)
	case info.Config == nil:
		return map[string]string{}, true, nil
	}
	return info.Config.Labels, true, nil
}

// Start starts a created container.
func (c *Client) Start(ctx context.Context, id string) error {
	if err := c.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", shortID(id), err)
	}
	return nil
}

// Stop sends SIGTERM and kills the container if it is still running after
// grace (rounded up to whole seconds, the engine's unit; negative means 0).
// A container that does not exist is already stopped.
func (c *Client) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := int(math.Ceil(max(grace, 0).Seconds()))
	err := c.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", shortID(id), err)
	}
	return nil
}

// Remove force-removes the container and its anonymous volumes. A container
// that does not exist is already removed.
func (c *Client) Remove(ctx context.Context, id string) error {
	err := c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", shortID(id), err)
	}
	return nil
}

// Exists reports whether a container with this id or name exists.
func (c *Client) Exists(ctx context.Context, id string) (bool, error) {
	_, err := c.api.ContainerInspect(ctx, id)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("inspect container %s: %w", shortID(id), err)
	}
}

// Gone reports whether the engine says a container no longer exists. An
// engine that cannot answer does not make a container gone: a lease must
// not be reclaimed from a job that may still run.
func (c *Client) Gone(ctx context.Context, id string) bool {
	ok, err := c.Exists(ctx, id)
	return err == nil && !ok
}

// IsAlpine reports whether the container's image is Alpine (musl), which the
// GitHub runner needs to pick its node build.
func (c *Client) IsAlpine(ctx context.Context, id string) (bool, error) {
	return c.hasPath(ctx, id, "/etc/alpine-release")
}

// hasPath reports whether p exists in the container's filesystem (mounted
// volumes included), whether or not the container runs.
func (c *Client) hasPath(ctx context.Context, id, p string) (bool, error) {
	_, err := c.api.ContainerStatPath(ctx, id, p)
	if err == nil {
		return true, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return false, fmt.Errorf("stat %s in container %s: %w", p, shortID(id), err)
	}
	// A missing container is also a 404; tell the two apart so a typo in
	// the id is not read as "no such file".
	ok, ierr := c.Exists(ctx, id)
	if ierr != nil {
		return false, ierr
	}
	if !ok {
		return false, fmt.Errorf("stat %s: container %s does not exist: %w", p, shortID(id), err)
	}
	return false, nil
}

// Run creates and starts a container, streams its output to stdout and
// stderr (nil discards), waits for it to exit and removes it. It returns the
// container's exit code. If ctx ends first the container is removed and the
// context's error returned.
func (c *Client) Run(ctx context.Context, spec Spec, stdout, stderr io.Writer) (code int, err error) {
	id, err := c.Create(ctx, spec)
	if err != nil {
		return -1, err
	}
	defer func() {
		// The caller's ctx may be done; removal must still happen.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if rerr := c.Remove(rctx, id); rerr != nil && err == nil {
			err = rerr
		}
	}()

	// Attach before start, as `docker run` does, so no early output is lost
	// and no particular logging driver is needed.
	att, err := c.api.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return -1, fmt.Errorf("attach to container %s: %w", shortID(id), err)
	}
	defer att.Close()
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(orDiscard(stdout), orDiscard(stderr), att.Reader)
		copied <- err
	}()
	// Wait before start: a container that exits at once is still seen.
	waitC, waitErrC := c.api.ContainerWait(ctx, id, container.WaitConditionNextExit)
	if err := c.Start(ctx, id); err != nil {
		return -1, err
	}
	select {
	case w := <-waitC:
		if w.Error != nil && w.Error.Message != "" {
			return -1, fmt.Errorf("wait for container %s: %s", shortID(id), w.Error.Message)
		}
		code = int(w.StatusCode)
	case err := <-waitErrC:
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return -1, fmt.Errorf("wait for container %s: %w", shortID(id), err)
	}
	// The stream ends once the engine has flushed the last output.
	select {
	case err := <-copied:
		if err != nil {
			return code, fmt.Errorf("read output of container %s: %w", shortID(id), err)
		}
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	return code, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// shortID keeps messages readable; names pass through unchanged.
func shortID(id string) string {
	if len(id) == 64 {
		return id[:12]
	}
	return id
}
