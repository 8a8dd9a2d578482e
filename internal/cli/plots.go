package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/pipeline"
	"github.com/mlci/mlci/internal/plots/render"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/regfile"
	"github.com/mlci/mlci/internal/report"
)

// plotsDirOutput is the Action output naming the report directory.
const plotsDirOutput = "plots-dir"

// writePlots writes the report directory (an SVG per plot and index.html)
// when the run has plots, says where, and points the report at it. It
// returns the directory's path, "" when there were no plots.
func (g *globals) writePlots(p *project.Project, res *pipeline.Result, in *report.Input) (string, error) {
	if len(res.Plots) == 0 {
		return "", nil
	}
	rel := p.Config.Report.DirOrDefault()
	dir, err := makeReportDir(p.Root, rel)
	if err != nil {
		return "", usageError(err)
	}
	if _, err := render.WriteDir(dir, res.Plots); err != nil {
		return "", usageError(fmt.Errorf("writing the plots to %s: %w", dir, err))
	}
	in.PlotsDir = rel
	if !g.quiet {
		fmt.Fprintf(g.io.Stderr, "plots: %s (%d, with index.html)\n", dir, len(res.Plots))
	}
	if a := g.ci.Outputs(); a != nil {
		a.SetOutput(plotsDirOutput, dir)
	}
	return dir, nil
}

// makeReportDir makes root/rel one folder at a time and refuses a link
// anywhere below root: mlci.yaml names the folder and the checkout may
// already hold it, both the change's author's to choose, and a committed
// link would have mlci write its files wherever it points on the runner.
// Files inside are replaced by rename, which never follows a link.
func makeReportDir(root, rel string) (string, error) {
	dir := root
	for _, part := range strings.Split(filepath.ToSlash(filepath.Clean(filepath.FromSlash(rel))), "/") {
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", fmt.Errorf("making the plots directory: %w", err)
			}
			fi, err = os.Lstat(dir)
		}
		switch {
		case err != nil:
			return "", fmt.Errorf("making the plots directory: %w", err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return "", fmt.Errorf("report directory %s: %s is a link; the plots are written only to a folder of the project (remove the link or set report.dir)", rel, dir)
		case !fi.IsDir():
			return "", fmt.Errorf("report directory %s: %s is not a folder; remove it or set report.dir", rel, dir)
		}
	}
	return dir, nil
}

// plotsSummary is the step summary's line naming the report directory.
func plotsSummary(in report.Input) string {
	if in.PlotsDir == "" {
		return ""
	}
	return fmt.Sprintf("\nPlots in full (an SVG per plot and `index.html`) are in `%s`: upload it as a job artifact (the `%s` output holds its path).\n", in.PlotsDir, plotsDirOutput)
}

// extraMarkdown reads the user's markdown for the report: report.extra
// from the work tree through the project's bounded reader, then each
// --append file, in order.
func (g *globals) extraMarkdown(p *project.Project, appended []string) ([]string, error) {
	var out []string
	for _, f := range p.Config.Report.Extra {
		data, err := p.ReadInput(f)
		if err != nil {
			return nil, usageError(fmt.Errorf("report.extra: %w", err))
		}
		out = append(out, string(data))
	}
	for _, f := range appended {
		if !filepath.IsAbs(f) {
			f = filepath.Join(g.workDir, f)
		}
		data, err := regfile.Read(f, metrics.MaxFileSize)
		if err != nil {
			return nil, usageError(fmt.Errorf("--append: %w", err))
		}
		out = append(out, string(data))
	}
	return out, nil
}
