package gpu

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlci/mlci/runner/gpu/gputest"
)

func inventory(t *testing.T, srv *gputest.Server) Inventory {
	t.Helper()
	inv, err := open(t, srv).Inventory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// Two readings of one host that differ in everything that moves while it
// runs must fingerprint the same.
func TestFingerprintDeterministic(t *testing.T) {
	quiet := gputest.NewServer(t, 8)
	busy := gputest.NewServer(t, 8)
	for i := range 8 {
		busy.SetUtilization(i, 97, 60)
		busy.SetTemperature(i, 80)
		busy.SetPower(i, 350_000)
		busy.SetMemoryUsed(i, 30<<30)
		busy.AddProcess(i, uint32(1000+i), 1<<30)
	}
	busy.SetECCErrors(5, 1) // health is a state, not hardware identity
	a := NewFingerprint(inventory(t, quiet), nil)
	b := NewFingerprint(inventory(t, busy), nil)
	if !bytes.Equal(a.Text(), b.Text()) || a.Digest != b.Digest {
		t.Errorf("fingerprints differ:\n%s\n%s", a.Text(), b.Text())
	}
	golden(t, "fingerprint_dgxa100.json", a.Text())

	// The digest covers the text without the digest.
	var doc map[string]any
	if err := json.Unmarshal(a.Text(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["digest"] != a.Digest {
		t.Errorf("text digest %v, want %s", doc["digest"], a.Digest)
	}
	sum := sha256.Sum256(a.canonical(false))
	if want := "sha256:" + hex.EncodeToString(sum[:]); a.Digest != want {
		t.Errorf("Digest = %s, want %s", a.Digest, want)
	}
	if !bytes.HasSuffix(a.Text(), []byte("}\n")) {
		t.Errorf("text is not newline-terminated")
	}
}

func TestFingerprintSelection(t *testing.T) {
	srv := gputest.NewServer(t, 4)
	srv.EnableMIG(2, 3)
	inv := inventory(t, srv)
	type gpu struct {
		uuid string
		mig  []string
	}
	allMIG := []string{gputest.MIGUUID(2, 0), gputest.MIGUUID(2, 1), gputest.MIGUUID(2, 2)}
	tests := []struct {
		name  string
		uuids []string
		want  []gpu
	}{
		{"nil is all", nil, []gpu{{gputest.UUID(0), nil}, {gputest.UUID(1), nil}, {gputest.UUID(2), allMIG}, {gputest.UUID(3), nil}}},
		{"empty is none", []string{}, nil},
		{"subset, sorted", []string{gputest.UUID(3), gputest.UUID(1)}, []gpu{{gputest.UUID(1), nil}, {gputest.UUID(3), nil}}},
		{"GPU takes all its MIG devices", []string{gputest.UUID(2)}, []gpu{{gputest.UUID(2), allMIG}}},
		{"MIG devices take their GPU", []string{gputest.MIGUUID(2, 2), gputest.MIGUUID(2, 0)},
			[]gpu{{gputest.UUID(2), []string{gputest.MIGUUID(2, 0), gputest.MIGUUID(2, 2)}}}},
		{"unknown ignored", []string{"GPU-nope", gputest.UUID(0)}, []gpu{{gputest.UUID(0), nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFingerprint(inv, tt.uuids)
			var got []gpu
			for _, g := range f.GPUs {
				if g.Name != "NVIDIA A100-SXM4-40GB" || g.MemoryTotal != 40<<30 {
					t.Errorf("GPU %+v", g)
				}
				mig := g.MIG
				if len(mig) == 0 {
					mig = nil
				}
				got = append(got, gpu{g.UUID, mig})
			}
			if !slices.EqualFunc(got, tt.want, func(a, b gpu) bool { return a.uuid == b.uuid && slices.Equal(a.mig, b.mig) }) {
				t.Errorf("GPUs = %v, want %v", got, tt.want)
			}
		})
	}
	if NewFingerprint(inv, []string{gputest.UUID(0)}).Digest == NewFingerprint(inv, []string{gputest.UUID(1)}).Digest {
		t.Errorf("different GPUs, same digest")
	}
	if NewFingerprint(inv, []string{gputest.MIGUUID(2, 0)}).Digest == NewFingerprint(inv, []string{gputest.MIGUUID(2, 1)}).Digest {
		t.Errorf("different MIG devices, same digest")
	}
}

func TestFingerprintSortsByNameThenUUID(t *testing.T) {
	inv := Inventory{Driver: "1", CUDA: "12.4", GPUs: []Device{
		{UUID: "GPU-b", Name: "NVIDIA L4"},
		{UUID: "GPU-c", Name: "NVIDIA H100 80GB HBM3"},
		{UUID: "GPU-a", Name: "NVIDIA L4"},
		{UUID: "", Name: "NVIDIA L4"}, // unreadable: left out
	}}
	var got []string
	for _, g := range NewFingerprint(inv, nil).GPUs {
		got = append(got, g.UUID)
	}
	if want := []string{"GPU-c", "GPU-a", "GPU-b"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestWriteHardwareFile(t *testing.T) {
	f := NewFingerprint(inventory(t, gputest.NewServer(t, 2)), nil)
	path := filepath.Join(t.TempDir(), "hardware.json")
	if err := WriteHardwareFile(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.Text()) {
		t.Errorf("file = %s, want %s", got, f.Text())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644", fi.Mode(), err)
	}
	if err := WriteHardwareFile(filepath.Join(t.TempDir(), "missing", "hardware.json"), f); err == nil {
		t.Errorf("writing into a missing directory succeeded")
	}
}
