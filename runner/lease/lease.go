// Package lease hands out exclusive GPU leases to CI jobs on one host, so two
// jobs never share a GPU even when separate runner processes ask at once.
//
// All state lives in one directory: leases.json and quarantine.json, each
// rewritten atomically, and a lock file taken with flock(2) around every
// read-modify-write. Leases end when their owner process dies, so a runner
// killed with SIGKILL does not strand its GPUs.
package lease

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrBadRequest marks a Request or argument that can never be valid.
	ErrBadRequest = errors.New("bad lease request")
	// ErrUnsatisfiable marks a request this host cannot meet even when idle.
	ErrUnsatisfiable = errors.New("request cannot be satisfied on this host")
	// ErrTimeout marks a request that found no free GPUs within Request.Wait.
	ErrTimeout = errors.New("timed out waiting for free GPUs")
	// ErrCorrupt marks a state file that cannot be parsed. It is never
	// repaired automatically, because dropping it would forget live leases.
	ErrCorrupt = errors.New("corrupt lease state")
	// ErrNoLease marks an operation on a job that holds no lease.
	ErrNoLease = errors.New("no lease for this job")
)

// Candidate is one device the inventory offers: a whole GPU or a MIG device.
type Candidate struct {
	ID          string // GPU UUID, or MIG device UUID
	Parent      string // GPU UUID when ID is a MIG device; "" otherwise
	Index       int    // for stable ordering and messages
	Model       string // product name, e.g. "NVIDIA H100 80GB HBM3"
	MemoryTotal uint64
	Island      string // topology group ("" unknown): several GPUs are preferably chosen from one island
	Healthy     bool
	Reason      string // why unhealthy or busy
	Busy        bool   // has compute processes no lease explains (stray); never handed out
}

// Lease is one job's exclusive hold on a set of devices.
type Lease struct {
	Job       string    `json:"job"`
	IDs       []string  `json:"ids"`
	Owner     Owner     `json:"owner"`
	Container string    `json:"container,omitempty"`
	Acquired  time.Time `json:"acquired"`
}

// Request describes what a job needs and how long it may wait for it.
type Request struct {
	Job       string        // unique job key, e.g. "github:1234:5:build" or "gitlab:987"
	Count     int           // >= 1
	MinMemory uint64        // bytes, 0 = any
	Model     string        // case-insensitive substring of Candidate.Model, "" = any
	Owner     Owner         // the long-lived process whose death ends the lease
	Container string        // optional: usually set later via SetContainer
	Wait      time.Duration // how long to wait for free GPUs; 0 = do not wait
	Poll      time.Duration // 0 = 1s

	// Candidates returns a fresh inventory; it is called at each try
	// because health and stray processes change while a job waits. Its
	// error ends Acquire: retrying a broken inventory hides the breakage.
	Candidates func(ctx context.Context) ([]Candidate, error)
	// Ended is an optional extra "job has ended" check (e.g. its container
	// is gone); nil means only owner liveness ends a lease. It is asked
	// about every other lease with a live owner at each try, without the
	// lock held, so it may be slow but should not be very slow.
	Ended func(ctx context.Context, l Lease) bool
	// Progress, if set, is called once when the first try fails and the
	// job starts to wait, with a message saying why.
	Progress func(msg string)
	// Reclaimed, if set, is called for each lease Acquire dropped because
	// its job ended, so the caller can clean those GPUs as Reclaim's caller
	// would.
	Reclaimed func(l Lease)
}

// leaseError carries a finished one-line message and the sentinel it is.
type leaseError struct {
	kind error
	msg  string
}

func (e *leaseError) Error() string { return e.msg }
func (e *leaseError) Unwrap() error { return e.kind }
