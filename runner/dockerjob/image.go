package dockerjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/image"
)

// ErrEngine marks failures of the Docker Engine itself (unreachable,
// refusing), as opposed to a job's bad request, so callers can report them
// as a service failure.
var ErrEngine = errors.New("the Docker Engine failed")

// engineError keeps its own message and matches ErrEngine.
type engineError struct{ err error }

func (e engineError) Error() string        { return e.err.Error() }
func (e engineError) Unwrap() error        { return e.err }
func (e engineError) Is(target error) bool { return target == ErrEngine }

// Auth holds registry credentials for pulling a job's image.
type Auth struct {
	Username, Password, ServerAddress string
}

// EnsureImage pulls ref unless the engine already has it. Credentials are
// sent only when given; they never appear in errors.
func (c *Client) EnsureImage(ctx context.Context, ref string, auth Auth) error {
	if ref == "" {
		return errors.New("no image given: set the job's image")
	}
	ok, err := c.ImageExists(ctx, ref)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	ra, err := registryAuth(auth)
	if err != nil {
		return fmt.Errorf("pulling image %s: encoding the registry credentials: %w", ref, scrubErr(err, auth))
	}
	// Every error below passes through scrubErr: a registry may echo our
	// Authorization header back, and the engine quotes its answer.
	rc, err := c.api.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: ra})
	if err != nil {
		return fmt.Errorf("pulling image %s: %w: check the name, the registry credentials and that this host can reach the registry", ref, scrubErr(err, auth))
	}
	defer rc.Close()
	// The pull runs while the stream is read; errors arrive inside it.
	dec := json.NewDecoder(rc)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("pulling image %s: %w", ref, scrubErr(err, auth))
		}
		if msg.Error != "" {
			return fmt.Errorf("pulling image %s: %s", ref, scrub(msg.Error, auth))
		}
	}
	return nil
}

// PathEnv returns the PATH a container's image sets (or the usual default),
// so a step's prependPath can go in front of it.
func (c *Client) PathEnv(ctx context.Context, id string) (string, error) {
	info, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("inspecting container %s: %w", shortID(id), err)
	}
	if info.Config != nil {
		for _, kv := range info.Config.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				return v, nil
			}
		}
	}
	return defaultPath, nil
}

// ImagePathEnv returns the PATH an image sets (or the usual default), for
// a container step whose prependPath goes in front of it.
func (c *Client) ImagePathEnv(ctx context.Context, ref string) (string, error) {
	info, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	if info.Config != nil {
		for _, kv := range info.Config.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				return v, nil
			}
		}
	}
	return defaultPath, nil
}

// defaultPath is Docker's PATH for images that set none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// IsDockerSocket reports whether a host path is (or holds) the Docker
// socket: the GitHub runner mounts it into every job by default, and a job
// with it controls every container and GPU on the host.
func IsDockerSocket(p string) bool {
	return checkHostPath(p) != nil && (strings.HasSuffix(p, "docker.sock") || p == "/run" || p == "/var/run")
}
