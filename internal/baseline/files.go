package baseline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

// fileBaseline is --baseline FILE...: each file stands for the metrics or
// params file of the same name. A file that is not there, or that stands
// for none, is an error: read as "no baseline", it would let every
// relative gate through.
func fileBaseline(p *project.Project, workDir string, files, heads []string) (*Baseline, error) {
	var configured []string
	if p.Config != nil {
		configured = append(append(configured, p.Config.Metrics...), p.Config.Params...)
	}
	bl := &Baseline{Kind: Files, files: map[string]string{}}
	given := map[string]string{}
	for _, f := range files {
		abs := f
		if !filepath.IsAbs(f) {
			abs = filepath.Join(workDir, f)
		}
		switch fi, err := os.Stat(abs); {
		case errors.Is(err, os.ErrNotExist):
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("--baseline %s: no such file (looked for %s); give the path of the baseline's copy of a metrics file, e.g. a downloaded artifact", f, abs))
		case err != nil:
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("--baseline %s: %w", f, err))
		case fi.IsDir():
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("--baseline %s is a directory; give the metrics file in it", f))
		}
		head, err := matchBaseline(f, heads, configured)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		if prev, ok := given[head]; ok {
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("--baseline %s and --baseline %s both stand for %s; give one", prev, f, head))
		}
		given[head] = f
		if slices.Contains(heads, head) {
			bl.files[head] = abs
		}
		if bl.Name != "" {
			bl.Name += ", "
		}
		bl.Name += f
	}
	return bl, nil
}

// matchBaseline decides which configured file a --baseline file stands
// for: the one with the same base name. heads are the files this command
// reads, configured all the metrics and params files.
func matchBaseline(file string, heads, configured []string) (string, error) {
	var found []string
	for _, h := range heads {
		if path.Base(h) == filepath.Base(file) {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		for _, c := range configured {
			if path.Base(c) == filepath.Base(file) {
				found = append(found, c)
			}
		}
		if len(found) == 1 {
			// A params file, say, given to a command that reads only metrics.
			return found[0], nil
		}
	}
	if len(found) == 0 {
		names := heads
		if len(configured) > 0 {
			names = configured
		}
		return "", fmt.Errorf("--baseline %s stands for the metrics or params file of the same name, and mlci.yaml lists none named %s (%s); name the file after the one it stands for", file, filepath.Base(file), strings.Join(names, ", "))
	}
	return "", fmt.Errorf("--baseline %s: cannot tell which of %v it stands for, as they share its name; give the baseline of each with --base REF instead", file, found)
}

// stageBaseline is --baseline MODEL#STAGE: the metrics recorded when the
// version now in that stage was registered. The record is one flat map, so
// each key goes to the head metrics file that has it (else the first).
func stageBaseline(ctx context.Context, p *project.Project, ref string, opts *Options) (*Baseline, error) {
	name, stage, _ := strings.Cut(ref, "#")
	state, err := opts.registryState(ctx)
	if err != nil {
		return nil, err
	}
	m := state[name]
	if m == nil || m.Stages[stage] == nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("--baseline %s: no version of %s is in %s; see mlci model show %s", ref, name, stage, name))
	}
	a := m.Stages[stage]
	var rec *registry.Record
	for _, v := range m.Versions {
		if v.Version == a.Version {
			rec = v.Record
		}
	}
	if rec == nil || len(rec.Metrics) == 0 {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("--baseline %s: %s %s was registered without metrics", ref, name, a.Version))
	}
	var files []string
	if p.Config != nil {
		files = p.Config.Metrics
	}
	if len(files) == 0 {
		return nil, exitcode.With(exitcode.Usage, errors.New("--baseline MODEL#STAGE needs metrics files under metrics: in mlci.yaml"))
	}
	head, err := p.ReadMetrics(files)
	if err != nil {
		return nil, err
	}
	bl := &Baseline{Name: fmt.Sprintf("%s (%s in %s)", ref, a.Version, stage), Kind: Stage, recorded: map[string]*metrics.File{}}
	for _, f := range files {
		bl.recorded[f] = &metrics.File{Path: f, Values: map[string]metrics.Value{}}
	}
	for k, v := range rec.Metrics {
		home := files[0]
		for _, h := range head {
			if _, ok := h.Values[k]; ok {
				home = h.Path
				break
			}
		}
		bl.recorded[home].Values[k] = metrics.Value{Kind: metrics.Number, Num: v}
	}
	return bl, nil
}
