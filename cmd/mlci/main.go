// Command mlci adds ML checks to the CI a team already runs.
package main

import (
	"os"

	"golang.org/x/term"

	"github.com/mlci/mlci/internal/cli"
	"github.com/mlci/mlci/internal/exitcode"
)

// version is set with -ldflags "-X main.version=v1.2.3" by release builds.
var version string

func main() {
	ctx, stop := exitcode.OnInterrupt("mlci")
	stderrFd := int(os.Stderr.Fd())
	width := 0
	if term.IsTerminal(stderrFd) {
		width, _, _ = term.GetSize(stderrFd)
	}
	code := cli.Execute(ctx, os.Args[1:], cli.IO{
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
		Getenv:         os.Getenv,
		StderrTerminal: term.IsTerminal(stderrFd),
		Width:          width,
		Version:        version,
	})
	stop()
	os.Exit(code)
}
