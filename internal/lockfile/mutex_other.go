//go:build !unix

package lockfile

import "context"

// Without flock, writers are not serialised; see mutex_unix.go.

// Acquire creates the mutex file only.
func Acquire(ctx context.Context, dir string, wait func()) (release func(), err error) {
	f, err := createMutex(dir)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

func lockShared(context.Context, string, func()) (func(), error) { return func() {}, nil }
