// Command mlci-runner plugs GPU jobs into the official GitHub Actions
// runner and GitLab Runner: exclusive leases by UUID, job containers,
// cleanup, telemetry and hardware-labelled registration.
package main

import (
	"os"

	"github.com/mlci/mlci/internal/buildinfo"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/runner/runnercli"
)

// Release builds set these with -ldflags "-X main.version=v1.2.3 -X
// main.commit=... -X main.date=..." (see .goreleaser.yaml); -X can only
// reach package-level variables. Left empty, buildinfo reads what the Go
// toolchain recorded.
var version, commit, date string

func main() {
	ctx, stop := exitcode.OnInterrupt("mlci-runner")
	code := runnercli.Execute(ctx, os.Args[1:], runnercli.IO{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Version: buildinfo.Read(buildinfo.Stamp{Version: version, Commit: commit, Date: date}),
	})
	stop()
	os.Exit(code)
}
