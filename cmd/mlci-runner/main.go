// Command mlci-runner plugs GPU jobs into the official GitHub Actions
// runner and GitLab Runner: exclusive leases by UUID, job containers,
// cleanup, telemetry and hardware-labelled registration.
package main

import (
	"os"

	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/runner/runnercli"
)

// version is set with -ldflags "-X main.version=v1.2.3" by release builds.
var version string

func main() {
	ctx, stop := exitcode.OnInterrupt("mlci-runner")
	code := runnercli.Execute(ctx, os.Args[1:], runnercli.IO{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Version: version,
	})
	stop()
	os.Exit(code)
}
