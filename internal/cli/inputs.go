package cli

import (
	"cmp"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/ciprovider"
)

// The GitHub Action's inputs (action.yml) reach mlci as the runner names
// them: INPUT_ and the upper-cased name with its dashes kept
// (INPUT_WORKING-DIRECTORY), which no POSIX shell can read and busybox's
// drops across exec. So no shell reads them: the action runs `mlci action`,
// and mlci maps each input to its command line here.

// actionArgs is the command line the action's inputs make: -C from
// working-directory, --config from config, then the command input split
// into words ("data check" -> data check), without quoting or globbing.
func actionArgs(ci ciprovider.Provider) []string {
	args := []string{"-C", cmp.Or(ci.Input("working-directory"), ".")}
	if c := ci.Input("config"); c != "" {
		args = append(args, "--config", c)
	}
	return append(args, strings.Fields(cmp.Or(ci.Input("command"), "ci"))...)
}

// actionInputs fills flags the user did not set from the inputs of the same
// name (INPUT_BASE, INPUT_COMMENT-MODE, …), so they work for any command
// that has the flag; outside an Action there are none.
func (g *globals) actionInputs(cmd *cobra.Command) error {
	for _, name := range []string{"base", "comment-mode", "fail-on-gate", "data-remote"} {
		f := cmd.Flags().Lookup(name)
		if f == nil || f.Changed {
			continue
		}
		if v := g.ci.Input(name); v != "" {
			if err := f.Value.Set(v); err != nil {
				return usageError(err)
			}
		}
	}
	return nil
}

// newActionCmd is what the action's step runs. It is hidden: it takes its
// whole command line from the inputs, so it means nothing outside a step.
func newActionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "action",
		Short:  "Run the command line the GitHub Action's inputs make",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.ci.Name() != "github" {
				return usageError(errors.New("mlci action runs as a GitHub Actions step, where the runner passes the action's inputs (INPUT_*); run the command itself instead"))
			}
			args := actionArgs(g.ci)
			if firstWord(strings.Fields(g.ci.Input("command"))) == "action" {
				return usageError(errors.New(`the command input cannot be "action" again`))
			}
			// A fresh tree: the flags of this run start from their defaults,
			// as in a new process.
			root := newRoot(g)
			root.SetArgs(args)
			root.SetOut(cmd.OutOrStdout())
			root.SetErr(cmd.ErrOrStderr())
			return root.ExecuteContext(cmd.Context())
		},
	}
}

// firstWord is the first word that is no flag: the command's name.
func firstWord(words []string) string {
	for _, w := range words {
		if !strings.HasPrefix(w, "-") {
			return w
		}
	}
	return ""
}
