package lease

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Owner identifies a process across pid reuse: a pid alone could name an
// unrelated process after the owner died, the pid with its start time cannot.
type Owner struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // field 22 of /proc/PID/stat, in clock ticks since boot
}

// Self returns the calling process as an Owner.
func Self() Owner {
	o, err := ProcessOwner(os.Getpid())
	if err != nil {
		// Without a readable /proc the start time is unknown; Start 0 makes
		// Alive fall back to the pid alone rather than call us dead.
		return Owner{PID: os.Getpid()}
	}
	return o
}

// ProcessOwner returns the Owner for a running process.
func ProcessOwner(pid int) (Owner, error) {
	if pid <= 0 {
		return Owner{}, fmt.Errorf("%w: pid %d is not a process id", ErrBadRequest, pid)
	}
	st, err := readStat(pid)
	if err != nil {
		return Owner{}, err
	}
	return Owner{PID: pid, Start: st.start}, nil
}

// Alive reports whether the process still exists and is the same process
// (same start time). Zombies count as dead: they hold no GPU any more.
// Start 0 means the start time was unknown and only the pid is checked.
func (o Owner) Alive() bool {
	if o.PID <= 0 {
		// kill(0, 0) or kill(-1, 0) would probe a group, not a process.
		return false
	}
	if err := unix.Kill(o.PID, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	st, err := readStat(o.PID)
	if err != nil {
		// Gone between the two calls, or /proc hides it (hidepid); in the
		// second case keeping a lease is safer than handing out its GPUs.
		return !errors.Is(err, fs.ErrNotExist)
	}
	if st.state == 'Z' || st.state == 'X' {
		return false
	}
	return o.Start == 0 || st.start == o.Start
}

type procStat struct {
	state byte
	start uint64
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, fmt.Errorf("read start time of process %d: %w", pid, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("read start time of process %d: %w", pid, err)
	}
	return st, nil
}

// parseStat reads /proc/PID/stat. The command name (field 2) may contain
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("no ')' closing the command name in /proc stat line")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field 22 (starttime) is f[19].
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("/proc stat line has %d fields after the command name, want at least 20", len(f))
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("start time field of /proc stat line: %w", err)
	}
	return procStat{state: f[0][0], start: start}, nil
}
