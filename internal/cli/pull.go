package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/artifact"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

func newModelPullCmd(g *globals) *cobra.Command {
	opts := &modelPullOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "pull NAME#STAGE|NAME@vX.Y.Z [-o DIR]",
		Short: "Fetch a model's artifact from the artifact store, by stage or version",
		Long: `Fetch the artifact of the version in a stage (NAME#STAGE) or of a version
(NAME@vX.Y.Z, NAME@latest) and unpack it into DIR, by default a new folder
NAME-vX.Y.Z. The artifact is fetched by the manifest digest its registration
tag recorded, never by the store's own tags, which whoever can write to the
store could move. Nothing is written into a .git folder, files already in DIR
are replaced only with --force, and a pull writes all of the artifact or
nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ref = args[0]
			return runModelPull(cmd.Context(), opts)
		},
	}
	opts.registry.register(cmd)
	cmd.Flags().StringVarP(&opts.output, "output", "o", "", "`DIR` to unpack into (default: a new folder NAME-vX.Y.Z)")
	cmd.Flags().BoolVar(&opts.force, "force", false, "replace files already in DIR")
	return cmd
}

// modelPullOptions are model pull's flags and argument.
type modelPullOptions struct {
	*globals
	ref      string // NAME#STAGE or NAME@VERSION, as typed
	registry registryFlags
	output   string // "": a new folder NAME-vX.Y.Z
	force    bool
}

func runModelPull(ctx context.Context, opts *modelPullOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	store, err := opts.artifactStore(ctx, p)
	if err != nil {
		return err
	}
	if store == nil {
		return usageError(errors.New("no artifact_store in mlci.yaml: set it to oci-layout:PATH or oci://REGISTRY/REPO"))
	}
	ref, err := registry.ParseRef(opts.ref)
	if err != nil {
		return usageError(err)
	}
	v, err := opts.pullVersion(ctx, p, &opts.registry, ref)
	if err != nil {
		return err
	}
	out := opts.output
	if out == "" {
		out = artifactTag(v.Artifact, v.Version)
	}
	dir, err := opts.pullDir(out)
	if err != nil {
		return err
	}
	pulled, err := store.Pull(ctx, v.Record.Manifest, dir, artifact.PullOptions{Overwrite: opts.force})
	var exists *artifact.ExistsError
	switch {
	case errors.As(err, &exists):
		return usageError(fmt.Errorf("%s: %s exists in %s; pass --force to replace the files there, or pull into a new folder", opts.ref, filepath.ToSlash(exists.Name), out))
	case errors.Is(err, artifact.ErrRefused):
		return usageError(fmt.Errorf("%s: %w", opts.ref, err))
	case errors.Is(err, artifact.ErrNotFound):
		return usageError(fmt.Errorf("%s: the registry records %s for %s, which the artifact store lacks: %w", opts.ref, v.Record.Manifest, v.Version, err))
	case err != nil:
		return serviceError(err)
	}
	if opts.json {
		return opts.printJSON(struct {
			Version  string `json:"version"`
			Manifest string `json:"manifest"`
			Files    int    `json:"files"`
			Dir      string `json:"dir"`
		}{v.Version, pulled.Manifest, pulled.Files, out})
	}
	fmt.Fprintf(opts.io.Stdout, "pulled %s (%s, %d files) into %s\n", opts.ref, pulled.Manifest, pulled.Files, out)
	return nil
}

// pullVersion resolves ref in the registry to a version whose record names
// the artifact's manifest.
func (g *globals) pullVersion(ctx context.Context, p *project.Project, rf *registryFlags, ref registry.Ref) (registry.Version, error) {
	state, err := g.registryState(ctx, p, rf)
	if err != nil {
		return registry.Version{}, err
	}
	v, err := registry.Resolve(state, ref)
	if err != nil {
		return registry.Version{}, registryError(err)
	}
	if v.Record == nil || v.Record.Manifest == "" {
		return registry.Version{}, usageError(fmt.Errorf("%s: %s %s was registered without an artifact store, so no artifact is recorded for it; register a new version", ref, v.Artifact, v.Version))
	}
	// A tag name here would have the store resolve it, and whoever can
	// write to the store move it.
	if _, err := digest.Parse(v.Record.Manifest); err != nil {
		return registry.Version{}, usageError(fmt.Errorf("%s: the registration of %s %s records %q as its artifact, which is not a digest: the tag was not written by mlci model register; register a new version", ref, v.Artifact, v.Version, v.Record.Manifest))
	}
	return v, nil
}

// pullDir resolves -o against the work directory and refuses any path
// into a .git folder, where git would run what a config says.
func (g *globals) pullDir(out string) (string, error) {
	dir := out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(g.workDir, dir)
	}
	dir = filepath.Clean(dir)
	refuse := usageError(fmt.Errorf("-o %s is inside a .git folder; pull into a folder of the work tree", out))
	if project.InGitDir(dir) {
		return "", refuse
	}
	// Links count too: resolve the part that exists.
	existing, rest := dir, ""
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
	if resolved, err := filepath.EvalSymlinks(existing); err == nil && project.InGitDir(filepath.Join(resolved, rest)) {
		return "", refuse
	}
	return dir, nil
}
