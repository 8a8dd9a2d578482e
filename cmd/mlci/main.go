// Command mlci adds ML checks to the CI a team already runs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/mlci/mlci/internal/cli"
)

// version is set with -ldflags "-X main.version=v1.2.3" by release builds.
var version string

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal cancels gracefully; the second forces an exit.
		<-signals
		cancel()
		<-signals
		fmt.Fprintln(os.Stderr, "mlci: interrupted twice; exiting now")
		os.Exit(130)
	}()
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
	cancel()
	os.Exit(code)
}
