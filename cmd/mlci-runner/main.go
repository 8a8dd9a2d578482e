// Command mlci-runner plugs GPU jobs into the official GitHub Actions
// runner and GitLab Runner: exclusive leases by UUID, job containers,
// cleanup, telemetry and hardware-labelled registration.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlci/mlci/runner/runnercli"
)

// version is set with -ldflags "-X main.version=v1.2.3" by release builds.
var version string

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	// GitLab Runner sends SIGTERM on cancel or timeout and SIGKILL after
	// its grace period; the first signal stops gracefully.
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel()
		<-signals
		fmt.Fprintln(os.Stderr, "mlci-runner: interrupted twice; exiting now")
		os.Exit(130)
	}()
	code := runnercli.Execute(ctx, os.Args[1:], runnercli.IO{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Version: version,
	})
	cancel()
	os.Exit(code)
}
