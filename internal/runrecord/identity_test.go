package runrecord

import (
	"testing"

	"github.com/mlci/mlci/internal/digest"
)

func TestIdentityStable(t *testing.T) {
	m := fixedMaterials()
	want := Identity(m)
	if _, err := digest.Parse(string(want)); err != nil {
		t.Fatalf("Identity = %q, not a digest: %v", want, err)
	}
	if want.Algorithm() != digest.BLAKE3 {
		t.Errorf("Identity algorithm = %s, want blake3", want.Algorithm())
	}
	// Rebuilding the map many times exercises different iteration orders.
	for i := range 50 {
		m2 := fixedMaterials()
		m2.Data = map[string]digest.Digest{}
		keys := []string{"train", "eval"}
		if i%2 == 1 {
			keys = []string{"eval", "train"}
		}
		for _, k := range keys {
			m2.Data[k] = m.Data[k]
		}
		if got := Identity(m2); got != want {
			t.Fatalf("iteration %d: Identity = %s, want %s", i, got, want)
		}
	}
	// Recording the same run twice gives the same identity.
	a, b := fixedStatement(), fixedStatement()
	if a.Predicate.BuildDefinition.InternalParameters.RunIdentity != b.Predicate.BuildDefinition.InternalParameters.RunIdentity {
		t.Error("two records of the same materials have different run_identity")
	}
}

func TestIdentityChanges(t *testing.T) {
	base := Identity(fixedMaterials())
	tests := []struct {
		name   string
		change func(*Materials)
	}{
		{"commit", func(m *Materials) { m.Commit = "1123456789abcdef0123456789abcdef01234567" }},
		{"repository", func(m *Materials) { m.Repository = "https://github.com/fork/model" }},
		{"dataset digest", func(m *Materials) { m.Data["train"] = dg(digest.BLAKE3, "train2") }},
		{"dataset renamed", func(m *Materials) {
			m.Data["training"] = m.Data["train"]
			delete(m.Data, "train")
		}},
		{"dataset added", func(m *Materials) { m.Data["test"] = dg(digest.BLAKE3, "test") }},
		{"dataset removed", func(m *Materials) { delete(m.Data, "eval") }},
		{"image", func(m *Materials) { m.Image = sha("image2") }},
		{"image unknown", func(m *Materials) { m.Image = "" }},
		{"hardware", func(m *Materials) { m.Hardware = "gpu=NVIDIA A100" }},
		{"hardware unknown", func(m *Materials) { m.Hardware = "unknown" }},
		{"params", func(m *Materials) { m.Params = dg(digest.BLAKE3, "params2") }},
		// Length prefixes keep a byte from moving between adjacent fields.
		{"boundary shift", func(m *Materials) {
			m.Repository += m.Commit[:1]
			m.Commit = m.Commit[1:]
		}},
	}
	seen := map[digest.Digest]string{base: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixedMaterials()
			tt.change(&m)
			got := Identity(m)
			if prev, dup := seen[got]; dup {
				t.Errorf("Identity after changing %s equals identity of %s: %s", tt.name, prev, got)
			}
			seen[got] = tt.name
		})
	}
}

func TestIdentityEmptyHardwareIsUnknown(t *testing.T) {
	a, b := fixedMaterials(), fixedMaterials()
	a.Hardware, b.Hardware = "", "unknown"
	if Identity(a) != Identity(b) {
		t.Error(`Identity treats Hardware "" and "unknown" differently; New records both as "unknown"`)
	}
}
