package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/plots"
	"github.com/mlci/mlci/internal/project"
)

// PlotDefinitions returns the config's plots: those written in mlci.yaml,
// or those of the file plots: names, read from the work tree.
func PlotDefinitions(p *project.Project) ([]plots.Definition, error) {
	cfg := p.Config
	if cfg.PlotsFile == "" {
		return cfg.Plots, nil
	}
	data, err := p.ReadInput(cfg.PlotsFile)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("plots: %w", err))
	}
	defs, err := plots.ParseDefinitions(data)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("%s: %w", cfg.PlotsFile, err))
	}
	return defs, nil
}

// plotFiles lists the data files defs read, each once, so a --baseline
// file can stand for one as it does for a metrics file.
func plotFiles(defs []plots.Definition) []string {
	var files []string
	for _, d := range defs {
		for _, r := range slices.Concat(d.Y, d.X) {
			if r.File != "" && !slices.Contains(files, r.File) {
				files = append(files, r.File)
			}
		}
	}
	return files
}

// Plots builds the figures of defs: the head from the work tree through
// the project's bounded reader, the base from bl as the metric diff reads
// it (a git commit without a checkout, --baseline files, a stage's
// commit). bl nil, or a file bl has nothing for, leaves the head alone.
func Plots(ctx context.Context, p *project.Project, bl *baseline.Baseline, defs []plots.Definition) ([]plots.Figure, error) {
	if len(defs) == 0 {
		return nil, nil
	}
	var base plots.ReadFunc
	if bl != nil {
		base = func(file string) ([]byte, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			// A registry record or --baseline files that do not name
			// this one: there is nothing to compare with, which is not
			// an error.
			if len(bl.Covers([]string{file})) == 0 {
				return nil, fmt.Errorf("%s: not in the baseline: %w", file, fs.ErrNotExist)
			}
			return bl.Read(ctx, file)
		}
	}
	figs, err := plots.Build(defs, p.ReadInput, base, plots.Options{})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("plots: %w", err))
	}
	return figs, nil
}
