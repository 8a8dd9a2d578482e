package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/atomicfile"
	"golang.org/x/sys/unix"
)

const (
	lockName       = "lock"
	leasesName     = "leases.json"
	quarantineName = "quarantine.json"
	stateVersion   = 1
)

// Store is the lease state of one host, kept in a directory. It holds no
// state in memory, so any number of Stores and processes may share a
// directory.
type Store struct {
	dir string
}

type leaseFile struct {
	Version int     `json:"version"`
	Leases  []Lease `json:"leases"`
}

type quarantineFile struct {
	Version     int               `json:"version"`
	Quarantined map[string]string `json:"quarantined"` // device ID -> reason
}

// Open opens the state directory, creating it with mode 0700 so jobs
// running as other users can neither read nor write it. An existing one
// that fails CheckDir is refused when another user owns it or could write
// it: leases in it may be forged, and a chmod would hide that. One that is
// ours and only readable by others is narrowed to 0700, as before.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty lease state directory", ErrBadRequest)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create lease state directory: %w", err)
		}
		// The umask may have narrowed MkdirAll's mode below 0700.
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create lease state directory: %w", err)
		}
	}
	err := CheckDir(dir)
	if narrowable(err) {
		if cerr := os.Chmod(dir, 0o700); cerr != nil {
			return nil, fmt.Errorf("%w (%v)", err, cerr)
		}
		err = CheckDir(dir)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir}
	// Take the lock once so an unwritable directory fails here, at start-up,
	// rather than at the first job.
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	unlock()
	return s, nil
}

// lock takes the directory's exclusive lock. Each call opens its own file
// description, because flock(2) locks belong to a description: goroutines
// sharing one would not exclude each other.
func (s *Store) lock() (unlock func(), err error) {
	p := filepath.Join(s.dir, lockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lease lock: %w", err)
	}
	fd := int(f.Fd())
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return func() {
		unix.Flock(fd, unix.LOCK_UN)
		f.Close()
	}, nil
}

// readJSON reads a state file into v and returns its path, or "" when the
// file is missing or empty, which is an empty state. Readers need no lock:
// writers replace files by rename, so a reader sees the old content or the
// new.
func (s *Store) readJSON(name string, v any) (string, error) {
	p := filepath.Join(s.dir, name)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(b) == 0) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read lease state: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return "", corrupt(p, err.Error())
	}
	return p, nil
}

func checkVersion(path string, v int) error {
	if v != stateVersion {
		return corrupt(path, fmt.Sprintf("version %d, this mlci reads version %d", v, stateVersion))
	}
	return nil
}

func corrupt(path, why string) error {
	return &leaseError{kind: ErrCorrupt, msg: fmt.Sprintf(
		"lease state file %s is corrupt (%s): fix it by hand, or move it aside once no CI job uses a GPU (that forgets every lease in it)",
		path, why)}
}

func (s *Store) readLeases() ([]Lease, error) {
	var f leaseFile
	p, err := s.readJSON(leasesName, &f)
	if err != nil || p == "" {
		return nil, err
	}
	if err := checkVersion(p, f.Version); err != nil {
		return nil, err
	}
	jobs := map[string]bool{}
	holder := map[string]string{}
	for _, l := range f.Leases {
		if l.Job == "" || len(l.IDs) == 0 {
			return nil, corrupt(p, fmt.Sprintf("lease %q has no job or no devices", l.Job))
		}
		if jobs[l.Job] {
			return nil, corrupt(p, fmt.Sprintf("job %s has two leases", l.Job))
		}
		jobs[l.Job] = true
		for _, id := range l.IDs {
			if j, ok := holder[id]; ok {
				return nil, corrupt(p, fmt.Sprintf("%s is leased to both %s and %s", id, j, l.Job))
			}
			holder[id] = l.Job
		}
	}
	return f.Leases, nil
}

func (s *Store) writeLeases(ls []Lease) error {
	slices.SortFunc(ls, func(a, b Lease) int { return strings.Compare(a.Job, b.Job) })
	if ls == nil {
		ls = []Lease{}
	}
	return s.writeJSON(leasesName, leaseFile{Version: stateVersion, Leases: ls})
}

func (s *Store) readQuarantine() (map[string]string, error) {
	var f quarantineFile
	p, err := s.readJSON(quarantineName, &f)
	if err != nil {
		return nil, err
	}
	if p != "" {
		if err := checkVersion(p, f.Version); err != nil {
			return nil, err
		}
	}
	if f.Quarantined == nil {
		f.Quarantined = map[string]string{}
	}
	return f.Quarantined, nil
}

func (s *Store) writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lease state: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir, name), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save lease state: %w", err)
	}
	return nil
}

// update runs fn on the leases under the lock and saves them if fn says
// they changed.
func (s *Store) update(fn func([]Lease) ([]Lease, bool, error)) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	ls, err := s.readLeases()
	if err != nil {
		return err
	}
	ls, changed, err := fn(ls)
	if err != nil || !changed {
		return err
	}
	return s.writeLeases(ls)
}

func find(ls []Lease, job string) int {
	return slices.IndexFunc(ls, func(l Lease) bool { return l.Job == job })
}

// Get returns the lease of job, if any.
func (s *Store) Get(job string) (Lease, bool, error) {
	ls, err := s.readLeases()
	if err != nil {
		return Lease{}, false, err
	}
	if i := find(ls, job); i >= 0 {
		return ls[i], true, nil
	}
	return Lease{}, false, nil
}

// List returns every lease, ordered by job.
func (s *Store) List() ([]Lease, error) {
	ls, err := s.readLeases()
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ls, func(a, b Lease) int { return strings.Compare(a.Job, b.Job) })
	return ls, nil
}

// SetContainer records the container a job runs in, so an Ended check can
// tell when the job is over even while its owner process lives on.
func (s *Store) SetContainer(job, containerID string) error {
	return s.update(func(ls []Lease) ([]Lease, bool, error) {
		i := find(ls, job)
		if i < 0 {
			return nil, false, fmt.Errorf("record container %s for job %s: %w; acquire GPUs for the job first", containerID, job, ErrNoLease)
		}
		if ls[i].Container == containerID {
			return ls, false, nil
		}
		ls[i].Container = containerID
		return ls, true, nil
	})
}

// Release removes the lease of job and returns it. Releasing a job that
// holds no lease is not an error, so cleanup may run more than once.
func (s *Store) Release(job string) (Lease, bool, error) {
	var gone Lease
	var found bool
	err := s.update(func(ls []Lease) ([]Lease, bool, error) {
		i := find(ls, job)
		if i < 0 {
			return ls, false, nil
		}
		gone, found = ls[i], true
		return slices.Delete(ls, i, i+1), true, nil
	})
	if err != nil {
		return Lease{}, false, err
	}
	return gone, found, nil
}

// leaseKey identifies one grant of a lease, so a lease judged ended outside
// the lock is not confused with a new lease the same job took meanwhile.
type leaseKey struct {
	job      string
	acquired int64
	owner    Owner
}

func keyOf(l Lease) leaseKey {
	return leaseKey{job: l.Job, acquired: l.Acquired.UnixNano(), owner: l.Owner}
}

// endedLeases asks ended about each lease whose owner lives, except skipJob's.
// It runs without the lock because ended may be slow (a docker inspect).
func endedLeases(ctx context.Context, ls []Lease, ended func(context.Context, Lease) bool, skipJob string) (map[leaseKey]bool, error) {
	out := map[leaseKey]bool{}
	if ended == nil {
		return out, nil
	}
	for _, l := range ls {
		if l.Job == skipJob || !l.Owner.Alive() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("check which CI jobs have ended: %w", err)
		}
		if ended(ctx, l) {
			out[keyOf(l)] = true
		}
	}
	return out, nil
}

// dropGone splits ls into leases to keep and leases whose owner is dead or
// which ended reported as over.
func dropGone(ls []Lease, ended map[leaseKey]bool) (kept, dropped []Lease) {
	for _, l := range ls {
		if ended[keyOf(l)] || !l.Owner.Alive() {
			dropped = append(dropped, l)
		} else {
			kept = append(kept, l)
		}
	}
	return kept, dropped
}

// Reclaim drops leases whose owner is dead or for which ended (optional)
// reports the job over, and returns them so the caller can clean their GPUs.
func (s *Store) Reclaim(ctx context.Context, ended func(context.Context, Lease) bool) ([]Lease, error) {
	ls, err := s.readLeases()
	if err != nil {
		return nil, err
	}
	over, err := endedLeases(ctx, ls, ended, "")
	if err != nil {
		return nil, err
	}
	var dropped []Lease
	err = s.update(func(ls []Lease) ([]Lease, bool, error) {
		var kept []Lease
		kept, dropped = dropGone(ls, over)
		return kept, len(dropped) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	return dropped, nil
}

// Quarantine keeps a device from being handed out until Unquarantine. A
// lease already holding it is left alone.
func (s *Store) Quarantine(id, reason string) error {
	if id == "" {
		return fmt.Errorf("%w: quarantine needs a device ID", ErrBadRequest)
	}
	if reason == "" {
		reason = "no reason given"
	}
	return s.updateQuarantine(func(q map[string]string) bool {
		if q[id] == reason {
			return false
		}
		q[id] = reason
		return true
	})
}

// Unquarantine makes a device available again; it is a no-op for a device
// not in quarantine.
func (s *Store) Unquarantine(id string) error {
	return s.updateQuarantine(func(q map[string]string) bool {
		if _, ok := q[id]; !ok {
			return false
		}
		delete(q, id)
		return true
	})
}

// Quarantined returns the quarantined device IDs with their reasons.
func (s *Store) Quarantined() (map[string]string, error) {
	return s.readQuarantine()
}

func (s *Store) updateQuarantine(fn func(map[string]string) bool) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	q, err := s.readQuarantine()
	if err != nil {
		return err
	}
	if !fn(q) {
		return nil
	}
	return s.writeJSON(quarantineName, quarantineFile{Version: stateVersion, Quarantined: q})
}
