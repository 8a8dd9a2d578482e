// Command mlci adds ML checks to the CI a team already runs.
package main

import (
	"os"

	"golang.org/x/term"

	"github.com/mlci/mlci/internal/buildinfo"
	"github.com/mlci/mlci/internal/cli"
	"github.com/mlci/mlci/internal/exitcode"
)

// Release builds set these with -ldflags "-X main.version=v1.2.3 -X
// main.commit=... -X main.date=..." (see .goreleaser.yaml); -X can only
// reach package-level variables. Left empty, buildinfo reads what the Go
// toolchain recorded.
var version, commit, date string

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
		Version:        buildinfo.Read(buildinfo.Stamp{Version: version, Commit: commit, Date: date}),
	})
	stop()
	os.Exit(code)
}
