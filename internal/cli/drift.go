package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/drift/compare"
	"github.com/mlci/mlci/internal/drift/profile"
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/tracker"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
	"github.com/mlci/mlci/internal/tabular"
)

// profileFlags are how a table is read into a profile.
type profileFlags struct {
	format             string
	target, prediction string
	include, exclude   []string
	sampleSize, topK   int
}

func (f *profileFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.format, "format", "", "the files' format: csv, tsv, jsonl or parquet (default: by extension)")
	cmd.Flags().StringVar(&f.target, "target", "", "the target `COLUMN` (target drift is reported apart)")
	cmd.Flags().StringVar(&f.prediction, "prediction", "", "the prediction `COLUMN` (prediction drift is reported apart)")
	cmd.Flags().StringSliceVar(&f.include, "include", nil, "profile only these `COLUMNS`")
	cmd.Flags().StringSliceVar(&f.exclude, "exclude", nil, "leave out these `COLUMNS`")
	cmd.Flags().IntVar(&f.sampleSize, "sample-size", profile.DefaultSampleSize, "values kept per numeric column, a seeded uniform sample")
	cmd.Flags().IntVar(&f.topK, "top-k", profile.DefaultTopK, "categories counted by name per column; the rest count as other")
}

func (f *profileFlags) options() profile.Options {
	o := profile.DefaultOptions()
	o.Include, o.Exclude, o.Target, o.Prediction = f.include, f.exclude, f.target, f.prediction
	if f.sampleSize > 0 {
		o.SampleSize = f.sampleSize
	}
	if f.topK > 0 {
		o.TopK = f.topK
	}
	return o
}

// buildProfile profiles files, read one after another as one table; every
// file must have the same columns.
func buildProfile(ctx context.Context, files []string, format string, opts profile.Options) (*profile.Profile, error) {
	f := tabular.Auto
	if format != "" {
		var err error
		if f, err = tabular.ParseFormat(format); err != nil {
			return nil, usageError(err)
		}
	}
	for _, file := range files {
		// The files may be named by a pull request: read only regular
		// files, never a link to one on the runner.
		st, err := os.Lstat(file)
		switch {
		case err != nil:
			return nil, usageError(fmt.Errorf("%s: %w", file, err))
		case !st.Mode().IsRegular():
			return nil, usageError(fmt.Errorf("%s is not a regular file; profile the file itself", file))
		}
	}
	r, err := tabular.OpenAll(files, f)
	if err != nil {
		return nil, usageError(err)
	}
	defer r.Close()
	p, err := profile.Build(ctx, r, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, usageError(err)
	}
	return p, nil
}

func newProfileCmd(g *globals) *cobra.Command {
	var flags profileFlags
	var out string
	cmd := &cobra.Command{
		Use:   "profile FILE... [-o PROFILE]",
		Short: "Summarize tabular data (CSV, TSV, JSON Lines, Parquet) per column into a profile mlci drift compares with",
		Long: `Read the files in one streaming pass (memory depends on the columns, not the
rows) and write a versioned JSON profile: per column its kind (numeric,
categorical, boolean), count and missing; for numeric columns a seeded
uniform sample of --sample-size values, moments and decile bins; for
categorical ones the --top-k category counts and "other". The reference of
mlci drift, without the training data.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProfile(cmd.Context(), g, args, &flags, out)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the profile to `FILE` (default: standard output)")
	return cmd
}

func runProfile(ctx context.Context, g *globals, files []string, flags *profileFlags, out string) error {
	p, err := buildProfile(ctx, absFiles(g, files), flags.format, flags.options())
	if err != nil {
		return err
	}
	if out == "" {
		return g.printJSON(p)
	}
	if err := p.Write(absFile(g, out)); err != nil {
		return usageError(err)
	}
	fmt.Fprintf(g.io.Stdout, "profile of %d rows × %d columns written to %s\n", p.Rows, len(p.Columns), out)
	return nil
}

// absFiles resolves paths given on the command line against -C.
func absFiles(g *globals, files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = absFile(g, f)
	}
	return out
}

func absFile(g *globals, f string) string {
	if filepath.IsAbs(f) || g.workDir == "" {
		return f
	}
	return filepath.Join(g.workDir, f)
}

func newDriftCmd(g *globals) *cobra.Command {
	opts := &driftOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "drift CURRENT... (--against NAME#STAGE | --reference PROFILE_OR_FILE)",
		Short: "Compare current data with a model's reference profile, column by column; exit 1 on drift",
		Long: `Profile the current data and compare it with the reference: the profile
the version in NAME#STAGE registered (models[].profile in mlci.yaml), or a
profile or data file. Numeric columns: two-sample Kolmogorov–Smirnov,
Wasserstein distance over the reference's spread, PSI; categorical and
boolean: chi-squared over the categories (rare ones pooled), PSI,
Jensen–Shannon distance; every column: the missing rate. A column drifts
only when its test is significant after Benjamini–Hochberg across all
columns AND its effect passes a minimum (drift: in mlci.yaml), so a million
rows do not flag a trivial shift. Exit 0 no drift, 1 drift, 2 bad input.

--post keeps one issue per model ("mlci drift: NAME"): created when drift
first appears, updated each run, closed with a comment when it clears.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.current = args
			return runDrift(cmd.Context(), opts)
		},
	}
	opts.registry.register(cmd)
	cmd.Flags().StringVar(&opts.against, "against", "", "compare with the profile the version in `NAME#STAGE` registered")
	cmd.Flags().StringVar(&opts.reference, "reference", "", "compare with this profile (.json) or data `FILE`")
	cmd.Flags().StringVar(&opts.model, "model", "", "the model the issue is about with --reference (default: NAME of --against)")
	cmd.Flags().BoolVar(&opts.md, "md", false, "print the report as markdown")
	cmd.Flags().BoolVar(&opts.post, "post", false, "keep the model's drift issue on the forge up to date")
	cmd.Flags().StringVar(&opts.forge, "forge", "auto", "where --post goes: auto, github, gitlab")
	cmd.Flags().StringVar(&opts.format, "format", "", "the current files' format (default: by extension)")
	cmd.MarkFlagsMutuallyExclusive("against", "reference")
	return cmd
}

// driftOptions are drift's flags and arguments.
type driftOptions struct {
	*globals
	current            []string
	against, reference string
	model              string
	md, post           bool
	forge, format      string
	registry           registryFlags
}

func runDrift(ctx context.Context, opts *driftOptions) error {
	if opts.against == "" && opts.reference == "" {
		return usageError(errors.New("name the reference: --against NAME#STAGE (the profile that version registered) or --reference PROFILE_OR_FILE"))
	}
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	ref, model, refName, err := opts.referenceProfile(ctx, p)
	if err != nil {
		return err
	}
	// The current data is profiled with the reference's roles, counted in
	// its bins and categories, so the comparison estimates nothing twice.
	po := profile.DefaultOptions()
	po.Reference = ref
	for _, c := range ref.Columns {
		switch c.Role {
		case profile.Target:
			po.Target = c.Name
		case profile.Prediction:
			po.Prediction = c.Name
		}
	}
	if p.Config != nil {
		for _, m := range p.Config.Models {
			if m.Name == model && m.Profile != nil {
				po.Exclude = m.Profile.Exclude // left out of the reference on purpose
			}
		}
	}
	cur, err := buildProfile(ctx, absFiles(opts.globals, opts.current), opts.format, po)
	if err != nil {
		return err
	}
	rules := driftRules(p.Config.Drift)
	rep, err := compare.Compare(ref, cur, rules)
	if err != nil {
		return usageError(err)
	}
	switch {
	case opts.json:
		if err := opts.printJSON(struct {
			Model     string `json:"model,omitempty"`
			Reference string `json:"reference"`
			*compare.Report
		}{model, refName, rep}); err != nil {
			return err
		}
	case opts.md:
		fmt.Fprint(opts.io.Stdout, rep.Markdown())
	default:
		fmt.Fprintf(opts.io.Stdout, "%s against %s: %s\n", strings.Join(opts.current, ", "), refName, rep.Summary())
		if err := rep.Table(opts.io.Stdout); err != nil {
			return err
		}
	}
	if opts.post {
		if err := opts.postDrift(ctx, p, model, refName, rep); err != nil {
			return err
		}
	}
	if rep.Drift {
		return checkFailed(errors.New(rep.Summary()))
	}
	return nil
}

// driftRules are the defaults with mlci.yaml's drift: over them.
func driftRules(d *config.Drift) compare.Rules {
	r := compare.DefaultRules()
	if d == nil {
		return r
	}
	for _, o := range []struct {
		from float64
		to   *float64
	}{{d.Alpha, &r.Alpha}, {d.MinPSI, &r.MinPSI}, {d.MinWasserstein, &r.MinWasserstein}, {d.MinJS, &r.MinJS}, {d.MaxDriftedShare, &r.MaxDriftedShare}} {
		if o.from != 0 {
			*o.to = o.from
		}
	}
	if len(d.Columns) > 0 {
		r.Columns = map[string]compare.ColumnRule{}
		for name, c := range d.Columns {
			r.Columns[name] = compare.ColumnRule{MaxPSI: c.MaxPSI, Ignore: c.Ignore, WarnOnly: c.WarnOnly}
		}
	}
	return r
}

// referenceProfile is the profile drift compares with, the model it is
// about ("" when unknown) and a name for it.
func (opts *driftOptions) referenceProfile(ctx context.Context, p *project.Project) (*profile.Profile, string, string, error) {
	if opts.reference != "" {
		file := absFile(opts.globals, opts.reference)
		if strings.HasSuffix(file, ".json") {
			ref, err := profile.Read(file)
			if err != nil {
				return nil, "", "", usageError(err)
			}
			return ref, opts.model, opts.reference, nil
		}
		ref, err := buildProfile(ctx, []string{file}, "", profile.DefaultOptions())
		return ref, opts.model, opts.reference, err
	}
	r, err := registry.ParseRef(opts.against)
	if err != nil {
		return nil, "", "", usageError(err)
	}
	state, err := opts.registryState(ctx, p, &opts.registry)
	if err != nil {
		return nil, "", "", err
	}
	v, err := registry.Resolve(state, r)
	if err != nil {
		return nil, "", "", usageError(err)
	}
	if v.Record == nil || v.Record.Profile == "" {
		return nil, "", "", usageError(fmt.Errorf("%s %s registered no profile; set models[].profile in mlci.yaml and register a version, or pass --reference", r.Artifact, v.Version))
	}
	var data []byte
	if strings.HasPrefix(v.Record.Profile, profileScheme) {
		if data, err = opts.pullProfile(ctx, p, r.Artifact, v.Record.Profile); err != nil {
			return nil, "", "", err
		}
	} else {
		repo, remote, err := opts.registryRepo(ctx, p, &opts.registry)
		if err != nil {
			return nil, "", "", err
		}
		if data, err = registry.ReadBlob(ctx, repo.Root, remote, r.Artifact, v.Record.Profile, profile.MaxFileSize); err != nil {
			return nil, "", "", usageError(err)
		}
	}
	ref, err := profile.Parse(data)
	if err != nil {
		return nil, "", "", usageError(fmt.Errorf("the profile of %s %s: %w", r.Artifact, v.Version, err))
	}
	model := r.Artifact
	if opts.model != "" {
		model = opts.model
	}
	return ref, model, fmt.Sprintf("%s %s (%s)", r.Artifact, v.Version, r), nil
}

// postDrift keeps the model's drift issue: created or updated while the
// data drifts, closed with a comment when it no longer does; each run
// adds a history line as a comment while the issue is open.
func (opts *driftOptions) postDrift(ctx context.Context, p *project.Project, model, refName string, rep *compare.Report) error {
	if model == "" {
		return usageError(errors.New("--post needs the model the issue is about: --against NAME#STAGE or --model NAME"))
	}
	f, err := opts.selectForge(p, opts.forge)
	if err != nil {
		return err
	}
	it, ok := f.(forge.IssueTracker)
	if !ok {
		return usageError(fmt.Errorf("--post keeps an issue, which the %s forge cannot; run it in GitHub Actions or GitLab CI", f.Name()))
	}
	when := time.Now().UTC().Format("2006-01-02 15:04 UTC")
	run := opts.ci.RunURL()
	line := fmt.Sprintf("%s: %s", when, rep.Summary())
	if run != "" {
		line += " ([run](" + run + "))"
	}
	body := fmt.Sprintf("### mlci drift: %s\n\nCurrent data against %s.\n\n%s\nLast run: %s\n", model, refName, rep.Markdown(), line)
	if !rep.Drift {
		body = "Drift cleared — " + line
	}
	res, err := tracker.Sync(ctx, it, tracker.Drift(model), "mlci drift: "+model, body, rep.Drift)
	if err != nil {
		return serviceError(fmt.Errorf("the drift issue of %s: %w", model, err))
	}
	if rep.Drift && res.Action != tracker.Created {
		if err := it.CommentIssue(ctx, res.Issue.ID, line); err != nil {
			return serviceError(fmt.Errorf("the drift issue of %s: history line: %w", model, err))
		}
	}
	if res.Action != tracker.None {
		fmt.Fprintf(opts.io.Stderr, "drift issue of %s: %s %s\n", model, res.Action, res.URL())
	}
	return nil
}

// modelProfile builds the profile of a model's reference data for its
// registration (nil when the model names none); storeVersion keeps it.
func (g *globals) modelProfile(ctx context.Context, p *project.Project, m config.Model) ([]byte, error) {
	if m.Profile == nil {
		return nil, nil
	}
	var files []string
	for _, f := range m.Profile.Data {
		// The names are the pull request author's, and what the profile
		// holds is pushed with the version: nothing outside the repository.
		resolved, err := p.ResolveInput(f)
		if err != nil {
			return nil, usageError(fmt.Errorf("model %s: profile: %w", m.Name, err))
		}
		files = append(files, resolved)
	}
	opts := profile.DefaultOptions()
	opts.Target, opts.Prediction, opts.Exclude = m.Profile.Target, m.Profile.Prediction, m.Profile.Exclude
	prof, err := buildProfile(ctx, files, m.Profile.Format, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: profile: %w", m.Name, err)
	}
	return json.Marshal(prof)
}
