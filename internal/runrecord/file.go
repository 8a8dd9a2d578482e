package runrecord

import (
	"fmt"
	"strings"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/regfile"
)

// HardwareFileEnv names the file holding the runner's hardware fingerprint.
const HardwareFileEnv = "MLCI_HARDWARE_FILE"

// Write stores s at path atomically: readers see the old record or the new
// one, never half of one, even if the runner dies mid-write.
func Write(path string, s Statement) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b, 0o644); err != nil {
		return fmt.Errorf("run record: %w", err)
	}
	return nil
}

// Read loads and validates the run record at path.
func Read(path string) (Statement, error) {
	// The record is a file of the repository: a branch may make it a FIFO.
	b, err := regfile.Read(path, 64<<20)
	if err != nil {
		return Statement{}, fmt.Errorf("read run record: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return Statement{}, fmt.Errorf("run record %s: %w", path, err)
	}
	return s, nil
}

// HardwareFromEnv returns the trimmed contents of the file named by
// MLCI_HARDWARE_FILE, or "unknown". A missing or unreadable file is not an
// error: a run on unfingerprinted hardware is still worth recording, and
// "unknown" keeps such runs from claiming the identity of a known machine.
func HardwareFromEnv(getenv func(string) string, readFile func(string) ([]byte, error)) string {
	name := getenv(HardwareFileEnv)
	if name == "" {
		return unknownHardwareText
	}
	b, err := readFile(name)
	if err != nil {
		return unknownHardwareText
	}
	if text := strings.TrimSpace(string(b)); text != "" {
		return text
	}
	return unknownHardwareText
}
