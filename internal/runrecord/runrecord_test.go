package runrecord

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mlci/mlci/internal/digest"
)

func TestGolden(t *testing.T) {
	got, err := fixedStatement().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "statement.golden.json")
	if update(t) {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("Marshal mismatch (-golden +got); run with -update if intended:\n%s", diff)
	}
	s, err := Parse(want)
	if err != nil {
		t.Fatalf("Parse(golden): %v", err)
	}
	if diff := cmp.Diff(fixedStatement(), s); diff != "" {
		t.Errorf("Parse(golden) mismatch (-want +got):\n%s", diff)
	}
}

func TestMaterialsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    Materials
	}{
		{"full", fixedMaterials()},
		{"minimal", Materials{Commit: "abc", Repository: "r", Hardware: "unknown"}},
		{"empty hardware reads back unknown", Materials{Commit: "abc", Repository: "r"}},
		{"at in repository", Materials{Commit: "abc", Repository: "git@github.com:x/y", Hardware: "h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(map[string]digest.Digest{"out": sha("out")}, tt.m, "b", "i", fixedTime(), fixedTime())
			got, err := s.Materials()
			if err != nil {
				t.Fatal(err)
			}
			if Identity(got) != Identity(tt.m) {
				t.Errorf("Materials() = %+v, identity differs from %+v", got, tt.m)
			}
			b, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(b); err != nil {
				t.Errorf("Parse(New(...)): %v", err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Statement)
		raw    []byte // used instead of edit when set
		target error
	}{
		{name: "not json", raw: []byte("{"), target: ErrMalformed},
		{name: "wrong _type", edit: func(s *Statement) { s.Type = "https://in-toto.io/Statement/v0.1" }, target: ErrWrongType},
		{name: "wrong predicateType", edit: func(s *Statement) { s.PredicateType = "https://slsa.dev/provenance/v0.2" }, target: ErrWrongPredicate},
		{name: "no subjects", edit: func(s *Statement) { s.Subject = nil }, target: ErrNoSubject},
		{name: "subject without digest", edit: func(s *Statement) { s.Subject[0].Digest = nil }, target: ErrNoSubject},
		{name: "wrong buildType", edit: func(s *Statement) { s.Predicate.BuildDefinition.BuildType = "other" }, target: ErrMalformed},
		{name: "tampered identity", edit: func(s *Statement) {
			s.Predicate.BuildDefinition.InternalParameters.RunIdentity = dg(digest.BLAKE3, "forged")
		}, target: ErrIdentityMismatch},
		{name: "tampered dataset", edit: func(s *Statement) {
			for i, d := range s.Predicate.BuildDefinition.ResolvedDependencies {
				if d.URI == "mlci-data:train" {
					s.Predicate.BuildDefinition.ResolvedDependencies[i].Digest = map[string]string{"blake3": dg(digest.BLAKE3, "other").Hex()}
				}
			}
		}, target: ErrIdentityMismatch},
		{name: "tampered hardware text", edit: func(s *Statement) {
			for i, d := range s.Predicate.BuildDefinition.ResolvedDependencies {
				if d.URI == hardwareURI {
					s.Predicate.BuildDefinition.ResolvedDependencies[i].Annotations = map[string]string{fingerprintKey: "gpu=faster"}
				}
			}
		}, target: ErrIdentityMismatch},
		{name: "tampered commit", edit: func(s *Statement) {
			s.Predicate.BuildDefinition.ResolvedDependencies[0].URI = "git+https://github.com/example/model@ffff"
			s.Predicate.BuildDefinition.ResolvedDependencies[0].Digest = map[string]string{"gitCommit": "ffff"}
		}, target: ErrIdentityMismatch},
		{name: "tampered externalParameters", edit: func(s *Statement) {
			s.Predicate.BuildDefinition.ExternalParameters.Commit = "ffff"
		}, target: ErrIdentityMismatch},
		{name: "dropped dataset", edit: func(s *Statement) {
			deps := s.Predicate.BuildDefinition.ResolvedDependencies
			s.Predicate.BuildDefinition.ResolvedDependencies = append(deps[:1:1], deps[2:]...)
		}, target: ErrIdentityMismatch},
		{name: "no source", edit: func(s *Statement) {
			s.Predicate.BuildDefinition.ResolvedDependencies = s.Predicate.BuildDefinition.ResolvedDependencies[1:]
		}, target: ErrMalformed},
		{name: "unknown dependency", edit: func(s *Statement) {
			s.Predicate.BuildDefinition.ResolvedDependencies = append(s.Predicate.BuildDefinition.ResolvedDependencies,
				ResourceDescriptor{URI: "https://example.com/x", Digest: map[string]string{"sha256": "00"}})
		}, target: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.raw
			if data == nil {
				s := fixedStatement()
				tt.edit(&s)
				var err error
				if data, err = s.Marshal(); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Parse(data)
			if !errors.Is(err, tt.target) {
				t.Errorf("Parse error = %v, want %v", err, tt.target)
			}
		})
	}
}

func TestParseRejectsEditedBytes(t *testing.T) {
	b, err := fixedStatement().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(b, []byte("NVIDIA H200"), []byte("NVIDIA H100"), 1)
	if bytes.Equal(b, edited) {
		t.Fatal("fixture no longer contains the hardware text")
	}
	if _, err := Parse(edited); !errors.Is(err, ErrIdentityMismatch) {
		t.Errorf("Parse(hand-edited record) error = %v, want %v", err, ErrIdentityMismatch)
	}
}
