package lease

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// CheckDir says whether dir is safe to hold lease state: a directory with
// mode 0700 owned by the user this process runs as. A user who can write it
// could forge or delete leases and take GPUs a job holds; one who can read
// it sees which job holds which GPU. `mlci-runner check` and Open share it,
// so both judge a directory in the same words.
func CheckDir(dir string) error {
	return checkDir(dir, os.Geteuid())
}

// dirError is a state directory CheckDir refuses.
type dirError struct {
	msg string
	// narrowable: the directory is ours and no one else can write it, so
	// nothing in it can have been forged and chmod 700 makes it safe.
	narrowable bool
}

func (e *dirError) Error() string { return e.msg }

func checkDir(dir string, uid int) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if !fi.IsDir() {
		return &dirError{msg: fmt.Sprintf("state directory %s is not a directory: remove it or set state_dir to a directory", dir)}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != uid {
		owner, me := userName(int(st.Uid)), userName(uid)
		return &dirError{msg: fmt.Sprintf("state directory %s is owned by %s, not by %s, who runs mlci-runner: chown %s %s, or run mlci-runner as %s",
			dir, owner, me, me, dir, owner)}
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		return &dirError{
			msg:        fmt.Sprintf("state directory %s has mode %04o but must be 0700, so no other user can read or forge leases: chmod 700 %s", dir, uint32(perm), dir),
			narrowable: perm&0o022 == 0,
		}
	}
	return nil
}

// narrowable reports whether err is a CheckDir failure that chmod 700
// repairs without hiding anything: see dirError.
func narrowable(err error) bool {
	var de *dirError
	return errors.As(err, &de) && de.narrowable
}

// userName is uid's login name, or the number where it has none; either
// works in a chown command.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(uid)
}
