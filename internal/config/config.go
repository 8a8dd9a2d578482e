// Package config reads and validates mlci.yaml, which tells mlci what a
// repository tracks (datasets, metrics, params), reporting errors by line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlci/mlci/internal/plots"
	"github.com/mlci/mlci/internal/regfile"
)

// Names of the config file, in the order Find looks for them.
const (
	FileName    = "mlci.yaml"
	AltFileName = ".mlci.yaml"
)

// Hash algorithms a config may ask for; the first is the default.
const (
	HashBLAKE3 = "blake3"
	HashSHA256 = "sha256"
)

// ErrNotFound is wrapped by Find when a directory has no config file, so
// callers can tell "not set up yet" apart from a broken config.
var ErrNotFound = errors.New("no " + FileName + " or " + AltFileName)

// Config is the decoded mlci.yaml. Fields are in the order users usually
// write them; every field with a yaml tag is checked for unknown keys.
type Config struct {
	File    string    `yaml:"-"`       // path it was read from; "" if parsed without one
	Version int       `yaml:"version"` // 0 (unset) or 1, so a newer format fails loudly
	Hash    string    `yaml:"hash"`    // HashBLAKE3 or HashSHA256 after Parse
	Data    []Dataset `yaml:"data"`
	// ManifestMaxFiles is how many files a dataset may have and still keep
	// its file list as a TSV manifest in git; larger ones keep it as tree
	// objects. 0 means DefaultManifestMaxFiles (see ManifestMaxFilesOrDefault).
	ManifestMaxFiles int      `yaml:"manifest_max_files"`
	Metrics          []string `yaml:"metrics"` // paths of metrics files
	Params           []string `yaml:"params"`  // paths of params files
	Gates            []Gate   `yaml:"gates"`   // evaluation gates, in the order they are reported
	Models           []Model  `yaml:"models"`  // registered models and their promotion stages
	// ArtifactStore is where model artifacts go by digest:
	// "oci-layout:PATH" or "oci://REGISTRY/REPO"; "" keeps none.
	ArtifactStore string `yaml:"artifact_store"`
	// Remotes are where mlci data push and pull move dataset objects;
	// see DefaultRemote for the one used without --remote.
	Remotes []Remote `yaml:"remotes"`
	// PlotsNode is plots: as written; check decodes it into Plots or
	// PlotsFile. It stays a node because DVC's syntax (a list of paths or
	// one-key maps) is checked by plots.DecodeDefinitions, not the walker.
	PlotsNode yaml.Node `yaml:"plots"`
	Report    Report    `yaml:"report"`
	// Drift is how mlci drift judges columns; nil takes the defaults.
	Drift *Drift `yaml:"drift"`

	// Plots are the plots written in mlci.yaml, in DVC's top-level syntax.
	Plots []plots.Definition `yaml:"-"`
	// PlotsFile is a dvc.yaml (or any file in DVC's plots syntax) whose
	// plots are used, when plots: names one instead of listing them.
	PlotsFile string `yaml:"-"`
}

// DefaultManifestMaxFiles is the manifest_max_files used when it is unset:
// a manifest of this many lines still diffs and reviews well in git.
const DefaultManifestMaxFiles = 10000

// ManifestMaxFilesOrDefault is ManifestMaxFiles, or DefaultManifestMaxFiles
// when unset.
func (c *Config) ManifestMaxFilesOrDefault() int {
	if c.ManifestMaxFiles == 0 {
		return DefaultManifestMaxFiles
	}
	return c.ManifestMaxFiles
}

// DefaultReportDir is where the plots' SVG files and HTML page go unless
// report.dir says otherwise.
const DefaultReportDir = "mlci-plots"

// Report is what the report shows beyond mlci's own sections.
type Report struct {
	// Extra are markdown files of the user's, shown after mlci's sections
	// in this order.
	Extra []string `yaml:"extra"`
	// Dir is the report directory, relative to the project root; ""
	// means DefaultReportDir (see DirOrDefault).
	Dir string `yaml:"dir"`
}

// HasPlots reports whether the config defines plots, in mlci.yaml or in
// a file it names.
func (c *Config) HasPlots() bool { return len(c.Plots) > 0 || c.PlotsFile != "" }

// Dataset is one entry under data:. Path is relative to the config's
// directory unless absolute; Line is kept so later stages can point at it.
type Dataset struct {
	Name           string   `yaml:"name"`    // the cleaned Path unless given
	Path           string   `yaml:"path"`    // file or directory, cleaned, forward slashes
	Exclude        []string `yaml:"exclude"` // gitignore syntax
	FollowSymlinks bool     `yaml:"follow_symlinks"`
	Line           int      `yaml:"-"`
}

// UnmarshalYAML lets a data item be written as just its path, which is what
// most users need.
func (d *Dataset) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*d = Dataset{Path: n.Value}
		return nil
	}
	type plain Dataset // without the method, so Decode does not recurse here
	return n.Decode((*plain)(d))
}

// Dataset returns the dataset called name.
func (c *Config) Dataset(name string) (Dataset, bool) {
	for _, d := range c.Data {
		if d.Name == name {
			return d, true
		}
	}
	return Dataset{}, false
}

// Error is a config problem at a place in the file, formatted the way
// editors and CI log parsers recognise: FILE:LINE:COL: MSG.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

// Error formats e, leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line) + ":")
		if e.Col > 0 {
			b.WriteString(strconv.Itoa(e.Col) + ":")
		}
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Find returns the path of the config file in dir. Having both names is an
// error rather than a silent pick, because edits to the ignored one would
// have no effect.
func Find(dir string) (string, error) {
	var found []string
	for _, name := range []string{FileName, AltFileName} {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return "", fmt.Errorf("cannot check for config file: %w", err)
		case fi.IsDir():
			return "", fmt.Errorf("%s is a directory; the config must be a file", p)
		}
		found = append(found, p)
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w in %s; create %s there (see README for an example)", ErrNotFound, filepath.Clean(dir), FileName)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("found both %s and %s; keep one and delete the other", found[0], found[1])
}

// MaxConfigSize bounds what is read as mlci.yaml.
const MaxConfigSize = 16 << 20

// Load reads and parses the config file at path.
func Load(path string) (*Config, error) {
	// A branch may replace mlci.yaml with a FIFO or a link to a device.
	data, err := regfile.Read(path, MaxConfigSize)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path goes first instead, like every other config error
		}
		return nil, fmt.Errorf("%s: cannot read config: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a config; file is only used in messages and
// Config.File. Errors about the content are *Error.
func Parse(file string, data []byte) (*Config, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // editors on Windows add one
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, emptyErr(file)
		}
		return nil, yamlErr(file, data, err, true)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{File: file, Line: extra.Line, Msg: `more than one YAML document; remove the "---" separator and keep one`}
	case err != io.EOF:
		return nil, yamlErr(file, data, err, true)
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
		return nil, emptyErr(file)
	}

	w := newWalker(file, reflect.TypeFor[Config](), &doc)
	if err := w.value(doc.Content[0], w.root, ""); err != nil {
		return nil, err
	}
	cfg := &Config{}
	if err := doc.Decode(cfg); err != nil {
		// The walker should have caught this with a better message.
		return nil, yamlErr(file, data, err, false)
	}
	cfg.File = file
	if err := cfg.check(w.pos); err != nil {
		return nil, err
	}
	return cfg, nil
}

func emptyErr(file string) error {
	return &Error{File: file, Msg: `empty config; list your datasets under "data:" (see README for an example)`}
}

// check validates what the types cannot express and fills defaults. pos maps
// value paths such as "data[2]" to their nodes, for line numbers.
func (c *Config) check(pos map[string]*yaml.Node) error {
	at := func(p, msg string, args ...any) error {
		e := &Error{File: c.File, Msg: fmt.Sprintf(msg, args...)}
		if n := pos[p]; n != nil {
			e.Line, e.Col = n.Line, n.Column
		}
		return e
	}
	if c.Version != 0 && c.Version != 1 {
		return at("version", "unsupported config version %d; this mlci reads version 1", c.Version)
	}
	switch c.Hash {
	case "":
		c.Hash = HashBLAKE3
	case HashBLAKE3, HashSHA256:
	default:
		return at("hash", "hash %q is not supported; use %q (the default) or %q", c.Hash, HashBLAKE3, HashSHA256)
	}
	if c.ManifestMaxFiles < 0 {
		return at("manifest_max_files", "manifest_max_files must be 0 (the default, %d) or more, got %d", DefaultManifestMaxFiles, c.ManifestMaxFiles)
	}
	names := map[string]int{}
	paths := map[string]int{}
	for i := range c.Data {
		d := &c.Data[i]
		p := fmt.Sprintf("data[%d]", i)
		if n := pos[p]; n != nil {
			d.Line = n.Line
		}
		if strings.TrimSpace(d.Path) == "" {
			return at(p, `%s has no path; set "path:" to a file or directory`, p)
		}
		d.Path = path.Clean(d.Path)
		if d.Name == "" {
			d.Name = d.Path
		}
		if j, ok := names[d.Name]; ok {
			return at(p, "dataset name %q is used twice (lines %d and %d); give each dataset a unique name", d.Name, c.Data[j].Line, d.Line)
		}
		if j, ok := paths[d.Path]; ok {
			return at(p, "dataset path %q is listed twice (lines %d and %d); list each path once", d.Path, c.Data[j].Line, d.Line)
		}
		names[d.Name], paths[d.Path] = i, i
	}
	for _, list := range []struct {
		key   string
		files []string
	}{{"metrics", c.Metrics}, {"params", c.Params}} {
		for i, f := range list.files {
			if strings.TrimSpace(f) == "" {
				p := fmt.Sprintf("%s[%d]", list.key, i)
				return at(p, "%s is empty; give the path of a %s file or remove the entry", p, list.key)
			}
		}
	}
	if err := c.checkGates(pos, at); err != nil {
		return err
	}
	if err := c.checkRemotes(pos, at); err != nil {
		return err
	}
	if err := c.checkModels(pos, at); err != nil {
		return err
	}
	if err := c.checkDrift(at); err != nil {
		return err
	}
	if err := c.checkPlots(); err != nil {
		return err
	}
	return c.checkReport(at)
}

// yamlErr turns yaml.v3's "yaml: line N: msg" errors into *Error so every
// config problem has the same FILE:LINE: shape. parsing says whether err
// came from reading the text, whose line can be recomputed from data.
func yamlErr(file string, data []byte, err error, parsing bool) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0] // one line; the first is the one to fix first
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line, msg := cutLine(msg)
	// yaml.v3 gives scanner errors a 1-based line, parser errors a 0-based
	// one (the start of the enclosing block), and no line at all for bad
	// characters, unknown anchors or anything on line 1.
	if parsing && (line == 0 || parserError(msg)) {
		if l := failingLine(data, msg); l > 0 {
			line = l
		} else if parserError(msg) {
			line++
		}
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + oneLine(msg) + "; check the indentation and quoting"}
}

func cutLine(msg string) (int, string) {
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n >= 0 {
				return n, after
			}
		}
	}
	return 0, msg
}

func parserError(msg string) bool {
	switch msg {
	case "did not find expected <document start>", "did not find expected node content",
		"did not find expected '-' indicator", "did not find expected key",
		"did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"did not find expected <stream-start>", "found duplicate %YAML directive",
		"found duplicate %TAG directive", "found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	return false
}

// failingLine returns the last line of the shortest prefix of data, in whole
// lines, that fails to parse with msg: the line where the parser gave up.
// Longer prefixes fail too, so a binary search finds it in log(lines) parses;
// past maxSearch bytes that costs seconds, more than a line number is worth.
func failingLine(data []byte, msg string) int {
	const maxSearch = 256 << 10
	if len(data) > maxSearch {
		return 0
	}
	var ends []int
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	fails := func(k int) bool { // k lines
		dec := yaml.NewDecoder(bytes.NewReader(data[:ends[k-1]]))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if err == io.EOF {
				return false
			}
			if err != nil {
				_, m := cutLine(strings.TrimPrefix(err.Error(), "yaml: "))
				return m == msg
			}
		}
	}
	if !fails(len(ends)) {
		return 0
	}
	lo, hi := 1, len(ends)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
