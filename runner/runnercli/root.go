// Package runnercli is the mlci-runner command tree: the GPU inventory, the
// GitHub container hook, the GitLab custom executor, leases and runner
// registration. The work lives in the runner packages it wires together.
package runnercli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/buildinfo"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/runner/dockerjob/dockerengine"
	"github.com/mlci/mlci/runner/hostconfig"
)

// Exit codes, as README.md ("CLI reference") documents them (see package exitcode).
const (
	ExitOK      = exitcode.OK
	ExitFailed  = exitcode.Failed  // a check failed: unhealthy GPU, job refused by policy
	ExitUsage   = exitcode.Usage   // bad flag or malformed input
	ExitService = exitcode.Service // the forge or Docker failed after retries
)

func usageError(err error) error   { return exitcode.With(ExitUsage, err) }
func checkFailed(err error) error  { return exitcode.With(ExitFailed, err) }
func serviceError(err error) error { return exitcode.With(ExitService, err) }

// exitCode is an exit status passed through as is (a step's own code).
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// IO is what a command may touch of its process.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Version describes the build; the zero value is a development build.
	Version buildinfo.Info
	// Executable is this program's path, for the telemetry monitor it
	// starts; "" means os.Executable.
	Executable string
	// NVML returns the NVML library to use; nil means the real one. Tests
	// give go-nvml's mock servers.
	NVML func() nvml.Interface
}

type globals struct {
	io           IO
	configPath   string
	json         bool
	dockerEngine *dockerengine.Engine
}

// Execute runs the command line and returns the exit code, printing at most
// one error line prefixed "mlci-runner: ".
func Execute(ctx context.Context, args []string, io IO) int {
	if io.Getenv == nil {
		io.Getenv = func(string) string { return "" }
	}
	if io.Stdin == nil {
		io.Stdin = strings.NewReader("")
	}
	g := &globals{io: io}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(io.Stdout)
	root.SetErr(io.Stderr)
	root.SetIn(io.Stdin)
	err := root.ExecuteContext(ctx)
	g.closeDocker()
	if err == nil {
		return ExitOK
	}
	var c exitCode
	if errors.As(err, &c) {
		return int(c)
	}
	code := exitcode.Of(err, ExitUsage)
	if code == exitcode.Interrupted {
		err = errors.New("interrupted")
	}
	fmt.Fprintf(io.Stderr, "mlci-runner: %s\n", exitcode.OneLine(err.Error()))
	return code
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "mlci-runner",
		Short: "GPU jobs for the official GitHub and GitLab runners: exclusive, checked, cleaned, measured",
		Long: `mlci-runner plugs into the official GitHub Actions runner (container hooks) and
GitLab Runner (custom executor). Each job gets the GPUs it asks for, by UUID,
healthy and exclusive, inside its own container; after the job its processes
are killed and its GPUs checked clean, and the hardware it ran on is written
where mlci's run record finds it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(fmt.Errorf("%w; see %s --help", err, cmd.CommandPath()))
	})
	f := root.PersistentFlags()
	f.StringVar(&g.configPath, "config", "", "runner config `FILE` (default: $MLCI_RUNNER_CONFIG or "+hostconfig.DefaultPath+")")
	f.BoolVar(&g.json, "json", false, "print machine-readable JSON on stdout")
	root.AddCommand(newVersionCmd(g), newCheckCmd(g), newGPUsCmd(g), newLeasesCmd(g), newDatasetsCmd(g), newHookCmd(g), newGitLabCmd(g), newMonitorCmd(g), newRegisterCmd(g), newUnregisterCmd(g))
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError(fmt.Errorf("unknown command %q; run mlci-runner --help", args[0]))
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	return root
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := g.io.Version
			if v.Version == "" {
				v = buildinfo.Read(buildinfo.Stamp{})
			}
			fmt.Fprintf(g.io.Stdout, "mlci-runner %s\n", v)
			return nil
		},
	}
}

// config loads the runner config: --config, then MLCI_RUNNER_CONFIG, then
// the default path (which may be absent).
func (g *globals) config() (hostconfig.Config, error) {
	path, named := g.configPath, true
	if path == "" {
		path = g.io.Getenv("MLCI_RUNNER_CONFIG")
	}
	if path == "" {
		path, named = hostconfig.DefaultPath, false
	}
	c, err := hostconfig.Load(path, named)
	if err != nil {
		return c, usageError(err)
	}
	if d := g.io.Getenv("MLCI_RUNNER_STATE_DIR"); d != "" {
		c.StateDir = d
	}
	return c, nil
}

func (g *globals) executable() (string, error) {
	if g.io.Executable != "" {
		return g.io.Executable, nil
	}
	return os.Executable()
}
