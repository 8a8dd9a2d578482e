package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/ciprovider"
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/local"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/report"
)

// forgeName resolves --forge auto from the CI environment.
func (g *globals) forgeName(name string) string {
	if name != "auto" {
		return name
	}
	return g.ci.Name()
}

// forgeProvider is the system --forge names: the one the job runs in for
// auto, else the named one, whatever CI runs the job.
func (g *globals) forgeProvider(name string) (ciprovider.Provider, error) {
	if name == "auto" {
		return g.ci, nil
	}
	if fp, ok := ciprovider.Named(name, g.io.Getenv, ciprovider.Options{Stdout: g.io.Stdout}); ok {
		return fp, nil
	}
	return nil, usageError(fmt.Errorf("--forge %q: choose auto, %s", name, orList(ciprovider.Names())))
}

func (g *globals) selectForge(p *project.Project, name string) (forge.Forge, error) {
	f, _, err := g.openForge(p, name)
	return f, err
}

// openForge returns the forge --forge names and the system it belongs to,
// whose comment limit the report must fit.
func (g *globals) openForge(p *project.Project, name string) (forge.Forge, ciprovider.Provider, error) {
	fp, err := g.forgeProvider(name)
	if err != nil {
		return nil, nil, err
	}
	f, err := fp.Forge(p.Root)
	if err != nil {
		var ce *ciprovider.ConfigError
		if errors.As(err, &ce) {
			err = fmt.Errorf("%w; or pass --forge local to skip posting", err)
		}
		return nil, nil, usageError(err)
	}
	return f, fp, nil
}

// orList joins names as a sentence does: "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// post renders the report, writes the full copy to mlci-report.md (the job
// artifact and the local forge's output), sets the Actions outputs and step
// summary, and posts it to the forge. The file, the summary and the outputs
// come first, so a job whose post fails (exit 3) still has the report and
// its verdict.
func (g *globals) post(ctx context.Context, p *project.Project, in report.Input, pf *postFlags) (*postOutput, error) {
	name := g.forgeName(pf.forge)
	full, _ := report.Render(in, 0)
	reportPath := filepath.Join(p.Root, local.FileName)
	if name != "local" {
		if err := atomicfile.Write(reportPath, []byte(full), 0o644); err != nil {
			return nil, usageError(err)
		}
	}
	a := g.ci.Outputs()
	if a != nil {
		verdict := "pass"
		if !in.Pass() {
			verdict = "fail"
		}
		a.SetOutput("verdict", verdict)
		a.SetOutput("report-path", reportPath)
		a.SetOutput("data-root", dataRoot(in))
		a.AddStepSummary(full + plotsSummary(in))
	}
	f, fp, err := g.openForge(p, pf.forge)
	if err != nil {
		return nil, err
	}
	body, truncated := report.Render(in, fp.CommentLimit())
	res, err := f.Post(ctx, forge.Report{
		ID: pf.id, Body: body, Pass: in.Pass(), Summary: in.Summary(),
		Annotations: annotations(p, in.Gates), Mode: pf.mode,
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, serviceError(fmt.Errorf("posting the report to %s: %w", f.Name(), err))
	}
	out := &postOutput{Forge: f.Name(), CommentURL: res.CommentURL, Unchanged: res.Unchanged, Notes: res.Notes}
	if f.Name() == "local" {
		out.CommentURL = p.Rel(res.CommentURL)
	}
	if truncated {
		out.Notes = append(out.Notes, fmt.Sprintf("the comment was shortened to fit %s's limit; the full report is in %s and the step summary", f.Name(), local.FileName))
	}
	if a != nil {
		a.SetOutput("comment-url", out.CommentURL)
	}
	return out, nil
}

// dataRoot is the digest of the only dataset, or of the first by name when
// there are several (the JSON output lists them all).
func dataRoot(in report.Input) string {
	if len(in.Data) == 0 {
		return ""
	}
	return in.Data[0].Digest
}

func annotations(p *project.Project, r *gate.Report) []forge.Annotation {
	if r == nil {
		return nil
	}
	var out []forge.Annotation
	for _, v := range r.Verdicts {
		if v.Status == gate.Pass {
			continue
		}
		level := "failure"
		if v.Status == gate.Warn {
			level = "warning"
		}
		out = append(out, forge.Annotation{
			Path: p.Rel(p.Config.File), Line: v.Line, Level: level,
			Title: "mlci gate " + v.Rule, Message: fmt.Sprintf("%s: %s", v.Metric, v.Reason),
		})
	}
	return out
}
