package config

import (
	"fmt"
	"math"
	"path"
	"path/filepath"
	"strings"
)

// Drift holds the rules mlci drift judges columns by. Zero values take the
// documented defaults of internal/drift/compare.
type Drift struct {
	// Alpha is the false discovery rate across all columns (default 0.05).
	Alpha float64 `yaml:"alpha"`
	// MinPSI, MinWasserstein and MinJS are the least effect a significant
	// column needs to count as drifted, so a large sample does not flag a
	// trivial shift.
	MinPSI         float64 `yaml:"min_psi"`
	MinWasserstein float64 `yaml:"min_wasserstein"`
	MinJS          float64 `yaml:"min_js"`
	// MaxDriftedShare is the share of columns (0..1) that may drift before
	// the data counts as drifted; 0 means any column.
	MaxDriftedShare float64 `yaml:"max_drifted_share"`
	// Columns override the rules per column.
	Columns map[string]DriftColumn `yaml:"columns"`
}

// DriftColumn overrides the drift rules of one column.
type DriftColumn struct {
	// MaxPSI flags the column when its PSI passes this, whatever the test.
	MaxPSI *float64 `yaml:"max_psi"`
	// Ignore leaves the column out; WarnOnly reports it without failing.
	Ignore   bool `yaml:"ignore"`
	WarnOnly bool `yaml:"warn_only"`
}

// ModelProfile names a model's reference data: what it was trained on,
// profiled at registration so mlci drift has it when the data is gone.
type ModelProfile struct {
	// Data are the files, CSV, TSV, JSON Lines or Parquet.
	Data []string `yaml:"data"`
	// Format overrides the format the extension says.
	Format string `yaml:"format"`
	// Target and Prediction name those columns, for target and prediction
	// drift.
	Target     string   `yaml:"target"`
	Prediction string   `yaml:"prediction"`
	Exclude    []string `yaml:"exclude"`
}

// Refit says what mlci refit commits for a model after a retrain.
type Refit struct {
	// Paths are the files the retrain changes; default: mlci.lock and
	// mlci.lock.d, the metrics and params files, and the model's artifact
	// when it is a pointer file (.dvc).
	Paths []string `yaml:"paths"`
	// Base is the branch the pull request targets (default: the
	// repository's default branch).
	Base string `yaml:"base"`
}

func (c *Config) checkDrift(at func(p, msg string, args ...any) error) error {
	d := c.Drift
	if d == nil {
		return nil
	}
	for _, f := range []struct {
		key      string
		v        float64
		lo, hi   float64
		openLow  bool
		openHigh bool
	}{
		{"alpha", d.Alpha, 0, 1, true, true},
		{"min_psi", d.MinPSI, 0, math.Inf(1), false, true},
		{"min_wasserstein", d.MinWasserstein, 0, math.Inf(1), false, true},
		{"min_js", d.MinJS, 0, 1, false, false},
		{"max_drifted_share", d.MaxDriftedShare, 0, 1, false, true},
	} {
		if f.v == 0 {
			continue // the default
		}
		if math.IsNaN(f.v) || f.v < f.lo || f.v > f.hi || (f.openHigh && f.v == f.hi) {
			return at("drift."+f.key, "drift: %s %v is out of range; see the defaults in the README", f.key, f.v)
		}
	}
	for name, col := range d.Columns {
		if col.MaxPSI != nil && (math.IsNaN(*col.MaxPSI) || *col.MaxPSI < 0) {
			return at("drift.columns."+name, "drift: column %q: max_psi %v must be 0 or more", name, *col.MaxPSI)
		}
	}
	return nil
}

func checkModelProfile(m *Model, p string, at func(p, msg string, args ...any) error) error {
	pr := m.Profile
	if pr == nil {
		return nil
	}
	if len(pr.Data) == 0 {
		return at(p+".profile", "model %q: profile has no data; list the training data files under data:", m.Name)
	}
	for i, f := range pr.Data {
		if f == "" || path.IsAbs(f) || !filepath.IsLocal(f) {
			return at(fmt.Sprintf("%s.profile.data[%d]", p, i), "model %q: profile data %q must be a file inside the project", m.Name, f)
		}
	}
	switch strings.ToLower(pr.Format) {
	case "", "csv", "tsv", "jsonl", "parquet":
	default:
		return at(p+".profile.format", "model %q: profile format %q is not csv, tsv, jsonl or parquet", m.Name, pr.Format)
	}
	return nil
}

func checkRefit(m *Model, p string, at func(p, msg string, args ...any) error) error {
	if m.Refit == nil {
		return nil
	}
	for i, f := range m.Refit.Paths {
		if f == "" || path.IsAbs(f) || !filepath.IsLocal(f) {
			return at(fmt.Sprintf("%s.refit.paths[%d]", p, i), "model %q: refit path %q must be inside the project", m.Name, f)
		}
	}
	return nil
}
