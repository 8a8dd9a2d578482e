// Package hostconfig reads the runner host's own settings (mlci-runner's
// config.yaml): where leases live, how long jobs wait for GPUs, which jobs
// from forks may run, and which datasets jobs may mount.
package hostconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultPath is where mlci-runner looks when neither --config nor
// MLCI_RUNNER_CONFIG names a file.
const DefaultPath = "/etc/mlci-runner/config.yaml"

// Config is the decoded file. The zero value is not usable; Default and
// Parse return filled ones.
type Config struct {
	// StateDir holds leases, quarantine and per-job files. It must not be
	// writable by jobs: job containers see only a read-only job folder.
	StateDir string `yaml:"state_dir"`
	// GPUWait bounds how long a job waits for free GPUs before failing.
	GPUWait Duration `yaml:"gpu_wait"`
	// StopGrace is how long a job container gets between SIGTERM and SIGKILL.
	StopGrace Duration `yaml:"stop_grace"`
	// ServiceWait bounds how long a job's service containers may take to
	// report healthy (their health check) before the job fails.
	ServiceWait Duration `yaml:"service_wait"`
	// TelemetryInterval is the GPU sampling period during a job.
	TelemetryInterval Duration `yaml:"telemetry_interval"`
	// CleanMemoryMiB is how much GPU memory may stay in use on a GPU after
	// its job's processes are gone before it counts as not cleaned (driver
	// and context reservations differ by model).
	CleanMemoryMiB uint64 `yaml:"clean_memory_mib"`
	// DefaultImage runs GitLab jobs that name no image.
	DefaultImage string `yaml:"default_image"`
	// AllowForkJobs lets pull/merge requests from forks of public
	// repositories run here. Off by default: such a job is code from anyone.
	AllowForkJobs bool `yaml:"allow_fork_jobs"`
	// AllowForkRepos lists repositories ("owner/name" or GitLab paths) whose
	// fork jobs may run even when AllowForkJobs is off.
	AllowForkRepos []string `yaml:"allow_fork_repos"`
	// Datasets maps a name jobs ask for (MLCI_DATASETS) to a host folder,
	// mounted read-only from a cache volume keyed by its content digest.
	Datasets map[string]string `yaml:"datasets"`
	// DatasetRemote is the data remote (what mlci data push fills) that
	// datasets jobs ask for by digest (MLCI_DATASETS=name@blake3:...) are
	// pulled from when this host lacks them. Its credentials come from
	// mlci-runner's own environment (AWS_* for s3://), never from a job.
	DatasetRemote *DatasetRemote `yaml:"dataset_remote"`
	// DatasetMaxBytes and DatasetMaxFiles bound one dataset pulled from
	// DatasetRemote: the digest is the job's to choose, so without a bound
	// a job could fill the host's disk with any dataset the remote holds.
	DatasetMaxBytes ByteSize `yaml:"dataset_max_bytes"`
	DatasetMaxFiles int64    `yaml:"dataset_max_files"`
	// DatasetCacheMaxBytes bounds all the copies pulled from DatasetRemote
	// together (state_dir/datasets/): least recently used copies no job is
	// reading are removed to stay under it. Unset, it is
	// DatasetCacheFactor times DatasetMaxBytes.
	DatasetCacheMaxBytes ByteSize `yaml:"dataset_cache_max_bytes"`
	// AllowMounts lists host folders a job may bind-mount besides its own
	// workspace and temp folders: "PATH", or "PATH:ro" to allow read-only
	// mounts only. Empty by default: a job's container.volumes and -v
	// options reach nothing else on the host.
	AllowMounts []string `yaml:"allow_mounts"`
}

// AllowedMount is one parsed allow_mounts entry.
type AllowedMount struct {
	Path     string
	ReadOnly bool
}

// Mounts parses AllowMounts; Parse has already refused bad entries, so
// one that is still bad here (a Config built in code) is left out.
func (c Config) Mounts() []AllowedMount {
	out := make([]AllowedMount, 0, len(c.AllowMounts))
	for _, e := range c.AllowMounts {
		if m, err := c.parseAllowMount(e); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// parseAllowMount reads "PATH[:ro]" and refuses folders that hold what a
// job must never reach, so a broad entry (/var, /var/lib) cannot hand out
// the Docker socket, the engine's data or mlci-runner's own leases.
func (c Config) parseAllowMount(e string) (AllowedMount, error) {
	p, mode, hasMode := strings.Cut(e, ":")
	m := AllowedMount{Path: filepath.Clean(p)}
	switch {
	case hasMode && mode == "ro":
		m.ReadOnly = true
	case hasMode && mode != "rw":
		return m, fmt.Errorf("allow_mounts: %q: write PATH or PATH:ro", e)
	}
	if !filepath.IsAbs(p) {
		return m, fmt.Errorf("allow_mounts: %q must be an absolute host path", p)
	}
	for _, never := range []string{c.StateDir, "/run", "/var/run", "/var/lib/docker", "/dev", "/proc", "/sys", "/etc"} {
		if never == "" {
			continue
		}
		// The folder as written and where its links lead: /data linked to
		// the state dir is the state dir. Mounts parses again at each job,
		// so a link made after start-up is seen too.
		for _, p := range resolvedForms(m.Path) {
			for _, n := range resolvedForms(never) {
				if within(n, p) || within(p, n) {
					return m, fmt.Errorf("allow_mounts: %s overlaps %s, which jobs must never reach (the Docker socket and data, host devices and settings, mlci-runner's state): allow a narrower folder", m.Path, never)
				}
			}
		}
	}
	return m, nil
}

// resolvedForms is p and, when it exists and differs, p with its links
// followed.
func resolvedForms(p string) []string {
	if real, err := filepath.EvalSymlinks(p); err == nil && real != p {
		return []string{p, real}
	}
	return []string{p}
}

// within reports whether p is dir or lies inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Duration is a time.Duration written as "90s" or "10m" in YAML.
type Duration time.Duration

// UnmarshalYAML accepts Go duration strings.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (write e.g. 90s, 10m, 1h)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// DatasetCacheFactor sizes the dataset cache when the config does not: room
// for three of the largest datasets a pull may bring, kept while a fourth
// is pulled, so a host serving a few pinned versions in turn does not pull
// one again at every job, and the disk it may take follows
// dataset_max_bytes, which an operator already sized to the host.
const DatasetCacheFactor = 4

// unsetSize marks a ByteSize the file did not set: ParseByteSize never
// returns a negative size.
const unsetSize ByteSize = -1

// Default returns the settings used where the file says nothing.
func Default() Config {
	return Config{
		StateDir:          "/var/lib/mlci-runner",
		GPUWait:           Duration(30 * time.Minute),
		StopGrace:         Duration(10 * time.Second),
		ServiceWait:       Duration(5 * time.Minute),
		TelemetryInterval: Duration(time.Second),
		CleanMemoryMiB:    1024,
		DatasetMaxBytes:   100 << 30,
		DatasetMaxFiles:   10_000_000,
		// Derived from dataset_max_bytes once the file is read.
		DatasetCacheMaxBytes: DatasetCacheFactor * (100 << 30),
	}
}

// Load reads path. A missing file at DefaultPath is not an error (a host may
// run on defaults); a missing file the user named is.
func Load(path string, named bool) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !named {
		return Default(), nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("runner config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data over the defaults, refusing unknown keys so a typo
// does not silently leave a safety setting at its default.
func Parse(name string, data []byte) (Config, error) {
	c := Default()
	c.DatasetCacheMaxBytes = unsetSize
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

func (c *Config) validate() error {
	if c.StateDir == "" || !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("state_dir must be an absolute path, got %q", c.StateDir)
	}
	c.StateDir = filepath.Clean(c.StateDir)
	if c.TelemetryInterval <= 0 {
		return errors.New("telemetry_interval must be positive")
	}
	for _, e := range c.AllowMounts {
		if _, err := c.parseAllowMount(e); err != nil {
			return err
		}
	}
	if err := c.DatasetRemote.validate(); err != nil {
		return err
	}
	if c.DatasetMaxBytes <= 0 || c.DatasetMaxFiles <= 0 {
		return errors.New("dataset_max_bytes and dataset_max_files must be positive")
	}
	switch {
	case c.DatasetCacheMaxBytes == unsetSize:
		c.DatasetCacheMaxBytes = c.DatasetMaxBytes * DatasetCacheFactor
		if c.DatasetCacheMaxBytes/DatasetCacheFactor != c.DatasetMaxBytes {
			c.DatasetCacheMaxBytes = math.MaxInt64
		}
	case c.DatasetCacheMaxBytes < c.DatasetMaxBytes:
		// A pull makes room for the largest dataset it may bring first.
		return fmt.Errorf("dataset_cache_max_bytes (%s) is smaller than dataset_max_bytes (%s), so the dataset cache could not hold one pulled dataset: raise dataset_cache_max_bytes or lower dataset_max_bytes", c.DatasetCacheMaxBytes, c.DatasetMaxBytes)
	}
	names := make([]string, 0, len(c.Datasets))
	for n := range c.Datasets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !ValidName(n) {
			return fmt.Errorf("datasets: %q is not a valid name (letters, digits, '-', '_', '.')", n)
		}
		if p := c.Datasets[n]; !filepath.IsAbs(p) {
			return fmt.Errorf("datasets.%s: %q must be an absolute host path", n, p)
		}
	}
	return nil
}

// ValidName reports whether s may name a dataset: it becomes a folder
// under /datasets and part of an environment variable's name.
func ValidName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}

// ForkAllowed says whether a job from a fork of repo may run.
func (c Config) ForkAllowed(repo string) bool {
	if c.AllowForkJobs {
		return true
	}
	for _, r := range c.AllowForkRepos {
		if strings.EqualFold(r, repo) {
			return true
		}
	}
	return false
}
