// Package cli is the mlci command tree: flags, output and exit codes. The
// work itself lives in the domain packages it calls.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/buildinfo"
	"github.com/mlci/mlci/internal/ciprovider"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/forge/redact"
)

// Exit codes, as README.md ("CLI reference") documents them (see package exitcode).
const (
	ExitOK      = exitcode.OK
	ExitFailed  = exitcode.Failed  // a check failed
	ExitUsage   = exitcode.Usage   // bad flag or malformed input
	ExitService = exitcode.Service // the forge or another service failed after retries
)

func usageError(err error) error   { return exitcode.With(ExitUsage, err) }
func checkFailed(err error) error  { return exitcode.With(ExitFailed, err) }
func serviceError(err error) error { return exitcode.With(ExitService, err) }

// IO is what a command may touch of its process.
type IO struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// StderrTerminal says whether stderr is a terminal, for progress bars.
	StderrTerminal bool
	// Width is the terminal width, 0 when unknown.
	Width int
	// Version describes the build; the zero value stands for the running
	// binary's recorded build information.
	Version buildinfo.Info
}

// globals are the flags every command takes.
type globals struct {
	io      IO
	dir     string
	config  string
	json    bool
	quiet   bool
	workDir string // dir resolved to an absolute path
	// ci is the CI system the job runs in, detected once from io.Getenv.
	ci ciprovider.Provider
	// tagsFetched records repositories whose registry tags this process
	// already refetched: `mlci ci` on a merge reads the registry for each
	// model and again to promote, and one fetch serves them all (a race
	// with another promotion is caught by the atomic push, which refetches).
	tagsFetched map[string]bool
}

// Execute runs the command line and returns the process exit code. It
// prints at most one error line, prefixed "mlci: ".
func Execute(ctx context.Context, args []string, io IO) int {
	if io.Getenv == nil {
		io.Getenv = func(string) string { return "" }
	}
	g := &globals{io: io, ci: ciprovider.Detect(io.Getenv, ciprovider.Options{Stdout: io.Stdout})}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(io.Stdout)
	root.SetErr(io.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitcode.Of(err, ExitUsage)
	if code == exitcode.Interrupted {
		err = errors.New("interrupted; no lock or cache was half-written (writes are atomic)")
	}
	fmt.Fprintf(io.Stderr, "mlci: %s\n", errorLine(err))
	return code
}

// errorLine is the one line a failed command prints. Git and the clients
// may echo a remote's URL, and a CI remote carries its token
// (https://gitlab-ci-token:TOKEN@host/...); the line never does.
func errorLine(err error) string {
	return redact.URLs(exitcode.OneLine(err.Error()))
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "mlci",
		Short: "ML checks for the CI you already run",
		Long: `mlci adds ML checks to existing CI: data-hash checks against a committed
lock file, metric gates, pull request reports and staged model promotion.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := g.actionInputs(cmd); err != nil {
				return err
			}
			return g.resolveDir()
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(fmt.Errorf("%w; see %s --help", err, cmd.CommandPath()))
	})
	f := root.PersistentFlags()
	f.StringVarP(&g.dir, "chdir", "C", "", "run as if mlci was started in `DIR`")
	f.StringVar(&g.config, "config", "", "config `FILE` (default: mlci.yaml or .mlci.yaml at the project root)")
	f.BoolVar(&g.json, "json", false, "print machine-readable JSON on stdout")
	f.BoolVarP(&g.quiet, "quiet", "q", false, "print only results and errors; no progress")
	root.AddCommand(newVersionCmd(g), newDataCmd(g), newMetricsCmd(g), newParamsCmd(g), newGateCmd(g), newCICmd(g), newReportCmd(g), newRunCmd(g), newModelCmd(g), newPromoteCmd(g), newRollbackCmd(g), newRolloutCmd(g), newRefitCmd(g), newProfileCmd(g), newDriftCmd(g), newActionCmd(g))
	root.AddCommand(newInitCmd(g))
	root.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	suggestCommands(root)
	return root
}

// suggestCommands makes a word that names no subcommand of a command
// group a usage error that suggests the closest (cobra's suggestions:
// an edit distance of 2 or a prefix), in the one line mlci prints. The
// groups take no arguments of their own.
func suggestCommands(cmd *cobra.Command) {
	if !cmd.HasSubCommands() {
		return
	}
	cmd.SuggestionsMinimumDistance = 2
	cmd.Args = unknownCommand
	for _, sub := range cmd.Commands() {
		suggestCommands(sub)
	}
}

func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if close := cmd.SuggestionsFor(args[0]); len(close) > 0 {
		for i, c := range close {
			close[i] = strconv.Quote(c)
		}
		return usageError(fmt.Errorf("%s; did you mean %s?", msg, strings.Join(close, " or ")))
	}
	return usageError(fmt.Errorf("%s; run %s --help", msg, cmd.CommandPath()))
}

func (g *globals) resolveDir() error {
	dir := g.dir
	if dir == "" {
		dir = "."
	}
	abs, err := absDir(dir)
	if err != nil {
		return usageError(fmt.Errorf("-C %s: %w", dir, err))
	}
	g.workDir = abs
	return nil
}

func absDir(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", errors.Unwrap(err)
	}
	if !fi.IsDir() {
		return "", errors.New("not a directory")
	}
	abs, err := absPath(dir)
	if err != nil {
		return "", err
	}
	return abs, nil
}

// printJSON writes v as indented JSON on stdout.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.io.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// warn prints a warning on stderr unless quiet.
func (g *globals) warn(msg string) {
	if !g.quiet {
		fmt.Fprintf(g.io.Stderr, "mlci: warning: %s\n", redact.URLs(msg))
	}
}

func newVersionCmd(g *globals) *cobra.Command {
	opts := &versionOptions{globals: g}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the mlci version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), opts)
		},
	}
}

// versionOptions are version's flags: only the global ones.
type versionOptions struct {
	*globals
}

// runVersion takes ctx as every run function does, though printing the
// build needs none.
func runVersion(_ context.Context, opts *versionOptions) error {
	v := opts.io.Version
	if v.Version == "" {
		v = buildinfo.Read(buildinfo.Stamp{})
	}
	if opts.json {
		return opts.printJSON(v)
	}
	fmt.Fprintf(opts.io.Stdout, "mlci %s\n", v)
	return nil
}
