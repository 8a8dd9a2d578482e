// Package runrecord records a training or eval run as an in-toto Statement with
// a SLSA provenance predicate, so a model traces back to what made it.
package runrecord

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mlci/mlci/internal/digest"
)

const (
	// StatementType is the in-toto Statement v1 "_type".
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is SLSA provenance v1.
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType says how to read an mlci run's buildDefinition:
	// externalParameters holds the repository and commit asked for;
	// internalParameters holds run_identity, the Identity of the materials;
	// resolvedDependencies lists the materials themselves, one descriptor
	// each, told apart by URI: "git+REPO@COMMIT" (digest gitCommit),
	// "mlci-data:NAME" per dataset, "mlci-run:image", "mlci-run:hardware"
	// (annotation "fingerprint" holds the text) and "mlci-run:params".
	BuildType = "https://mlci.dev/run/v1"
)

// URIs of the resolved dependencies, see BuildType.
const (
	gitPrefix   = "git+"
	dataPrefix  = "mlci-data:"
	imageURI    = "mlci-run:image"
	hardwareURI = "mlci-run:hardware"
	paramsURI   = "mlci-run:params"

	gitCommitAlg        = "gitCommit"
	fingerprintKey      = "fingerprint"
	unknownHardwareText = "unknown"
)

var (
	// ErrMalformed is returned for a record that is not a well-formed mlci run.
	ErrMalformed = errors.New("malformed run record")
	// ErrWrongType is returned when _type is not in-toto Statement v1.
	ErrWrongType = errors.New("not an in-toto Statement v1")
	// ErrWrongPredicate is returned when predicateType is not SLSA provenance v1.
	ErrWrongPredicate = errors.New("predicate is not SLSA provenance v1")
	// ErrNoSubject is returned for a statement that attests to nothing.
	ErrNoSubject = errors.New("statement has no subject with a digest")
	// ErrIdentityMismatch is returned when run_identity does not match the
	// recorded materials: the record was edited after it was made.
	ErrIdentityMismatch = errors.New("run_identity does not match the recorded materials")
)

// Statement is an in-toto Statement v1 about the outputs of one run.
type Statement struct {
	Type          string               `json:"_type"`
	Subject       []ResourceDescriptor `json:"subject"`
	PredicateType string               `json:"predicateType"`
	Predicate     Provenance           `json:"predicate"`
}

// ResourceDescriptor is the in-toto v1 ResourceDescriptor, less the fields
// mlci never writes (content, downloadLocation, mediaType).
type ResourceDescriptor struct {
	Name        string            `json:"name,omitempty"`
	URI         string            `json:"uri,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Provenance is the SLSA provenance v1 predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is SLSA's description of the inputs of a run.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	InternalParameters   InternalParameters   `json:"internalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
}

// ExternalParameters are what the user asked to run.
type ExternalParameters struct {
	Repository string `json:"repository,omitempty"` // "" when unknown: see Repository
	Commit     string `json:"commit"`
}

// InternalParameters are what mlci derived; run_identity lets a reader find
// other runs of the same experiment without recomputing it.
type InternalParameters struct {
	RunIdentity digest.Digest `json:"run_identity"`
}

// RunDetails is SLSA's description of who ran it and when.
type RunDetails struct {
	Builder  Builder  `json:"builder"`
	Metadata Metadata `json:"metadata"`
}

// Builder identifies the runner that executed the run.
type Builder struct {
	ID string `json:"id"`
}

// Metadata carries the invocation and its times.
type Metadata struct {
	InvocationID string    `json:"invocationId,omitempty"`
	StartedOn    time.Time `json:"startedOn,omitzero"`
	FinishedOn   time.Time `json:"finishedOn,omitzero"`
}

// New records a run whose outputs are subjects (name to digest). Digests must
// be well formed (see digest.Parse) for the record to parse back. Times are
// stored in UTC so a record reads the same whatever the runner's time zone.
func New(subjects map[string]digest.Digest, m Materials, builderID, invocationID string, started, finished time.Time) Statement {
	names := make([]string, 0, len(subjects))
	for n := range subjects {
		names = append(names, n)
	}
	sort.Strings(names)
	subj := make([]ResourceDescriptor, 0, len(names))
	for _, n := range names {
		subj = append(subj, ResourceDescriptor{Name: n, Digest: digestMap(subjects[n])})
	}
	return Statement{
		Type:          StatementType,
		Subject:       subj,
		PredicateType: PredicateType,
		Predicate: Provenance{
			BuildDefinition: BuildDefinition{
				BuildType:            BuildType,
				ExternalParameters:   ExternalParameters{Repository: m.Repository, Commit: m.Commit},
				InternalParameters:   InternalParameters{RunIdentity: Identity(m)},
				ResolvedDependencies: dependencies(m),
			},
			RunDetails: RunDetails{
				Builder: Builder{ID: builderID},
				Metadata: Metadata{
					InvocationID: invocationID,
					StartedOn:    utc(started),
					FinishedOn:   utc(finished),
				},
			},
		},
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func digestMap(d digest.Digest) map[string]string {
	return map[string]string{string(d.Algorithm()): d.Hex()}
}

func dependencies(m Materials) []ResourceDescriptor {
	deps := []ResourceDescriptor{{
		Name:   "source",
		URI:    gitPrefix + m.Repository + "@" + m.Commit,
		Digest: map[string]string{gitCommitAlg: m.Commit},
	}}
	for _, n := range sortedKeys(m.Data) {
		deps = append(deps, ResourceDescriptor{Name: n, URI: dataPrefix + n, Digest: digestMap(m.Data[n])})
	}
	// An unknown image is left out rather than recorded with an empty digest,
	// which in-toto does not allow.
	if m.Image != "" {
		deps = append(deps, ResourceDescriptor{Name: "image", URI: imageURI, Digest: digestMap(m.Image)})
	}
	hw := m.Hardware
	if hw == "" {
		hw = unknownHardwareText
	}
	deps = append(deps, ResourceDescriptor{
		Name:        "hardware",
		URI:         hardwareURI,
		Digest:      digestMap(textDigest(hw)),
		Annotations: map[string]string{fingerprintKey: hw},
	})
	if m.Params != "" {
		deps = append(deps, ResourceDescriptor{Name: "params", URI: paramsURI, Digest: digestMap(m.Params)})
	}
	return deps
}

func textDigest(s string) digest.Digest {
	h := digest.BLAKE3.New()
	h.Write([]byte(s))
	return digest.New(digest.BLAKE3, h.Sum(nil))
}

// Marshal encodes s indented, with a trailing newline so the file diffs well.
func (s Statement) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode run record: %w", err)
	}
	return append(b, '\n'), nil
}

// Parse decodes and validates a run record; a record whose run_identity no
// longer matches its materials is rejected, since it was edited.
func Parse(data []byte) (Statement, error) {
	var s Statement
	if err := json.Unmarshal(data, &s); err != nil {
		return Statement{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if s.Type != StatementType {
		return Statement{}, fmt.Errorf("%w: _type is %q", ErrWrongType, s.Type)
	}
	if s.PredicateType != PredicateType {
		return Statement{}, fmt.Errorf("%w: predicateType is %q", ErrWrongPredicate, s.PredicateType)
	}
	if len(s.Subject) == 0 {
		return Statement{}, ErrNoSubject
	}
	for i, sub := range s.Subject {
		if len(sub.Digest) == 0 {
			return Statement{}, fmt.Errorf("%w: subject %d (%q) has no digest", ErrNoSubject, i, sub.Name)
		}
	}
	bd := s.Predicate.BuildDefinition
	if bd.BuildType != BuildType {
		return Statement{}, fmt.Errorf("%w: buildType is %q, want %q", ErrMalformed, bd.BuildType, BuildType)
	}
	m, err := s.Materials()
	if err != nil {
		return Statement{}, err
	}
	if bd.ExternalParameters.Repository != m.Repository || bd.ExternalParameters.Commit != m.Commit {
		return Statement{}, fmt.Errorf("%w: externalParameters name %s@%s but the source dependency is %s@%s",
			ErrIdentityMismatch, bd.ExternalParameters.Repository, bd.ExternalParameters.Commit, m.Repository, m.Commit)
	}
	if got, want := bd.InternalParameters.RunIdentity, Identity(m); got != want {
		return Statement{}, fmt.Errorf("%w: recorded %s, materials give %s", ErrIdentityMismatch, got, want)
	}
	return s, nil
}

// Materials reads the materials back out of resolvedDependencies.
func (s Statement) Materials() (Materials, error) {
	var m Materials
	var seenSource, seenImage, seenHardware, seenParams bool
	once := func(seen *bool, what string) error {
		if *seen {
			return fmt.Errorf("%w: more than one %s dependency", ErrMalformed, what)
		}
		*seen = true
		return nil
	}
	for _, d := range s.Predicate.BuildDefinition.ResolvedDependencies {
		switch {
		case strings.HasPrefix(d.URI, gitPrefix):
			if err := once(&seenSource, "source"); err != nil {
				return Materials{}, err
			}
			i := strings.LastIndex(d.URI, "@")
			if i < len(gitPrefix) {
				return Materials{}, fmt.Errorf("%w: source uri %q: want git+REPO@COMMIT", ErrMalformed, d.URI)
			}
			m.Repository, m.Commit = d.URI[len(gitPrefix):i], d.URI[i+1:]
			if len(d.Digest) != 1 || d.Digest[gitCommitAlg] != m.Commit {
				return Materials{}, fmt.Errorf("%w: source digest %v does not name commit %q", ErrIdentityMismatch, d.Digest, m.Commit)
			}
		case strings.HasPrefix(d.URI, dataPrefix):
			name := strings.TrimPrefix(d.URI, dataPrefix)
			if _, dup := m.Data[name]; dup {
				return Materials{}, fmt.Errorf("%w: dataset %q listed twice", ErrMalformed, name)
			}
			dg, err := singleDigest(d)
			if err != nil {
				return Materials{}, err
			}
			if m.Data == nil {
				m.Data = map[string]digest.Digest{}
			}
			m.Data[name] = dg
		case d.URI == imageURI:
			if err := once(&seenImage, "image"); err != nil {
				return Materials{}, err
			}
			dg, err := singleDigest(d)
			if err != nil {
				return Materials{}, err
			}
			m.Image = dg
		case d.URI == hardwareURI:
			if err := once(&seenHardware, "hardware"); err != nil {
				return Materials{}, err
			}
			text, ok := d.Annotations[fingerprintKey]
			if !ok {
				return Materials{}, fmt.Errorf("%w: hardware dependency has no %q annotation", ErrMalformed, fingerprintKey)
			}
			dg, err := singleDigest(d)
			if err != nil {
				return Materials{}, err
			}
			if want := textDigest(text); dg != want {
				return Materials{}, fmt.Errorf("%w: hardware digest %s, fingerprint text gives %s", ErrIdentityMismatch, dg, want)
			}
			m.Hardware = text
		case d.URI == paramsURI:
			if err := once(&seenParams, "params"); err != nil {
				return Materials{}, err
			}
			dg, err := singleDigest(d)
			if err != nil {
				return Materials{}, err
			}
			m.Params = dg
		default:
			return Materials{}, fmt.Errorf("%w: unknown dependency uri %q", ErrMalformed, d.URI)
		}
	}
	if !seenSource {
		return Materials{}, fmt.Errorf("%w: no source (git+) dependency", ErrMalformed)
	}
	if !seenHardware {
		m.Hardware = unknownHardwareText
	}
	return m, nil
}

func singleDigest(d ResourceDescriptor) (digest.Digest, error) {
	if len(d.Digest) != 1 {
		return "", fmt.Errorf("%w: dependency %q: want exactly one digest, have %d", ErrMalformed, d.URI, len(d.Digest))
	}
	for alg, hx := range d.Digest {
		return digest.Digest(alg + ":" + hx), nil
	}
	return "", nil // unreachable: the map has one entry
}
