package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/scaffold"
)

func newInitCmd(g *globals) *cobra.Command {
	opts := &initOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starting mlci.yaml, the CI workflow and .gitignore lines",
		Long: `Look at the project (-C DIR, default the current folder) and write:

  mlci.yaml     datasets (data/, dataset/, datasets/ up to two folders deep,
                and what DVC tracks: *.dvc files, dvc.yaml outs that are
                folders), metrics files (metrics.json, *.metrics.json,
                dvc.yaml metrics), params files (params.yaml, dvc.yaml
                params), a no-regression gate on the first metric whose name
                says which way is better (else a commented example), and the
                model files found (*.pt, *.onnx, *.pkl, model/ ...) as a
                commented models: block, since models make every merge push
                version tags
  CI            --forge github: .github/workflows/mlci.yml at the repository
                root (mlci/mlci@v1 on pull requests and pushes to the default
                branch); --forge gitlab: the component include in
                .gitlab-ci.yml, created, or appended when the file has no
                include: of its own (else the lines to add are printed)
  .gitignore    /mlci-report.md and /mlci-run.intoto.json, appended if absent

Hidden folders, node_modules, virtual environments and baseline/ folders
are skipped; symbolic links are never followed; the walk stops 6 folders
deep and after 50,000 entries, and says so.

mlci.yaml and the workflow are never replaced without --force: an existing
one is kept and reported. .gitignore and .gitlab-ci.yml are only appended
to. Files are written atomically. It prints each file (created, replaced,
updated, kept, or to edit by hand) and the commands to run next.
Exit 0 when everything was written or kept, 2 on a bad flag or a failed
write.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.forge, "forge", "auto", "CI to write for: auto (.github/ → github, .gitlab-ci.yml → gitlab, else the origin remote's host, else github), github or gitlab")
	f.BoolVar(&opts.force, "force", false, "replace an existing mlci.yaml and workflow file")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print what would be written; write nothing")
	return cmd
}

// initOptions are init's flags.
type initOptions struct {
	*globals
	forge  string // auto, github or gitlab
	force  bool
	dryRun bool
}

// Actions a file can take, as printed and in --json.
const (
	initCreated  = "created"
	initReplaced = "replaced"
	initUpdated  = "updated"
	initKept     = "kept"
	initManual   = "edit by hand"
)

// initFile is one file init writes or leaves.
type initFile struct {
	Path    string `json:"path"` // relative to the project
	Action  string `json:"action"`
	Reason  string `json:"reason,omitempty"`
	Content string `json:"content,omitempty"` // with --dry-run; the lines to add for initManual
	abs     string
	perm    fs.FileMode
}

func runInit(ctx context.Context, opts *initOptions) error {
	root := opts.workDir
	switch opts.forge {
	case "auto", scaffold.GitHub, scaffold.GitLab:
	default:
		return usageError(fmt.Errorf("--forge %q: choose auto, github or gitlab", opts.forge))
	}
	found, err := scaffold.Detect(os.DirFS(root), scaffold.DefaultLimits())
	if err != nil {
		return usageError(err)
	}
	var gate *scaffold.Gate
	if g, ok := scaffold.SuggestGate(os.DirFS(root), found.Metrics); ok {
		gate = &g
	}

	// The workflow belongs at the repository's root, which may be above
	// the project.
	repoRoot, wf := root, scaffold.WorkflowOptions{}
	origin := ""
	if repo, err := gitrepo.Open(ctx, root); err == nil {
		repoRoot = repo.Root
		if prefix, err := repo.Prefix(ctx, root); err == nil {
			wf.Dir = prefix
		}
		if b, err := repo.DefaultBranch(ctx); err == nil {
			wf.Branch = b
		}
		origin, _ = repo.RemoteURL(ctx, "origin")
	}
	forge := opts.forge
	if forge == "auto" {
		forge = scaffold.DetectForge(dirExists(filepath.Join(repoRoot, ".github")), pathExists(filepath.Join(repoRoot, scaffold.GitLabCIFile)), origin)
	}

	var files []initFile
	cfgPath, err := opts.initConfigPath(root)
	if err != nil {
		return err
	}
	cfgData := scaffold.Config(found, gate)
	// What init writes must load: a detected path that the config refuses
	// is a bug here, not something to leave the user.
	cfg, err := config.Parse(cfgPath, cfgData)
	if err != nil {
		return fmt.Errorf("the mlci.yaml init made does not load: %w", err)
	}
	cfgFile := opts.replaceable(root, cfgPath, cfgData)
	if cfgFile.Action == initKept {
		if kept, err := config.Load(cfgPath); err == nil {
			cfg = kept
		}
	}
	files = append(files, cfgFile)
	switch forge {
	case scaffold.GitHub:
		files = append(files, opts.replaceable(root, filepath.Join(repoRoot, filepath.FromSlash(scaffold.GitHubWorkflowFile)), scaffold.GitHubWorkflow(wf)))
	case scaffold.GitLab:
		f, err := gitLabFile(root, repoRoot, wf)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	ign, err := gitignoreFile(root)
	if err != nil {
		return err
	}
	files = append(files, ign)

	if !opts.dryRun {
		for _, f := range files {
			if err := writeInitFile(f); err != nil {
				return usageError(err)
			}
		}
	}
	next := opts.initNext(root, cfg)
	if opts.json {
		for i := range files {
			if !opts.dryRun && files[i].Action != initManual {
				files[i].Content = ""
			}
		}
		return opts.printJSON(struct {
			Forge    string            `json:"forge"`
			DryRun   bool              `json:"dry_run"`
			Detected scaffold.Findings `json:"detected"`
			Gate     *scaffold.Gate    `json:"gate"`
			Files    []initFile        `json:"files"`
			Next     []string          `json:"next"`
		}{forge, opts.dryRun, found, gate, files, next})
	}
	opts.printInit(forge, found, files, next)
	return nil
}

// initConfigPath is the config init writes: --config, else the config the
// project has (replacing .mlci.yaml rather than adding mlci.yaml beside
// it, which Find would refuse), else mlci.yaml.
func (g *globals) initConfigPath(root string) (string, error) {
	if g.config != "" {
		if filepath.IsAbs(g.config) {
			return g.config, nil
		}
		return filepath.Join(root, g.config), nil
	}
	p, err := config.Find(root)
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, config.ErrNotFound):
		return filepath.Join(root, config.FileName), nil
	}
	return "", usageError(err)
}

// replaceable plans a file that init writes whole: kept when it exists,
// unless --force.
func (o *initOptions) replaceable(root, abs string, data []byte) initFile {
	f := initFile{Path: relTo(root, abs), abs: abs, Action: initCreated, Content: string(data), perm: 0o644}
	if fi, err := os.Lstat(abs); err == nil {
		if !o.force {
			f.Action, f.Reason, f.Content = initKept, "exists; --force replaces it", ""
			return f
		}
		f.Action, f.perm = initReplaced, fi.Mode().Perm()
	}
	return f
}

func gitLabFile(root, repoRoot string, wf scaffold.WorkflowOptions) (initFile, error) {
	abs := filepath.Join(repoRoot, scaffold.GitLabCIFile)
	f := initFile{Path: relTo(root, abs), abs: abs, perm: 0o644}
	data, err := os.ReadFile(abs)
	found := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return f, usageError(fmt.Errorf("read %s: %w", f.Path, err))
	}
	if fi, err := os.Stat(abs); err == nil {
		f.perm = fi.Mode().Perm()
	}
	edit := scaffold.GitLabCI(data, found, wf)
	switch {
	case edit.Present:
		f.Action, f.Reason = initKept, "includes the mlci component already"
	case edit.Manual != "":
		f.Action, f.Reason, f.Content = initManual, edit.Reason, edit.Manual
	case found:
		f.Action, f.Content = initUpdated, string(edit.Content)
	default:
		f.Action, f.Content = initCreated, string(edit.Content)
	}
	return f, nil
}

func gitignoreFile(root string) (initFile, error) {
	abs := filepath.Join(root, ".gitignore")
	f := initFile{Path: ".gitignore", abs: abs, perm: 0o644}
	data, err := os.ReadFile(abs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return f, usageError(fmt.Errorf("read .gitignore: %w", err))
	}
	out, changed := scaffold.Gitignore(data)
	switch {
	case !changed:
		f.Action, f.Reason = initKept, "ignores mlci's outputs already"
	case err == nil:
		f.Action, f.Content = initUpdated, string(out)
	default:
		f.Action, f.Content = initCreated, string(out)
	}
	return f, nil
}

func writeInitFile(f initFile) error {
	switch f.Action {
	case initCreated, initReplaced, initUpdated:
	default:
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(f.abs), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	if err := atomicfile.Write(f.abs, []byte(f.Content), f.perm); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// initNext are the commands that take a new setup to its first run: a
// data lock first when the lock lacks a dataset of cfg, which mlci ci
// would otherwise fail as new data.
func (o *initOptions) initNext(root string, cfg *config.Config) []string {
	mlci := "mlci"
	if o.dir != "" {
		mlci += " -C " + shellQuote(o.dir)
	}
	var next []string
	lock, err := lockfile.Read(filepath.Join(root, lockfile.FileName))
	unlocked := err != nil
	for _, d := range cfg.Data {
		if err == nil && lock.Datasets[d.Name] == nil {
			unlocked = true
		}
	}
	if len(cfg.Data) > 0 && unlocked {
		next = append(next, mlci+" data lock")
	}
	return append(next, mlci+" ci --forge local")
}

func (o *initOptions) printInit(forge string, found scaffold.Findings, files []initFile, next []string) {
	w := o.io.Stdout
	fmt.Fprintf(w, "found %s, %s, %s, %s; forge %s\n",
		countOf(len(found.Data), "dataset"), countOf(len(found.Metrics), "metrics file"),
		countOf(len(found.Params), "params file"), countOf(len(found.Models), "model"), forge)
	for _, n := range found.Notes {
		o.warn(n)
	}
	if found.Truncated {
		o.warn("stopped looking at the repository at a limit (6 folders deep, 50,000 entries); add what it missed to mlci.yaml")
	}
	verb := func(a string) string {
		if o.dryRun && a != initKept && a != initManual {
			return "would be " + a
		}
		return a
	}
	for _, f := range files {
		line := fmt.Sprintf("%-8s %s", verb(f.Action), f.Path)
		if f.Reason != "" {
			line += " (" + f.Reason + ")"
		}
		fmt.Fprintln(w, line)
		if f.Action == initManual || (o.dryRun && f.Content != "") {
			for l := range strings.Lines(f.Content) {
				if strings.TrimSpace(l) != "" {
					l = "    " + l
				}
				fmt.Fprint(w, l)
			}
		}
	}
	fmt.Fprintln(w, "next:")
	for _, n := range next {
		fmt.Fprintln(w, "  "+n)
	}
}

func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func relTo(root, abs string) string {
	if r, err := filepath.Rel(root, abs); err == nil {
		return filepath.ToSlash(r)
	}
	return abs
}

func pathExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// shellQuote quotes a folder for the printed command when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
