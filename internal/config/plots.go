package config

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlci/mlci/internal/plots"
)

// checkPlots reads plots: in either of its forms: DVC's top-level plots
// list, so a dvc.yaml's plots can be pasted as they are, or the path of a
// file holding them (a dvc.yaml), so they need not be copied at all.
func (c *Config) checkPlots() error {
	n := &c.PlotsNode
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case n.Kind == 0 || n.ShortTag() == "!!null":
		return nil
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
		if strings.TrimSpace(n.Value) == "" {
			return &Error{File: c.File, Line: n.Line, Col: n.Column, Msg: "plots is empty; list plots in DVC's syntax or name a dvc.yaml"}
		}
		c.PlotsFile = path.Clean(n.Value)
		return nil
	case n.Kind != yaml.SequenceNode:
		return &Error{File: c.File, Line: n.Line, Col: n.Column, Msg: "plots must be a list of plots in DVC's syntax or the path of a dvc.yaml"}
	}
	defs, err := plots.DecodeDefinitions(n)
	if err != nil {
		line, msg := plotsLine(err.Error())
		if line == 0 {
			line = n.Line
		}
		return &Error{File: c.File, Line: line, Msg: msg}
	}
	c.Plots = defs
	return nil
}

// plotsLine takes the line out of plots' "plots "ID" (line N): msg", so
// the error has the FILE:LINE: shape of every other config error.
func plotsLine(msg string) (int, string) {
	i := strings.Index(msg, " (line ")
	if i < 0 {
		return 0, msg
	}
	num, rest, ok := strings.Cut(msg[i+len(" (line "):], "): ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 {
		return 0, msg
	}
	return n, msg[:i] + ": " + rest
}

func (c *Config) checkReport(at func(p, msg string, args ...any) error) error {
	for i, f := range c.Report.Extra {
		if strings.TrimSpace(f) == "" {
			p := fmt.Sprintf("report.extra[%d]", i)
			return at(p, "%s is empty; give the path of a markdown file or remove the entry", p)
		}
		c.Report.Extra[i] = path.Clean(f)
	}
	if c.Report.Dir == "" {
		return nil
	}
	d := path.Clean(c.Report.Dir)
	if d == "." || d == ".." || strings.HasPrefix(d, "../") || path.IsAbs(d) || d == ".git" || strings.HasPrefix(d, ".git/") {
		return at("report.dir", "report.dir %q must be a folder inside the project (it is written over), such as %q", c.Report.Dir, DefaultReportDir)
	}
	c.Report.Dir = d
	return nil
}

// DirOrDefault is Dir, or DefaultReportDir when unset.
func (r Report) DirOrDefault() string {
	if r.Dir == "" {
		return DefaultReportDir
	}
	return r.Dir
}
