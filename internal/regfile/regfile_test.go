package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	big := filepath.Join(dir, "big")
	fifo := filepath.Join(dir, "fifo")
	if err := os.WriteFile(small, []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := Read(small, 1024); err != nil || string(data) != "ok" {
		t.Errorf("Read(small) = %q, %v", data, err)
	}
	var tl *TooLargeError
	if _, err := Read(big, 1024); !errors.As(err, &tl) || tl.Size != 2048 {
		t.Errorf("Read(big) = %v, want a TooLargeError of 2048 bytes", err)
	}
	for _, p := range []string{fifo, dir, "/dev/zero"} {
		var nr *NotRegularError
		if _, err := Read(p, 1024); !errors.As(err, &nr) {
			t.Errorf("Read(%s) = %v, want a NotRegularError", p, err)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing"), 1024); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read(missing) = %v, want os.ErrNotExist", err)
	}
}
