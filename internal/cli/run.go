package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/runrecord"
)

func newRunCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Record what a training or evaluation run was made of",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	opts := &runRecordOptions{globals: g}
	record := &cobra.Command{
		Use:   "record",
		Short: "Write an in-toto Statement (SLSA provenance) for the run's artifacts",
		Long: `Write an in-toto Statement with a SLSA provenance predicate whose subjects
are the run's artifacts (the models in mlci.yaml, or --subject PATH) and
whose materials are the commit, the datasets' roots from mlci.lock, the
container image digest (--image, or MLCI_IMAGE_DIGEST), the hardware
fingerprint (the file named by MLCI_HARDWARE_FILE, else "unknown") and a
digest of the params files. The run identity is the digest of those
materials: two runs with the same identity are the same experiment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRunRecord(cmd.Context(), opts)
		},
	}
	f := record.Flags()
	f.StringArrayVar(&opts.subjects, "subject", nil, "artifact `PATH` to record (default: the models in mlci.yaml); repeatable")
	f.StringVarP(&opts.output, "output", "o", "", "write the record to `FILE` (default: "+project.RunRecordFile+" in the project)")
	f.StringVar(&opts.image, "image", "", "the run's container image `DIGEST` (default: $MLCI_IMAGE_DIGEST)")
	cmd.AddCommand(record)
	return cmd
}

// runRecordOptions are run record's flags.
type runRecordOptions struct {
	*globals
	subjects []string // artifact paths; none: every model's artifact
	output   string   // "": the run record file in the project
	image    string   // "": $MLCI_IMAGE_DIGEST
}

func runRunRecord(ctx context.Context, opts *runRecordOptions) error {
	started := time.Now()
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	subj, err := opts.runSubjects(ctx, p, opts.subjects)
	if err != nil {
		return err
	}
	m, err := opts.runMaterials(ctx, p, opts.image)
	if err != nil {
		return err
	}
	st := runrecord.New(subj, m, opts.ci.BuilderID(), opts.ci.RunURL(), started, time.Now())
	out := opts.output
	if out == "" {
		out = filepath.Join(p.Root, project.RunRecordFile)
	} else if !filepath.IsAbs(out) {
		out = filepath.Join(opts.workDir, out)
	}
	if err := runrecord.Write(out, st); err != nil {
		return usageError(err)
	}
	id := runrecord.Identity(m)
	if opts.json {
		return opts.printJSON(struct {
			Path     string            `json:"path"`
			Identity digest.Digest     `json:"run_identity"`
			Subjects map[string]string `json:"subjects"`
		}{out, id, digestStrings(subj)})
	}
	fmt.Fprintf(opts.io.Stdout, "run %s\nwrote %s\n", id, p.Rel(out))
	return nil
}

func digestStrings(m map[string]digest.Digest) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

// runSubjects hashes the artifacts named on the command line, else every
// model's artifact in mlci.yaml.
func (g *globals) runSubjects(ctx context.Context, p *project.Project, paths []string) (map[string]digest.Digest, error) {
	named := map[string]string{}
	for _, s := range paths {
		abs := s
		if !filepath.IsAbs(s) {
			abs = filepath.Join(g.workDir, s)
		}
		named[p.Rel(abs)] = abs
	}
	if len(named) == 0 && p.Config != nil {
		for _, m := range p.Config.Models {
			named[m.Name] = p.Abs(m.Artifact)
		}
	}
	if len(named) == 0 {
		return nil, usageError(errors.New("nothing to record: list models under models: in mlci.yaml, or pass --subject PATH"))
	}
	out := map[string]digest.Digest{}
	for name, abs := range named {
		res, err := datahash.Hash(ctx, abs, datahash.Options{Algorithm: digest.SHA256, MaxEntries: datahash.NoEntries})
		if err != nil {
			return nil, usageError(fmt.Errorf("subject %s: %w", name, err))
		}
		out[name] = res.Root
	}
	return out, nil
}

// runMaterials gathers what went into the run. Datasets come from the
// lock, which data check has held to the work tree.
func (g *globals) runMaterials(ctx context.Context, p *project.Project, image string) (runrecord.Materials, error) {
	m := runrecord.Materials{Data: map[string]digest.Digest{}}
	var origin func() string
	if repo, err := gitrepo.Open(ctx, p.Root); err == nil {
		if rev, ok := repo.Verify(ctx, "HEAD"); ok {
			m.Commit = rev
		}
		origin = func() string {
			u, _ := repo.RemoteURL(ctx, "origin") // no origin: no repository
			return u
		}
	}
	m.Repository = g.ci.RepositoryURL()
	if m.Repository == "" && origin != nil {
		m.Repository = runrecord.RemoteURL(origin())
	}
	if l, err := lockfile.Read(p.LockPath()); err == nil {
		for name, ds := range l.Datasets {
			m.Data[name] = ds.Digest
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return m, usageError(err)
	}
	if image == "" {
		image = g.io.Getenv("MLCI_IMAGE_DIGEST")
	}
	if image != "" {
		d, err := digest.Parse(image)
		if err != nil {
			return m, usageError(fmt.Errorf("--image: %w", err))
		}
		m.Image = d
	}
	m.Hardware = runrecord.HardwareFromEnv(g.io.Getenv, os.ReadFile)
	if p.Config != nil && len(p.Config.Params) > 0 {
		d, err := paramsDigest(p, p.Config.Params)
		if err != nil {
			return m, err
		}
		m.Params = d
	}
	return m, nil
}

// paramsDigest is the Merkle root of the params files, as if they were one
// dataset of those files.
func paramsDigest(p *project.Project, files []string) (digest.Digest, error) {
	var entries []datahash.Entry
	for _, f := range files {
		data, err := p.ReadInput(f)
		if err != nil {
			return "", usageError(fmt.Errorf("params file %w", err))
		}
		h := digest.BLAKE3.New()
		h.Write(data)
		var e datahash.Entry
		e.Path, e.Type, e.Size = f, datahash.File, int64(len(data))
		copy(e.Sum[:], h.Sum(nil))
		entries = append(entries, e)
	}
	datahash.Sort(entries)
	return datahash.Root(digest.BLAKE3, entries), nil
}
