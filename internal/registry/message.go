package registry

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Record is what mlci stores in a tag's message after GTO's first line, so
// a registry entry says which artifact, data and gate result it stands for.
type Record struct {
	Artifact  string             `json:"artifact_digest,omitempty"`
	Path      string             `json:"path,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	DataRoots map[string]string  `json:"data_roots,omitempty"`
	// Gate is "pass", "fail" or "" when no gate ran.
	Gate    string    `json:"gate,omitempty"`
	RunID   string    `json:"run_id,omitempty"`
	Actor   string    `json:"actor,omitempty"`
	CI      string    `json:"ci,omitempty"`
	Time    time.Time `json:"time,omitzero"`
	Version string    `json:"version,omitempty"`
	// Manifest is the OCI manifest digest of the artifact in the
	// project's artifact store, when one is configured.
	Manifest string `json:"oci_manifest,omitempty"`
	// Profile is where the profile of the version's reference data is,
	// for mlci drift: a git blob ("git:" and the object id), or, when the
	// project has an artifact store, an artifact there ("artifact:" and
	// its manifest digest).
	Profile string `json:"profile,omitempty"`
}

// FormatMessage writes GTO's first line, a blank line and r as JSON.
// Metrics that are NaN or infinite are left out because JSON cannot hold
// them.
func FormatMessage(t Tag, r Record) string {
	if len(r.Metrics) > 0 {
		m := make(map[string]float64, len(r.Metrics))
		for k, v := range r.Metrics {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				m[k] = v
			}
		}
		r.Metrics = m
	}
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		// Unreachable once non-finite floats are gone; keep GTO's line.
		return headline(t, r.Version)
	}
	return headline(t, r.Version) + "\n\n" + string(body) + "\n"
}

// headline is the message GTO itself writes, so `gto history` reads well.
func headline(t Tag, version string) string {
	if version == "" {
		version = t.Version
	}
	switch t.Kind {
	case KindRegistration:
		return fmt.Sprintf("Registering artifact %s version %s", t.Artifact, version)
	case KindDeregistration:
		return fmt.Sprintf("Deregistering artifact %s version %s", t.Artifact, version)
	case KindAssignment:
		return fmt.Sprintf("Assigning stage %s to artifact %s version %s", t.Stage, t.Artifact, version)
	case KindUnassignment:
		return fmt.Sprintf("Unassigning stage %s from artifact %s version %s", t.Stage, t.Artifact, version)
	case KindDeprecation:
		return fmt.Sprintf("Deprecating artifact %s", t.Artifact)
	}
	return t.String()
}

// ParseMessage reads the JSON block after the first blank line; ok is
// false for tags made by GTO or by hand, which have none.
func ParseMessage(msg string) (Record, bool) {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	_, body, found := strings.Cut(msg, "\n\n")
	body = strings.TrimSpace(body)
	if !found || !strings.HasPrefix(body, "{") {
		return Record{}, false
	}
	// A signed tag appends its signature after the JSON; decode only the
	// first value.
	var r Record
	if err := json.NewDecoder(strings.NewReader(body)).Decode(&r); err != nil {
		return Record{}, false
	}
	return r, true
}
