package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/ciprovider"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/forge"
)

// direct is a command's globals as its flags leave them, for calling a run
// function without the command tree.
func direct(dir string, json bool) (*globals, *bytes.Buffer) {
	var stdout bytes.Buffer
	getenv := func(string) string { return "" }
	return &globals{
		io:      IO{Stdout: &stdout, Stderr: &bytes.Buffer{}, Getenv: getenv},
		ci:      ciprovider.Detect(getenv, ciprovider.Options{Stdout: &stdout}),
		workDir: dir,
		json:    json,
		quiet:   true,
	}, &stdout
}

// The run functions take their options as the flags fill them, so the
// work of a command is tested apart from its flags.
func TestRunFunctions(t *testing.T) {
	tests := []struct {
		name string
		// change alters the quick-start project first.
		change   func(t *testing.T, dir string)
		run      func(ctx context.Context, g *globals) error
		wantCode int
		wantOut  string
	}{
		{
			name: "data check passes",
			run: func(ctx context.Context, g *globals) error {
				return runDataCheck(ctx, &dataCheckOptions{globals: g, limit: 20})
			},
			wantOut: `"ok": true`,
		},
		{
			name:   "data check names the changed files",
			change: changeThree,
			run: func(ctx context.Context, g *globals) error {
				return runDataCheck(ctx, &dataCheckOptions{globals: g, limit: 20})
			},
			wantCode: ExitFailed,
			wantOut:  `"path": "train/3/3-000.pgm"`,
		},
		{
			name: "data check of an unknown dataset",
			run: func(ctx context.Context, g *globals) error {
				return runDataCheck(ctx, &dataCheckOptions{globals: g, names: []string{"nope"}})
			},
			wantCode: ExitUsage,
		},
		{
			name: "gate against a baseline file",
			run: func(ctx context.Context, g *globals) error {
				return runGate(ctx, &gateOptions{globals: g, base: baselineFlags{baseline: []string{"baseline/metrics.json"}}, out: outputFlags{precision: 5}})
			},
			wantOut: `"pass": true`,
		},
		{
			name: "gate with both --base and --baseline",
			run: func(ctx context.Context, g *globals) error {
				return runGate(ctx, &gateOptions{globals: g, base: baselineFlags{base: "main", baseline: []string{"baseline/metrics.json"}}})
			},
			wantCode: ExitUsage,
		},
		{
			name: "params diff",
			run: func(ctx context.Context, g *globals) error {
				return runMetricsDiff(ctx, &metricsDiffOptions{globals: g, kind: "params", base: baselineFlags{baseline: []string{"baseline/params.yaml"}}, out: outputFlags{precision: 5}})
			},
			wantOut: `"path": "params.yaml"`,
		},
		{
			name: "ci posts locally and passes",
			run: func(ctx context.Context, g *globals) error {
				return runCI(ctx, &ciOptions{globals: g,
					base: baselineFlags{baseline: []string{"baseline/metrics.json"}},
					out:  outputFlags{precision: 5},
					post: postFlags{forge: "local", mode: forge.ModeUpdate, id: "default", failOnGate: true, release: "auto"},
				})
			},
			wantOut: `"forge": "local"`,
		},
		{
			name: "ci refuses an unknown comment mode",
			run: func(ctx context.Context, g *globals) error {
				return runCI(ctx, &ciOptions{globals: g, post: postFlags{forge: "local", mode: "sometimes"}})
			},
			wantCode: ExitUsage,
		},
		{
			name: "report renders without posting",
			run: func(ctx context.Context, g *globals) error {
				return runReport(ctx, &reportOptions{globals: g,
					base:      baselineFlags{baseline: []string{"baseline/metrics.json"}},
					post:      postFlags{mode: forge.ModeUpdate},
					precision: 5,
				})
			},
			wantOut: `"summary": "`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := quickstart(t)
			if tt.change != nil {
				tt.change(t, dir)
			}
			g, stdout := direct(dir, true)
			err := tt.run(context.Background(), g)
			if code := exitcode.Of(err, ExitOK); code != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.wantCode == ExitOK && !json.Valid(stdout.Bytes()) {
				t.Errorf("stdout is not JSON:\n%s", stdout)
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, stdout)
			}
		})
	}
}

func TestRunDataDiffDirect(t *testing.T) {
	dir := prRepo(t)
	g, stdout := direct(dir, false)
	if err := runDataDiff(context.Background(), &dataDiffOptions{globals: g, base: "main"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "comparing mlci.lock with main (") || !strings.Contains(stdout.String(), "+1 -1 ~1") {
		t.Errorf("data diff:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "mlci-report.md")); !os.IsNotExist(err) {
		t.Errorf("data diff wrote a report: %v", err)
	}
}
