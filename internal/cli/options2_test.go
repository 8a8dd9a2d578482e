package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/buildinfo"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/runrecord"
)

// unregistered is a registry project with nothing registered yet.
func unregistered(t *testing.T) string {
	t.Helper()
	dir, _ := registryProject(t)
	return dir
}

// registered is a registry project whose model digits has v0.0.1
// registered and promoted to dev, set up through the command line.
func registered(t *testing.T) string {
	t.Helper()
	dir, _ := registryProject(t)
	for _, args := range [][]string{
		{"model", "register", "digits", "--baseline", "baseline/metrics.json"},
		{"promote", "digits", "--to", "dev"},
	} {
		if r := run(t, nil, append([]string{"-C", dir}, args...)...); r.code != ExitOK {
			t.Fatalf("%s: exit %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	return dir
}

// twoInDev is registered with v0.0.2 of a changed model promoted to dev
// after v0.0.1, so that dev has a version to roll back to.
func twoInDev(t *testing.T) string {
	t.Helper()
	dir := registered(t)
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights v2")
	git(t, dir, "commit", "-q", "-am", "model v2")
	for _, args := range [][]string{
		{"model", "register", "digits", "--baseline", "baseline/metrics.json"},
		{"promote", "digits", "--to", "dev"},
	} {
		if r := run(t, nil, append([]string{"-C", dir}, args...)...); r.code != ExitOK {
			t.Fatalf("%s: exit %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	return dir
}

// withModelFile is the quick-start project with a model artifact to record.
func withModelFile(t *testing.T) string {
	t.Helper()
	dir := quickstart(t)
	writeFile(t, filepath.Join(dir, "model", "knn.bin"), "weights")
	return dir
}

// storeDir is storeProject's folder: digits and bundle registered to an
// artifact store and promoted to dev.
func storeDir(t *testing.T) string {
	t.Helper()
	dir, _ := storeProject(t)
	return dir
}

// The commands that were last to leave their cobra closures: each run
// function is called with its options as the flags' defaults would leave
// them, and judged by what a user sees: stdout, the files written, the
// class of exit.
func TestRunFunctionsDirect(t *testing.T) {
	origin := registryFlags{remote: "auto"}
	gated := baselineFlags{baseline: []string{"baseline/metrics.json"}}
	tests := []struct {
		name  string
		setup func(t *testing.T) string // the project; quick start when nil
		json  bool
		// run calls the run function; dir is the project, for paths.
		run      func(ctx context.Context, g *globals, dir string) error
		wantCode int
		wantOut  []string // each in stdout
		// check looks at what the command left on disk.
		check func(t *testing.T, dir string)
	}{
		{
			name: "data hash prints each dataset",
			run: func(ctx context.Context, g *globals, _ string) error {
				return runDataHash(ctx, &dataHashOptions{globals: g})
			},
			wantOut: []string{"blake3:", " files", "data/digits"},
		},
		{
			name: "data hash of a path in sha256",
			run: func(ctx context.Context, g *globals, _ string) error {
				return runDataHash(ctx, &dataHashOptions{globals: g, paths: []string{"params.yaml"}, hash: hashFlags{algo: "sha256"}})
			},
			json:    true,
			wantOut: []string{`"digest": "sha256:`, `"files": 1`},
		},
		{
			name: "data hash with an unknown algorithm",
			run: func(ctx context.Context, g *globals, _ string) error {
				return runDataHash(ctx, &dataHashOptions{globals: g, hash: hashFlags{algo: "md5"}})
			},
			wantCode: ExitUsage,
		},
		{
			name:  "data lock records a changed dataset",
			setup: func(t *testing.T) string { dir := quickstart(t); changeThree(t, dir); return dir },
			json:  true,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runDataLock(ctx, &dataLockOptions{globals: g})
			},
			wantOut: []string{`"status": "updated"`, `"name": "digits"`},
			check: func(t *testing.T, dir string) {
				g, _ := direct(dir, true)
				if err := runDataCheck(context.Background(), &dataCheckOptions{globals: g}); err != nil {
					t.Errorf("data check after data lock: %v", err)
				}
			},
		},
		{
			name: "data lock of an unchanged dataset",
			json: true,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runDataLock(ctx, &dataLockOptions{globals: g, paths: []string{"digits"}})
			},
			wantOut: []string{`"status": "unchanged"`},
		},
		{
			name: "metrics show lists every metric",
			run: func(ctx context.Context, g *globals, _ string) error {
				return runMetricsShow(ctx, &metricsShowOptions{globals: g, out: outputFlags{precision: 5}})
			},
			wantOut: []string{"eval.val.accuracy", "0.9714", "train.macro_f1"},
		},
		{
			name: "metrics show as markdown",
			run: func(ctx context.Context, g *globals, _ string) error {
				return runMetricsShow(ctx, &metricsShowOptions{globals: g, out: outputFlags{md: true, precision: 2}})
			},
			wantOut: []string{"| eval.val.loss", "0.39"},
		},
		{
			name:  "model register tags and pushes v0.0.1",
			setup: unregistered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelRegister(ctx, &modelRegisterOptions{globals: g, name: "digits", registry: origin, base: gated})
			},
			wantOut: []string{"registered digits v0.0.1 (sha256:"},
			check: func(t *testing.T, dir string) {
				if tags := remoteTags(t, originOf(t, dir)); !strings.Contains(tags, "digits@v0.0.1\n") {
					t.Errorf("origin lacks digits@v0.0.1:\n%s", tags)
				}
			},
		},
		{
			name:  "model register with an explicit version",
			setup: unregistered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelRegister(ctx, &modelRegisterOptions{globals: g, name: "digits", registry: origin, base: gated, version: "v1.0.0"})
			},
			wantOut: []string{"registered digits v1.0.0"},
		},
		{
			name:  "model register of an unknown model",
			setup: unregistered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelRegister(ctx, &modelRegisterOptions{globals: g, name: "digitz", registry: origin})
			},
			wantCode: ExitUsage,
		},
		{
			name:  "model show names the version in dev",
			setup: registered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelShow(ctx, &modelShowOptions{globals: g, registry: origin})
			},
			wantOut: []string{"MODEL", "digits", "(latest)", "dev", "v0.0.1"},
		},
		{
			name:  "model show of a model never registered",
			setup: registered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelShow(ctx, &modelShowOptions{globals: g, names: []string{"other"}, registry: origin})
			},
			wantCode: ExitUsage,
		},
		{
			name:  "model history lists registration and promotion",
			setup: registered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelHistory(ctx, &modelHistoryOptions{globals: g, name: "digits", registry: origin})
			},
			wantOut: []string{"TIME", "digits@v0.0.1", "digits#dev#1"},
		},
		{
			name:  "model history of an unknown model",
			setup: registered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelHistory(ctx, &modelHistoryOptions{globals: g, name: "other", registry: origin})
			},
			wantCode: ExitUsage,
		},
		{
			name:  "model pull unpacks the version in dev",
			setup: storeDir,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelPull(ctx, &modelPullOptions{globals: g, ref: "digits#dev", registry: origin, output: "pulled"})
			},
			wantOut: []string{"pulled digits#dev (sha256:", "into pulled"},
			check: func(t *testing.T, dir string) {
				if got, _ := os.ReadFile(filepath.Join(dir, "pulled", "knn.bin")); string(got) != "weights v1" {
					t.Errorf("pulled knn.bin = %q", got)
				}
			},
		},
		{
			name:  "model pull without an artifact store",
			setup: registered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runModelPull(ctx, &modelPullOptions{globals: g, ref: "digits#dev", registry: origin})
			},
			wantCode: ExitUsage,
		},
		{
			name:  "promote to staging",
			setup: registered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runPromote(ctx, &promoteOptions{globals: g, name: "digits", registry: origin, to: "staging"})
			},
			wantOut: []string{"promoted digits v0.0.1 to staging (digits#staging#2)"},
			check: func(t *testing.T, dir string) {
				if tags := remoteTags(t, originOf(t, dir)); !strings.Contains(tags, "digits#staging#2\n") {
					t.Errorf("origin lacks digits#staging#2:\n%s", tags)
				}
			},
		},
		{
			name:  "promote past a required stage",
			setup: unregistered,
			run: func(ctx context.Context, g *globals, _ string) error {
				reg := &modelRegisterOptions{globals: g, name: "digits", registry: origin, base: gated}
				if err := runModelRegister(ctx, reg); err != nil {
					return err
				}
				return runPromote(ctx, &promoteOptions{globals: g, name: "digits", registry: origin, to: "staging"})
			},
			wantCode: ExitFailed,
		},
		{
			name:  "promote to an unknown stage",
			setup: registered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runPromote(ctx, &promoteOptions{globals: g, name: "digits", registry: origin, to: "qa"})
			},
			wantCode: ExitUsage,
		},
		{
			name:  "rollback returns dev to the version before",
			setup: twoInDev,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runRollback(ctx, &rollbackOptions{globals: g, name: "digits", registry: origin, stage: "dev"})
			},
			wantOut: []string{"rolled back digits v0.0.1 to dev (digits#dev#3)"},
		},
		{
			name:  "rollback of a stage held by one version only",
			setup: registered,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runRollback(ctx, &rollbackOptions{globals: g, name: "digits", registry: origin, stage: "dev"})
			},
			wantCode: ExitUsage,
		},
		{
			name:  "run record writes the statement",
			setup: withModelFile,
			json:  true,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runRunRecord(ctx, &runRecordOptions{globals: g, subjects: []string{"model/knn.bin"}, output: "run.json"})
			},
			wantOut: []string{`"run_identity": "blake3:`, `"model/knn.bin": "sha256:`},
			check: func(t *testing.T, dir string) {
				st, err := runrecord.Read(filepath.Join(dir, "run.json"))
				if err != nil {
					t.Fatalf("the record does not read back: %v", err)
				}
				if len(st.Subject) != 1 || st.Subject[0].Name != "model/knn.bin" {
					t.Errorf("subjects = %+v", st.Subject)
				}
			},
		},
		{
			name: "run record with nothing to record",
			run: func(ctx context.Context, g *globals, _ string) error {
				return runRunRecord(ctx, &runRecordOptions{globals: g})
			},
			wantCode: ExitUsage,
		},
		{
			name:  "run record with a malformed image digest",
			setup: withModelFile,
			run: func(ctx context.Context, g *globals, _ string) error {
				return runRunRecord(ctx, &runRecordOptions{globals: g, subjects: []string{"model/knn.bin"}, image: "latest"})
			},
			wantCode: ExitUsage,
		},
		{
			name: "version prints the build it is given",
			run: func(ctx context.Context, g *globals, _ string) error {
				g.io.Version = buildinfo.Info{Version: "v1.2.3", Go: "go1.26"}
				return runVersion(ctx, &versionOptions{globals: g})
			},
			wantOut: []string{"mlci v1.2.3 (go1.26)\n"},
		},
		{
			name: "version as JSON",
			json: true,
			run: func(ctx context.Context, g *globals, _ string) error {
				g.io.Version = buildinfo.Info{Version: "v1.2.3", Go: "go1.26"}
				return runVersion(ctx, &versionOptions{globals: g})
			},
			wantOut: []string{`"version": "v1.2.3"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup := tt.setup
			if setup == nil {
				setup = quickstart
			}
			dir := setup(t)
			// -o and relative paths resolve against the work directory,
			// never the process's.
			t.Chdir(t.TempDir())
			g, stdout := direct(dir, tt.json)
			err := tt.run(context.Background(), g, dir)
			if code := exitcode.Of(err, ExitOK); code != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d; stdout:\n%s", code, err, tt.wantCode, stdout)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if tt.check != nil {
				tt.check(t, dir)
			}
		})
	}
}

// originOf is the path of the bare repository a registry project pushes to.
func originOf(t *testing.T, dir string) string {
	t.Helper()
	out, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if url, ok := strings.CutPrefix(strings.TrimSpace(line), "url = "); ok {
			return url
		}
	}
	t.Fatal("no origin in .git/config")
	return ""
}
