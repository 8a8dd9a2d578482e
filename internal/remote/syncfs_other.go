//go:build !linux

package remote

// syncFS has no one-call flush of a file system to use here, so it syncs
// each file written and then the folders holding them.
func syncFS(_ string, written []string) error {
	return syncEach(written)
}
