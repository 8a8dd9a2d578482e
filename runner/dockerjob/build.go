package dockerjob

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/docker/docker/api/types/build"
)

// BuildImage builds the Dockerfile at path with its folder as the context,
// as the runner's own docker path does for a Dockerfile action, and
// returns the image's tag. The build output goes to log. The tag is derived
// from the path, so the next job's build of the same action reuses the
// engine's build cache; images are labelled for operators to prune.
func (c *Client) BuildImage(ctx context.Context, dockerfile string, log io.Writer) (string, error) {
	abs, err := filepath.Abs(dockerfile)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(abs)
	sum := sha256.Sum256([]byte(abs))
	tag := "mlci-step-" + hex.EncodeToString(sum[:6]) + ":latest"

	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tarDir(tw, dir)
		if cerr := tw.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
	}()
	resp, err := c.api.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  filepath.Base(abs),
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelRunner: "1"},
	})
	if err != nil {
		_ = pr.CloseWithError(err)
		return "", fmt.Errorf("building %s: %w", dockerfile, scrubErr(err, Auth{}))
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("building %s: %w", dockerfile, scrubErr(err, Auth{}))
		}
		if msg.Error != "" {
			return "", fmt.Errorf("building %s: %s", dockerfile, scrub(msg.Error, Auth{}))
		}
		if log != nil && msg.Stream != "" {
			_, _ = io.WriteString(log, msg.Stream)
		}
	}
	return tag, nil
}
