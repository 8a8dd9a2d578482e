package cli

import (
	"github.com/spf13/cobra"
)

// actionInputs fills flags the user did not set from the GitHub Action's
// inputs (INPUT_BASE, INPUT_COMMENT-MODE, …), so the action's inputs work for
// any command that has the flag; outside an Action there are none.
func (g *globals) actionInputs(cmd *cobra.Command) error {
	for _, name := range []string{"base", "comment-mode", "fail-on-gate"} {
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
