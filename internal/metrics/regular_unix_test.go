//go:build unix

package metrics

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRegularRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	tests := []struct {
		path, want string
	}{
		{fifo, "is a named pipe, not a regular file"}, // would block in open(2) without O_NONBLOCK
		{"/dev/zero", "is a device, not a regular file"},
		{dir, "is a directory, not a regular file"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			_, err := ReadRegular(tt.path)
			var nr *NotRegularError
			if !errors.As(err, &nr) || !strings.Contains(err.Error(), tt.path+" "+tt.want) {
				t.Errorf("ReadRegular(%s) error = %v; want a *NotRegularError saying %q", tt.path, err, tt.want)
			}
			if _, err := ReadFile(tt.path); !errors.As(err, &nr) {
				t.Errorf("ReadFile(%s) error = %v; want a *NotRegularError", tt.path, err)
			}
		})
	}
	if _, err := ReadRegular(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v; want one wrapping os.ErrNotExist", err)
	}
}
