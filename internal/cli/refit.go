package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/tracker"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/regfile"
)

func newRefitCmd(g *globals) *cobra.Command {
	opts := &refitOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "refit NAME",
		Short: "After a retrain, commit what changed to mlci/refit/NAME and open or update one pull/merge request",
		Long: `Run after your own retrain step in the same job. The files the retrain
changes (models[].refit.paths in mlci.yaml; default: mlci.lock and
mlci.lock.d, the metrics and params files, and the model's artifact when it
is a .dvc pointer file) are committed on top of HEAD to the branch
mlci/refit/NAME, which is pushed (replacing what it held: it is mlci's
branch), and one pull/merge request from it to the default branch is opened
or updated, its body the data diff and the files of --body-file (say, the
drift report of mlci drift --md). Nothing changed: nothing is pushed or
opened. The request then runs your normal mlci ci, and its merge registers
and promotes the new version as any merge does.

A pull request opened with GitHub's GITHUB_TOKEN starts no workflows: use a
GitHub App token or a fine-grained token in MLCI_GITHUB_TOKEN; mlci warns
when the request's author is github-actions[bot].`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runRefit(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.base, "base", "", "the `BRANCH` the request targets (default: refit.base in mlci.yaml, else the default branch)")
	cmd.Flags().StringArrayVar(&opts.bodyFiles, "body-file", nil, "markdown `FILE` to add to the request's body (repeatable)")
	cmd.Flags().StringVar(&opts.remote, "remote", "origin", "the git `REMOTE` to push the branch to")
	cmd.Flags().StringVar(&opts.forge, "forge", "auto", "where the request goes: auto, github, gitlab")
	return cmd
}

// refitOptions are refit's flags and argument.
type refitOptions struct {
	*globals
	name      string
	base      string
	bodyFiles []string
	remote    string
	forge     string
}

// refitBranch is the one branch a model's refits go to.
func refitBranch(model string) string {
	return "mlci/refit/" + strings.NewReplacer(":", "/").Replace(model)
}

// refitPaths are what a refit commits: the configured paths, else the
// files mlci.yaml says a retrain changes.
func refitPaths(p *project.Project, m config.Model) []string {
	if m.Refit != nil && len(m.Refit.Paths) > 0 {
		return m.Refit.Paths
	}
	paths := []string{lockfile.FileName, lockfile.FileName + ".d"}
	paths = append(paths, p.Config.Metrics...)
	paths = append(paths, p.Config.Params...)
	if strings.HasSuffix(m.Artifact, ".dvc") {
		paths = append(paths, m.Artifact)
	}
	var out []string
	for _, f := range paths {
		// A path git never tracked and the retrain did not write is
		// nothing to commit, and git add refuses an unknown path.
		if _, err := os.Lstat(p.Abs(f)); err == nil {
			out = append(out, f)
		}
	}
	return out
}

func runRefit(ctx context.Context, opts *refitOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	m, err := opts.model(p, opts.name)
	if err != nil {
		return err
	}
	repo, err := gitrepo.Open(ctx, p.Root)
	if err != nil {
		return usageError(fmt.Errorf("refit commits to git: %w", err))
	}
	prefix, err := repo.Prefix(ctx, p.Root)
	if err != nil {
		return usageError(err)
	}
	var paths []string
	for _, f := range refitPaths(p, m) {
		paths = append(paths, path.Join(prefix, filepath.ToSlash(f)))
	}
	head, ok := repo.Verify(ctx, "HEAD")
	if !ok {
		return usageError(errors.New("refit commits on top of HEAD, and this repository has no commit"))
	}
	var body strings.Builder
	for _, f := range opts.bodyFiles {
		if !filepath.IsAbs(f) {
			f = p.Abs(f)
		}
		data, err := regfile.Read(f, 1<<20)
		if err != nil {
			return usageError(fmt.Errorf("--body-file: %w", err))
		}
		body.Write(data)
		body.WriteString("\n\n")
	}
	if d := refitDataDiff(ctx, p, repo, prefix); d != "" {
		body.WriteString(d)
	}
	msg := fmt.Sprintf("mlci refit: %s\n\nRetrained from %s.", m.Name, gitrepo.ShortRev(head))
	if u := opts.ci.RunURL(); u != "" {
		msg += "\nRun: " + u
	}
	commit, changed, err := repo.CommitPaths(ctx, head, paths, msg)
	if err != nil {
		return usageError(fmt.Errorf("committing the refit (check user.name and user.email): %w", err))
	}
	if commit == "" {
		if opts.json {
			return opts.printJSON(map[string]any{"model": m.Name, "action": "none", "reason": "nothing changed"})
		}
		fmt.Fprintf(opts.io.Stdout, "refit %s: nothing changed in %s; nothing pushed or opened\n", m.Name, strings.Join(paths, ", "))
		return nil
	}
	f, err := opts.selectForge(p, opts.forge)
	if err != nil {
		return err
	}
	cr, ok := f.(forge.ChangeRequester)
	if !ok {
		return usageError(fmt.Errorf("refit opens a pull/merge request, which the %s forge cannot; run it in GitHub Actions or GitLab CI, or pass --forge", f.Name()))
	}
	base := opts.base
	if base == "" && m.Refit != nil {
		base = m.Refit.Base
	}
	if base == "" {
		if base, err = repo.DefaultBranch(ctx); err != nil {
			return usageError(fmt.Errorf("the request's base branch: %w; pass --base", err))
		}
	}
	branch := refitBranch(m.Name)
	if err := repo.PushBranch(ctx, opts.remote, commit, branch); err != nil {
		return serviceError(err)
	}
	title := "mlci refit: " + m.Name
	full := fmt.Sprintf("Retrained %s: commit %s on top of %s; files changed:\n\n", m.Name, gitrepo.ShortRev(commit), gitrepo.ShortRev(head))
	for _, c := range changed {
		full += "- `" + c + "`\n"
	}
	full += "\n" + body.String()
	res, err := tracker.EnsureChange(ctx, cr, branch, base, title, full)
	if err != nil {
		return serviceError(fmt.Errorf("the branch %s was pushed, but the request failed (re-run to retry; it updates the same branch and request): %w", branch, err))
	}
	for _, n := range res.Notes {
		opts.warn(n)
	}
	if opts.json {
		return opts.printJSON(map[string]any{"model": m.Name, "action": string(res.Action), "branch": branch, "commit": commit,
			"changed": changed, "url": res.Change.URL, "base": base})
	}
	fmt.Fprintf(opts.io.Stdout, "refit %s: %s %s (%s → %s, %d files)\n", m.Name, res.Action, cmp.Or(res.Change.URL, branch), branch, base, len(changed))
	return nil
}

// refitDataDiff is the datasets' change from HEAD as a markdown table, ""
// when there is no lock or nothing changed.
func refitDataDiff(ctx context.Context, p *project.Project, repo *gitrepo.Repo, prefix string) string {
	lock, manifests, err := datacheck.Load(ctx, p, nil)
	if err != nil || lock == nil {
		return ""
	}
	results, err := datacheck.Diff(ctx, repo, "HEAD", prefix, lock, manifests)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, r := range results {
		if r.Status == datacheck.StatusSame {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("### Data\n\n| dataset | change | files | added | removed | modified |\n| --- | --- | --- | --- | --- | --- |\n")
		}
		files := "—"
		if r.Head != nil {
			files = fmt.Sprint(r.Head.Files)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Name, r.Status, files, count(r.Added), count(r.Removed), count(r.Modified))
	}
	return b.String()
}

func count(n *int) string {
	if n == nil {
		return "—"
	}
	return fmt.Sprint(*n)
}
