package dockerjob

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
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

// checkUserMount refuses a mount the job asked for that names one of
// mlci-runner's volumes, and resolves a bind mount's source against roots.
// It returns the mount with the source the engine must be given: the
// resolved path, so that what was checked is what gets mounted.
func checkUserMount(m Mount, roots []HostRoot) (Mount, error) {
	if err := CheckMount(m); err != nil {
		return Mount{}, err
	}
	if m.Volume {
		if strings.HasPrefix(m.Source, ReservedVolumePrefix) {
			return Mount{}, refuse("volume %s is refused: volumes named %s* belong to mlci-runner (dataset copies and caches); ask for datasets with MLCI_DATASETS and pick another volume name", m.Source, ReservedVolumePrefix)
		}
		return m, nil
	}
	src, err := resolveHostPath(m.Source, m.ReadOnly, roots)
	if err != nil {
		return Mount{}, err
	}
	// The deny list again, on the path the engine will really mount: an
	// operator's allow_mounts entry must not reach the socket either.
	if err := checkHostPath(src); err != nil {
		return Mount{}, err
	}
	m.Source = src
	return m, nil
}

// resolveHostPath finds the root that src lies in and returns the real
// path to mount. The root itself is resolved with every symlink followed
// (it was chosen by the runner or the operator); below it no symlink is
// followed at all, because the job can write there: a link planted by one
// job would otherwise redirect the next job's mount to the Docker socket.
// The walk opens each component with O_NOFOLLOW, so a link is seen for
// what it is, never resolved.
func resolveHostPath(src string, readOnly bool, roots []HostRoot) (string, error) {
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
			return "", refuse("bind mount of %s must be read-only: %s is mounted read-only into jobs; add :ro (or readonly)", src, r.Path)
		}
		if err := noLinksBelow(real, rel); err != nil {
			return "", refuse("bind mount source %s is refused: %v", src, err)
		}
		return path.Join(real, rel), nil
	}
	return "", refuse("bind mount source %s is refused: jobs may mount only their workspace and temp folders and what the runner config's allow_mounts lists%s", src, listRoots(roots))
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

// OuterRoots keeps the paths that lie inside no other one: the runner
// mounts its work folder and folders inside it, and the inner ones must be
// checked link by link below the outer one, which the job can write to.
func OuterRoots(roots []HostRoot) []HostRoot {
	var out []HostRoot
	for i, r := range roots {
		inner := false
		for j, o := range roots {
			if _, ok := below(path.Clean(r.Path), path.Clean(o.Path)); ok && i != j && path.Clean(r.Path) != path.Clean(o.Path) {
				inner = true
				break
			}
		}
		if !inner {
			out = append(out, r)
		}
	}
	return out
}

// CheckUserMounts runs Compose's check of the job's mounts ahead of time,
// so a job is refused before it holds GPUs or starts services.
func CheckUserMounts(ms []Mount, roots []HostRoot) error {
	for _, m := range ms {
		if _, err := checkUserMount(m, roots); err != nil {
			return err
		}
	}
	return nil
}
