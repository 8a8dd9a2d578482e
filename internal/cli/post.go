package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sethvargo/go-githubactions"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/github"
	"github.com/mlci/mlci/internal/forge/gitlab"
	"github.com/mlci/mlci/internal/forge/local"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/report"
)

// forgeName resolves --forge auto from the CI environment.
func (g *globals) forgeName(name string) string {
	if name != "auto" {
		return name
	}
	switch {
	case g.io.Getenv("GITHUB_ACTIONS") == "true":
		return "github"
	case g.io.Getenv("GITLAB_CI") == "true":
		return "gitlab"
	}
	return "local"
}

func (g *globals) selectForge(p *project, name string) (forge.Forge, error) {
	switch g.forgeName(name) {
	case "github":
		cfg, err := github.FromEnv(g.io.Getenv)
		if err != nil {
			return nil, usageError(fmt.Errorf("%w; or pass --forge local to skip posting", err))
		}
		g.mask(cfg.Token)
		f, err := github.New(cfg)
		if err != nil {
			return nil, usageError(err)
		}
		return f, nil
	case "gitlab":
		cfg, err := gitlab.FromEnv(g.io.Getenv)
		if err != nil {
			return nil, usageError(fmt.Errorf("%w; or pass --forge local to skip posting", err))
		}
		f, err := gitlab.New(cfg)
		if err != nil {
			return nil, usageError(err)
		}
		return f, nil
	case "local":
		return &local.Forge{Dir: p.Root}, nil
	}
	return nil, usageError(fmt.Errorf("--forge %q: choose auto, github, gitlab or local", name))
}

// actions returns the GitHub Actions helper when running in Actions with
// its command files, nil otherwise (it panics without the files).
func (g *globals) actions() *githubactions.Action {
	if g.io.Getenv("GITHUB_ACTIONS") != "true" || g.io.Getenv("GITHUB_OUTPUT") == "" {
		return nil
	}
	return githubactions.New(githubactions.WithGetenv(g.io.Getenv), githubactions.WithWriter(g.io.Stdout))
}

// mask keeps a token out of the Actions log even if something prints it.
func (g *globals) mask(token string) {
	if token != "" && g.io.Getenv("GITHUB_ACTIONS") == "true" {
		fmt.Fprintf(g.io.Stdout, "::add-mask::%s\n", token)
	}
}

// post renders the report, writes the full copy to mlci-report.md (the job
// artifact and the local forge's output), sets the Actions outputs and step
// summary, and posts it to the forge. The file, the summary and the outputs
// come first, so a job whose post fails (exit 3) still has the report and
// its verdict.
func (g *globals) post(ctx context.Context, p *project, in report.Input, pf *postFlags) (*postOutput, error) {
	name := g.forgeName(pf.forge)
	full, _ := report.Render(in, 0)
	reportPath := filepath.Join(p.Root, local.FileName)
	if name != "local" {
		if err := atomicfile.Write(reportPath, []byte(full), 0o644); err != nil {
			return nil, usageError(err)
		}
	}
	a := g.actions()
	if a != nil {
		verdict := "pass"
		if !in.Pass() {
			verdict = "fail"
		}
		a.SetOutput("verdict", verdict)
		a.SetOutput("report-path", reportPath)
		a.SetOutput("data-root", dataRoot(in))
		if g.io.Getenv("GITHUB_STEP_SUMMARY") != "" {
			a.AddStepSummary(full)
		}
	}
	f, err := g.selectForge(p, pf.forge)
	if err != nil {
		return nil, err
	}
	body, truncated := report.Render(in, reportLimit(f.Name()))
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
		out.CommentURL = p.rel(res.CommentURL)
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

func annotations(p *project, r *gate.Report) []forge.Annotation {
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
			Path: p.rel(p.Config.File), Line: v.Line, Level: level,
			Title: "mlci gate " + v.Rule, Message: fmt.Sprintf("%s: %s", v.Metric, v.Reason),
		})
	}
	return out
}
