package runrecord

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func fixedTime() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.intoto.json")
	want := fixedStatement()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	// Overwriting must work too, and leave no temp files behind.
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read(Write(s)) mismatch (-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only run.intoto.json", names)
	}
}

func TestWriteMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "run.json")
	if err := Write(path, fixedStatement()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Write into a missing directory: error = %v, want ErrNotExist", err)
	}
}

func TestReadMissing(t *testing.T) {
	if _, err := Read(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing) error = %v, want ErrNotExist", err)
	}
}

func TestHardwareFromEnv(t *testing.T) {
	errRead := errors.New("permission denied")
	tests := []struct {
		name  string
		env   map[string]string
		files map[string]string
		want  string
	}{
		{name: "unset", want: "unknown"},
		{name: "file trimmed", env: map[string]string{HardwareFileEnv: "/hw"}, files: map[string]string{"/hw": "  gpu=H200\n"}, want: "gpu=H200"},
		{name: "multi-line kept", env: map[string]string{HardwareFileEnv: "/hw"}, files: map[string]string{"/hw": "gpu=H200\ncpu=x\n"}, want: "gpu=H200\ncpu=x"},
		{name: "missing file", env: map[string]string{HardwareFileEnv: "/absent"}, want: "unknown"},
		{name: "unreadable file", env: map[string]string{HardwareFileEnv: "/denied"}, want: "unknown"},
		{name: "blank file", env: map[string]string{HardwareFileEnv: "/hw"}, files: map[string]string{"/hw": " \n\t"}, want: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			readFile := func(name string) ([]byte, error) {
				if name == "/denied" {
					return nil, errRead
				}
				s, ok := tt.files[name]
				if !ok {
					return nil, fs.ErrNotExist
				}
				return []byte(s), nil
			}
			if got := HardwareFromEnv(getenv, readFile); got != tt.want {
				t.Errorf("HardwareFromEnv = %q, want %q", got, tt.want)
			}
		})
	}
}
