package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// actionInputs fills flags the user did not set from the GitHub Action's
// inputs (INPUT_BASE, INPUT_COMMENT-MODE, …), so the action's inputs work for
// any command that has the flag. Names with dashes cannot be read by a shell
// entry point, which is why mlci reads them itself.
func (g *globals) actionInputs(cmd *cobra.Command) error {
	if g.io.Getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	for _, name := range []string{"base", "comment-mode", "fail-on-gate"} {
		f := cmd.Flags().Lookup(name)
		if f == nil || f.Changed {
			continue
		}
		if v := g.io.Getenv("INPUT_" + strings.ToUpper(name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				return usageError(err)
			}
		}
	}
	return nil
}
