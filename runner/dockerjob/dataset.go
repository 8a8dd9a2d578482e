package dockerjob

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
)

// CompleteMarker is written last into a dataset volume; a volume without it
// was interrupted while being filled and is filled again.
const CompleteMarker = ".mlci-complete"

// LabelSealed marks a dataset volume made since jobs may not mount
// mlci-runner's volumes themselves: only mlci-runner has written to it, so
// its content is the host folder's at the digest in LabelDigest.
const (
	LabelSealed = "mlci.sealed"
	sealVersion = "1"
)

// helperMountPoint is where the helper container sees the volume. It is not
// a path any image ships, so the engine copies no image content into the
// new volume.
const helperMountPoint = "/mlci-dataset"

// DatasetVolumeName returns the volume name for a data root digest
// ("blake3:<64 hex>" or "sha256:<64 hex>"): mlci-data-<algo>-<first 32 hex>.
func DatasetVolumeName(digest string) (string, error) {
	algo, hex, ok := strings.Cut(digest, ":")
	if !ok || (algo != "blake3" && algo != "sha256") {
		return "", fmt.Errorf("dataset digest %q: want blake3:<hex> or sha256:<hex>", digest)
	}
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("dataset digest %q: want 64 lowercase hex digits after the %s: prefix", digest, algo)
	}
	return "mlci-data-" + algo + "-" + hex[:32], nil
}

// DatasetVolume returns the name of a volume holding the contents of srcDir,
// keyed by the data root digest, filling it only if no complete copy exists.
// image must be present locally; it is used only to create (never start) a
// helper container through which the volume is read and written. Callers
// mount the volume with ReadOnly true so jobs cannot change a shared cache.
//
// Two runners filling the same volume at once write identical content, so
// the race costs only time.
func (c *Client) DatasetVolume(ctx context.Context, digest, srcDir, image string) (string, error) {
	name, err := DatasetVolumeName(digest)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(srcDir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("dataset %s: source %q is not a readable directory: fetch the data first", digest, srcDir)
	}
	if err := c.ensureDatasetVolume(ctx, name, digest); err != nil {
		return "", err
	}

	helper, err := c.api.ContainerCreate(ctx,
		&container.Config{
			Image: image,
			// Never started; an entrypoint only keeps create from
			// refusing images that have no command.
			Entrypoint:      []string{"/mlci-dataset-helper-is-never-started"},
			Labels:          map[string]string{LabelRunner: "1", LabelDigest: digest},
			NetworkDisabled: true,
		},
		&container.HostConfig{Mounts: []mount.Mount{{
			Type: mount.TypeVolume, Source: name, Target: helperMountPoint,
			VolumeOptions: &mount.VolumeOptions{NoCopy: true},
		}}},
		nil, nil, "")
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("dataset %s: helper image %s is not on this host: %w: pull or load it first", digest, image, err)
		}
		return "", fmt.Errorf("dataset %s: create helper container from %s: %w", digest, image, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		// Best effort: a leftover helper is labelled mlci.runner=1 and
		// holds no resources but a reference to the volume.
		_ = c.Remove(rctx, helper.ID)
	}()

	done, err := c.hasPath(ctx, helper.ID, helperMountPoint+"/"+CompleteMarker)
	if err != nil {
		return "", fmt.Errorf("dataset %s: %w", digest, err)
	}
	if done {
		return name, nil
	}
	if err := c.copyTar(ctx, helper.ID, func(tw *tar.Writer) error { return tarDir(tw, srcDir) }); err != nil {
		return "", fmt.Errorf("dataset %s: copy %s into volume %s: %w", digest, srcDir, name, err)
	}
	marker := func(tw *tar.Writer) error {
		body := digest + "\n"
		if err := tw.WriteHeader(&tar.Header{Name: CompleteMarker, Mode: 0o444, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.WriteString(tw, body)
		return err
	}
	if err := c.copyTar(ctx, helper.ID, marker); err != nil {
		return "", fmt.Errorf("dataset %s: mark volume %s complete: %w", digest, name, err)
	}
	return name, nil
}

func (c *Client) ensureDatasetVolume(ctx context.Context, name, digest string) error {
	v, err := c.api.VolumeInspect(ctx, name)
	switch {
	case err == nil:
		if got := v.Labels[LabelDigest]; got != digest {
			return fmt.Errorf("dataset %s: volume %s belongs to %q: remove the volume (docker volume rm %s)", digest, name, got, name)
		}
		if v.Labels[LabelSealed] == sealVersion {
			return nil
		}
		// Made before jobs were kept off mlci-runner's volumes: a job may
		// have mounted it writable and changed the bytes its digest names.
		// It is filled again from the host folder.
		if err := c.api.VolumeRemove(ctx, name, false); err != nil {
			return fmt.Errorf("dataset %s: volume %s predates sealed dataset volumes and may have been changed by a job, and it cannot be replaced while in use (%w): remove it once idle (docker volume rm %s)", digest, name, err, name)
		}
	case !cerrdefs.IsNotFound(err):
		return fmt.Errorf("dataset %s: inspect volume %s: %w", digest, name, err)
	}
	_, err = c.api.VolumeCreate(ctx, volume.CreateOptions{
		Name:   name,
		Labels: map[string]string{LabelRunner: "1", LabelDigest: digest, LabelSealed: sealVersion},
	})
	if err != nil {
		return fmt.Errorf("dataset %s: create volume %s: %w", digest, name, err)
	}
	return nil
}

// copyTar streams the archive fill writes into the helper's volume.
func (c *Client) copyTar(ctx context.Context, id string, fill func(*tar.Writer) error) error {
	return c.copyTarTo(ctx, id, helperMountPoint, fill)
}

// copyTarTo streams the archive fill writes into container id at dst.
func (c *Client) copyTarTo(ctx context.Context, id, dst string, fill func(*tar.Writer) error) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := fill(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	err := c.api.CopyToContainer(ctx, id, dst, pr, container.CopyToContainerOptions{})
	// Unblocks the writer if the engine stopped reading early.
	pr.CloseWithError(io.ErrClosedPipe)
	return err
}

// tarDir writes dir's tree with paths relative to dir. Entries are owned by
// root and made world-readable: the cache is shared by jobs that run as any
// user and is mounted read-only, so readable is all they need.
func tarDir(tw *tar.Writer, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		switch mode := info.Mode(); {
		case mode.IsRegular(), mode.IsDir():
		case mode&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s is a %s, not a file, directory or symlink: remove it from the dataset", p, mode.Type())
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		switch {
		case info.IsDir():
			hdr.Name += "/"
			hdr.Mode |= 0o555
		case info.Mode().IsRegular():
			hdr.Mode |= 0o444
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		// CopyN: a file that grew since Stat must not overrun its header.
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
}
