package dockerjob

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// HostRoot is a host folder a job may bind-mount, itself or anything
// below it: the job's workspace and temp folders (the runner's own mounts)
// and what the host config's allow_mounts names. Everything else on the
// host is refused, whatever its name: a deny list of dangerous paths always
// misses one (/etc, /var/lib, the runner's credentials).
type HostRoot struct {
	Path string
	// ReadOnly roots may only be mounted read-only (the runner's externals,
	// an operator's shared read-only data).
	ReadOnly bool
	// Shared roots can be written by other jobs on the host (a writable
	// allow_mounts folder): no container's sub-folder mount of one is ever
	// made directly, since another job may race it.
	Shared bool
}

// ReservedVolumePrefix starts the names of the volumes mlci-runner makes
// (dataset copies, per-project caches). A job may not mount them by name:
// a writable dataset volume would change the bytes the next job sees under
// the same digest, and a cache volume belongs to one project.
const ReservedVolumePrefix = "mlci-"

// MountRefusedError is a mount the job asked for that the host's policy
// refuses: outside the allowed folders, through a link, or one of
// mlci-runner's own volumes.
type MountRefusedError struct{ Reason string }

func (e *MountRefusedError) Error() string { return e.Reason }

func refuse(format string, args ...any) error {
	return &MountRefusedError{Reason: fmt.Sprintf(format, args...)}
}

// Link is a path in a container that points into a folder mounted whole at
// a hidden place. A mount from below an allowed folder is made this way:
// the engine would resolve a bind source when the container starts, after
// the check, and a job that swapped a folder on the way for a link in the
// meantime would get the host's Docker socket. The folder itself is fixed
// (the runner or the operator chose it), and a link inside the container
// is resolved inside the container, where no host path can be reached.
type Link struct {
	Path   string // where the job asked for the mount
	Target string // under HiddenMounts
}

// HiddenMounts is where folders holding a job's sub-folder mounts are
// mounted whole.
const HiddenMounts = "/.mlci-mounts"

// placeMounts checks the job's mounts and says how to make each: a named
// volume or an allowed folder itself as a mount, a sub-folder as its
// folder mounted at HiddenMounts/N and a link to it. own are the runner's
// mounts and tmpfs the job's tmpfs targets: a sub-folder whose target lies
// inside another mount is either already in view there (the runner mounts
// _work at /__w and _work/_temp at /__w/_temp) and left out, or refused,
// since its link would be written into that mount.
//
// direct mounts sub-folders as themselves, by their resolved path: only for
// a container no process of the job can race (Spec.FirstContainer).
func placeMounts(ms []Mount, roots []HostRoot, own []Mount, tmpfs map[string]string, direct bool) ([]Mount, []Link, error) {
	type sub struct {
		m   Mount // Source: the allowed folder, resolved
		rel string
	}
	var out []Mount
	var subs []sub
	for _, m := range ms {
		checked, rel, err := checkUserMount(m, roots)
		if err != nil {
			return nil, nil, err
		}
		if rel == "" || direct && !isShared(checked.Source, roots) {
			checked.Source = path.Join(checked.Source, rel)
			out = append(out, checked)
		} else {
			subs = append(subs, sub{checked, rel})
		}
	}
	covering := slices.Concat(own, out)
	for t := range tmpfs {
		covering = append(covering, Mount{Target: t, Volume: true})
	}
	var links []Link
	for _, s := range subs {
		target := path.Clean(s.m.Target)
		if c, rest, ok := coveredBy(target, covering); ok {
			if !c.Volume && c.ReadOnly == s.m.ReadOnly && path.Join(c.Source, rest) == path.Join(s.m.Source, s.rel) {
				continue
			}
			return nil, nil, refuse("mount target %s lies inside the mount at %s: pick a target outside it, or mount the folder itself", target, c.Target)
		}
		hidden := path.Join(HiddenMounts, strconv.Itoa(len(links)))
		out = append(out, Mount{Source: s.m.Source, Target: hidden, ReadOnly: s.m.ReadOnly})
		links = append(links, Link{Path: target, Target: path.Join(hidden, s.rel)})
	}
	return out, links, nil
}

// isShared reports whether the resolved folder real is a Shared root.
func isShared(real string, roots []HostRoot) bool {
	for _, r := range roots {
		if r.Shared {
			if p, err := filepath.EvalSymlinks(r.Path); err == nil && p == real {
				return true
			}
		}
	}
	return false
}

// coveredBy finds the mount whose target holds target most closely, and
// the rest of target below it.
func coveredBy(target string, ms []Mount) (Mount, string, bool) {
	var best Mount
	var bestRest string
	found := false
	for _, m := range ms {
		t := path.Clean(m.Target)
		if t == target {
			continue // the same target twice is composeMounts' to refuse
		}
		if rest, ok := below(target, t); ok && (!found || len(t) > len(path.Clean(best.Target))) {
			best, bestRest, found = m, rest, true
		}
	}
	return best, bestRest, found
}

// checkUserMount refuses a mount the job asked for that names one of
// mlci-runner's volumes, and resolves a bind mount's source against roots.
// It returns the mount with its allowed folder, resolved, as the source,
// and the rest of the path below that folder.
func checkUserMount(m Mount, roots []HostRoot) (Mount, string, error) {
	if err := CheckMount(m); err != nil {
		return Mount{}, "", err
	}
	// Volumes too: one over the hidden folders would hide the links' targets.
	if _, ok := below(path.Clean(m.Target), HiddenMounts); ok {
		return Mount{}, "", refuse("mount target %s is refused: %s is where mlci-runner mounts folders; pick another target", m.Target, HiddenMounts)
	}
	if m.Volume {
		if strings.HasPrefix(m.Source, ReservedVolumePrefix) {
			return Mount{}, "", refuse("volume %s is refused: volumes named %s* belong to mlci-runner (dataset copies and caches); ask for datasets with MLCI_DATASETS and pick another volume name", m.Source, ReservedVolumePrefix)
		}
		return m, "", nil
	}
	root, rel, err := resolveHostPath(m.Source, m.ReadOnly, roots)
	if err != nil {
		return Mount{}, "", err
	}
	// The deny list again, on the path the engine will really mount: an
	// operator's allow_mounts entry must not reach the socket either.
	if err := checkHostPath(path.Join(root, rel)); err != nil {
		return Mount{}, "", err
	}
	m.Source = root
	return m, rel, nil
}

// resolveHostPath finds the root that src lies in and returns it resolved
// with every symlink followed (the runner or the operator chose it), and
// the rest of src below it. Below the root no symlink is followed at all,
// because the job can write there: a link planted by one job would
// otherwise redirect the next job's mount to the Docker socket. The walk
// opens each component with O_NOFOLLOW, so a link is seen for what it is,
// never resolved; it refuses early what the container's own link would
// otherwise resolve to nothing.
func resolveHostPath(src string, readOnly bool, roots []HostRoot) (root, rel string, err error) {
	clean := path.Clean(src)
	for _, r := range roots {
		real, err := filepath.EvalSymlinks(r.Path)
		if err != nil {
			continue // a root that does not exist holds nothing to mount
		}
		rel, ok := below(clean, path.Clean(r.Path))
		if !ok {
			rel, ok = below(clean, real)
		}
		if !ok {
			continue
		}
		if r.ReadOnly && !readOnly {
			return "", "", refuse("bind mount of %s must be read-only: %s is mounted read-only into jobs; add :ro (or readonly)", src, r.Path)
		}
		if err := noLinksBelow(real, rel); err != nil {
			return "", "", refuse("bind mount source %s is refused: %v", src, err)
		}
		return real, rel, nil
	}
	return "", "", refuse("bind mount source %s is refused: jobs may mount only their workspace and temp folders and what the runner config's allow_mounts lists%s", src, listRoots(roots))
}

func listRoots(roots []HostRoot) string {
	if len(roots) == 0 {
		return ""
	}
	ps := make([]string, len(roots))
	for i, r := range roots {
		ps[i] = r.Path
	}
	return " (" + strings.Join(ps, ", ") + ")"
}

// below reports whether p is dir or inside it, and the rest of p.
func below(p, dir string) (string, bool) {
	if p == dir {
		return "", true
	}
	if dir == "/" {
		return strings.TrimPrefix(p, "/"), true
	}
	rest, ok := strings.CutPrefix(p, dir+"/")
	return rest, ok
}

// noLinksBelow walks rel under root one component at a time and fails if
// any component is a symbolic link or does not exist.
func noLinksBelow(root, rel string) error {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	defer func() { unix.Close(fd) }()
	done := root
	for _, c := range strings.Split(rel, "/") {
		if c == "" {
			continue
		}
		next, err := unix.Openat(fd, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("%s does not exist: create it before the job starts", path.Join(done, c))
			}
			return fmt.Errorf("open %s: %w", path.Join(done, c), err)
		}
		unix.Close(fd)
		fd = next
		done = path.Join(done, c)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("stat %s: %w", done, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return fmt.Errorf("%s is a symbolic link, and links below %s are not followed (a job could point them at the host)", done, root)
		}
	}
	return nil
}

// CheckUserMounts runs Compose's check of the job's mounts ahead of time,
// so a job is refused before it holds GPUs or starts services.
func CheckUserMounts(ms []Mount, roots []HostRoot) error {
	_, _, err := placeMounts(ms, roots, nil, nil, false)
	return err
}

// placeLinks writes links into a created container's file system before
// it starts, with the folders above them. A link cannot replace a folder
// the image already has there; the engine refuses, and so does the job.
func (c *Client) placeLinks(ctx context.Context, id string, links []Link) error {
	if len(links) == 0 {
		return nil
	}
	fill := func(tw *tar.Writer) error {
		dirs := map[string]bool{}
		for _, l := range links {
			rel := strings.TrimPrefix(l.Path, "/")
			for d := path.Dir(rel); d != "." && !dirs[d]; d = path.Dir(d) {
				dirs[d] = true
			}
		}
		for _, d := range slices.Sorted(maps.Keys(dirs)) {
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
				return err
			}
		}
		for _, l := range links {
			if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(l.Path, "/"), Linkname: l.Target, Mode: 0o777, Typeflag: tar.TypeSymlink}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := c.copyTarTo(ctx, id, "/", fill); err != nil {
		var targets []string
		for _, l := range links {
			targets = append(targets, l.Path)
		}
		return fmt.Errorf("mounting sub-folders at %s: %w: a mount from below an allowed folder is a link in the container, which cannot replace a folder the image has; pick a target the image does not have, or mount the folder itself", strings.Join(targets, ", "), err)
	}
	return nil
}
