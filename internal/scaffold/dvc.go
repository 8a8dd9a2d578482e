package scaffold

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DVCPaths are the paths a dvc.yaml or a .dvc file declares, relative to
// the folder that holds it, forward slashes, in file order, without
// duplicates.
type DVCPaths struct {
	Outs    []string // stage outs, and the outs of a .dvc file
	Metrics []string // stage and top-level metrics
	Params  []string // params files: named ones, and params.yaml for bare keys
	Plots   []string // stage and top-level plots that name a file
}

// DVC's default params file, which a bare key in a stage's params reads.
const dvcDefaultParams = "params.yaml"

// ParseDVC reads a dvc.yaml: stages with deps/outs/metrics/params/plots
// (and wdir, which their paths are relative to), and the top-level
// metrics/params/plots lists. Entries are a path, or a one-key map from the
// path to its options; params entries are a key of params.yaml, or a map
// from a params file to its keys. Templated paths (${...}, from vars,
// foreach or matrix) are left out: their value is only known to dvc.
func ParseDVC(data []byte) (DVCPaths, error) {
	var doc struct {
		Stages  map[string]dvcStage `yaml:"stages"`
		Metrics []yaml.Node         `yaml:"metrics"`
		Params  []yaml.Node         `yaml:"params"`
		Plots   []yaml.Node         `yaml:"plots"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return DVCPaths{}, fmt.Errorf("dvc.yaml: %w", err)
	}
	var p DVCPaths
	p.Metrics = appendPaths(p.Metrics, "", doc.Metrics)
	p.Params = appendParams(p.Params, "", doc.Params, false)
	p.Plots = appendPaths(p.Plots, "", doc.Plots)
	// Stages in name order, so the result does not depend on map order.
	names := make([]string, 0, len(doc.Stages))
	for name := range doc.Stages {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := doc.Stages[name]
		wdir := ""
		if s.Wdir != "" && !templated(s.Wdir) {
			wdir = s.Wdir
		}
		p.Outs = appendPaths(p.Outs, wdir, s.Outs)
		p.Metrics = appendPaths(p.Metrics, wdir, s.Metrics)
		p.Params = appendParams(p.Params, wdir, s.Params, true)
		p.Plots = appendPaths(p.Plots, wdir, s.Plots)
	}
	return p, nil
}

// ParseDVCFile reads a .dvc file (what dvc add writes): its outs' paths.
func ParseDVCFile(data []byte) ([]string, error) {
	var doc struct {
		Outs []yaml.Node `yaml:"outs"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf(".dvc file: %w", err)
	}
	var outs []string
	for _, n := range doc.Outs {
		var o struct {
			Path string `yaml:"path"`
		}
		if n.Kind != yaml.MappingNode || n.Decode(&o) != nil {
			continue
		}
		outs = appendClean(outs, "", o.Path)
	}
	return outs, nil
}

type dvcStage struct {
	Wdir    string      `yaml:"wdir"`
	Outs    []yaml.Node `yaml:"outs"`
	Metrics []yaml.Node `yaml:"metrics"`
	Params  []yaml.Node `yaml:"params"`
	Plots   []yaml.Node `yaml:"plots"`
}

// appendPaths adds the paths of list entries: "path" or {path: {options}}.
func appendPaths(dst []string, wdir string, list []yaml.Node) []string {
	for _, n := range list {
		switch n.Kind {
		case yaml.ScalarNode:
			dst = appendClean(dst, wdir, n.Value)
		case yaml.MappingNode:
			if len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode {
				dst = appendClean(dst, wdir, n.Content[0].Value)
			}
		}
	}
	return dst
}

// appendParams adds params files: in a stage a bare key means DVC's
// default file; at the top level every entry is a file.
func appendParams(dst []string, wdir string, list []yaml.Node, stage bool) []string {
	for _, n := range list {
		switch n.Kind {
		case yaml.ScalarNode:
			if stage {
				dst = appendClean(dst, wdir, dvcDefaultParams)
			} else {
				dst = appendClean(dst, wdir, n.Value)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind == yaml.ScalarNode {
					dst = appendClean(dst, wdir, k.Value)
				}
			}
		}
	}
	return dst
}

// appendClean adds wdir/p once, if it is a path inside the folder: DVC
// allows paths above it (../data), which are not this project's to track.
func appendClean(dst []string, wdir, p string) []string {
	if p == "" || templated(p) || strings.ContainsRune(p, 0) {
		return dst
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if path.IsAbs(p) {
		return dst
	}
	p = path.Clean(path.Join(wdir, p))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || slices.Contains(dst, p) {
		return dst
	}
	return append(dst, p)
}

func templated(s string) bool { return strings.Contains(s, "${") }
