package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/gitrepo"
)

// gitEnv fixes identity and hides the user's git config, so tests behave
// the same on every machine. It uses t.Setenv, so these tests are serial.
func gitEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
		"GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
		"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
	} {
		t.Setenv(k, v)
	}
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := git(context.Background(), dir, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// setup makes a bare remote and a clone of it with two pushed commits.
func setup(t *testing.T) (remote, clone string, commits []string) {
	t.Helper()
	gitEnv(t)
	root := t.TempDir()
	remote = filepath.Join(root, "remote.git")
	clone = filepath.Join(root, "a")
	run(t, root, "init", "--quiet", "--bare", "-b", "main", remote)
	run(t, root, "clone", "--quiet", remote, clone)
	for i := range 2 {
		if err := os.WriteFile(filepath.Join(clone, "f"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, clone, "add", "f")
		run(t, clone, "commit", "--quiet", "-m", fmt.Sprint("c", i))
		commits = append(commits, run(t, clone, "rev-parse", "HEAD"))
	}
	run(t, clone, "push", "--quiet", "origin", "HEAD:main")
	return remote, clone, commits
}

func cloneOf(t *testing.T, remote string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	run(t, filepath.Dir(dir), "clone", "--quiet", remote, dir)
	return dir
}

func TestEventsMarksLightweightTags(t *testing.T) {
	_, dir, commits := setup(t)
	ctx := context.Background()
	if _, err := Register(ctx, dir, "", "m", "v1.0.0", commits[0], Record{Gate: "pass"}); err != nil {
		t.Fatal(err)
	}
	gto := Tag{Artifact: "m", Stage: "prod", Counter: "1", Kind: KindAssignment}
	// A tag as GTO writes it: no JSON block.
	run(t, dir, "tag", "-a", gto.String(), commits[0], "-m", "Assigning stage prod to artifact m version v1.0.0")
	run(t, dir, "tag", "m@v2.0.0", commits[1])                         // lightweight: marked
	run(t, dir, "tag", "-a", "release-1", commits[1], "-m", "release") // not registry grammar
	// A tag of a tag still resolves to its commit.
	run(t, dir, "tag", "-a", "m#dev#2", gto.String(), "-m", "nested")

	events, err := Events(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range events {
		if e.Lightweight {
			if e.Name != "m@v2.0.0" || e.Commit != commits[1] || !e.Time.IsZero() {
				t.Errorf("lightweight event %+v", e)
			}
			continue
		}
		names = append(names, e.Name)
		if e.Commit != commits[0] {
			t.Errorf("%s: commit %s, want %s", e.Name, e.Commit, commits[0])
		}
		if e.Tagger != "Test" || e.Time.IsZero() {
			t.Errorf("%s: tagger %q, time %v", e.Name, e.Tagger, e.Time)
		}
	}
	if want := "m@v1.0.0 m#prod#1 m#dev#2"; strings.Join(names, " ") != want {
		t.Fatalf("events %q, want %q", strings.Join(names, " "), want)
	}
	if events[1].Record == nil || events[1].Record.Gate != "pass" || events[1].Record.Version != "v1.0.0" {
		t.Errorf("registration record = %+v", events[1].Record)
	}
	if events[2].Record != nil {
		t.Errorf("GTO-made tag has record %+v, want nil", events[2].Record)
	}
	if m := State(events)["m"]; len(m.Versions) != 1 || len(m.History) != 3 {
		t.Errorf("State counts the lightweight tag: %+v", m)
	}
}

func TestRegisterAndPromote(t *testing.T) {
	remote, dir, commits := setup(t)
	ctx := context.Background()
	for i, v := range []string{"v1.0.0", "v2.0.0"} {
		if _, err := Register(ctx, dir, "origin", "m", v, commits[i], Record{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("existing version", func(t *testing.T) {
		_, err := Register(ctx, dir, "origin", "m", "v1.0.0", commits[1], Record{})
		if !errors.Is(err, ErrExists) {
			t.Fatalf("Register of an existing version: %v, want ErrExists", err)
		}
	})
	t.Run("unregistered version", func(t *testing.T) {
		_, err := Promote(ctx, dir, "origin", "m", "prod", "v9.0.0", Record{}, 3)
		if err == nil || !strings.Contains(err.Error(), "m v9.0.0 is not registered; run mlci model register") {
			t.Fatalf("Promote of an unregistered version: %v", err)
		}
	})
	t.Run("rollback", func(t *testing.T) {
		for _, v := range []string{"v1.0.0", "v2.0.0", "v1.0.0"} {
			if _, err := Promote(ctx, dir, "origin", "m", "prod", v, Record{Gate: "pass"}, 3); err != nil {
				t.Fatal(err)
			}
		}
		// Read from a fresh clone: the state must come from the remote.
		other := cloneOf(t, remote)
		events, err := Events(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		m := State(events)["m"]
		a := m.Stages["prod"]
		if a == nil || a.Version != "v1.0.0" || a.Counter != "3" || a.Record == nil || a.Record.Version != "v1.0.0" {
			t.Fatalf("prod holder = %+v, want v1.0.0 with counter 3", a)
		}
		var hist []string
		for _, e := range m.History {
			if e.Kind == KindAssignment {
				hist = append(hist, fmt.Sprint(e.Name, "=", e.Commit[:7]))
			}
		}
		want := []string{"m#prod#1=" + commits[0][:7], "m#prod#2=" + commits[1][:7], "m#prod#3=" + commits[0][:7]}
		if strings.Join(hist, " ") != strings.Join(want, " ") {
			t.Errorf("history %v, want %v", hist, want)
		}
		if got := m.NextCounter(); got != "4" {
			t.Errorf("NextCounter = %s, want 4", got)
		}
	})
}

func TestPublishNeverOverwrites(t *testing.T) {
	_, dir, commits := setup(t)
	ctx := context.Background()
	tag := Tag{Artifact: "m", Stage: "prod", Counter: "1", Kind: KindAssignment}
	tagger, _, err := taggerIdent(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, msg := range []string{"first", "second"} {
		oid, err := writeTag(ctx, dir, tag, commits[i], tagger, msg)
		if err != nil {
			t.Fatal(err)
		}
		err = publish(ctx, dir, "", []ref{{"refs/tags/" + tag.String(), oid}})
		if i == 1 && !errors.Is(err, ErrExists) {
			t.Fatalf("second publish: %v, want ErrExists", err)
		} else if i == 0 && err != nil {
			t.Fatal(err)
		}
	}
	if got := run(t, dir, "rev-parse", tag.String()+"^{commit}"); got != commits[0] {
		t.Errorf("tag moved to %s", got)
	}
	if _, err := writeTag(ctx, dir, Tag{Artifact: "bad name", Kind: KindDeprecation}, commits[0], tagger, "x"); err == nil {
		t.Error("writeTag accepted an invalid name")
	}
}

func TestPushConflict(t *testing.T) {
	remote, dir, commits := setup(t)
	ctx := context.Background()
	other := cloneOf(t, remote)
	tag := Tag{Artifact: "m", Stage: "prod", Counter: "1", Kind: KindAssignment}
	for i, d := range []string{other, dir} {
		tagger, _, err := taggerIdent(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		oid, err := writeTag(ctx, d, tag, commits[1-i], tagger, d)
		if err != nil {
			t.Fatal(err)
		}
		err = publish(ctx, d, "origin", []ref{{"refs/tags/" + tag.String(), oid}})
		if i == 0 && err != nil {
			t.Fatal(err)
		}
		if i == 1 && !errors.Is(err, ErrConflict) {
			t.Fatalf("second publish: %v, want ErrConflict", err)
		}
	}
	if tags := localTags(t, dir); tags != "" {
		t.Errorf("the losing clone has local tags %q", tags)
	}
}

// helperEnv makes the test binary act as one concurrent registry writer:
// TestMain runs "promote" or "register" in the clone named by
// MLCI_REGISTRY_DIR, prints the tag and exits.
const helperEnv = "MLCI_REGISTRY_HELPER"

// TestMain lets the test binary act as a second process, as a second CI
// job would be.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		// A remote's hook may kill this process mid-push by this id.
		os.Setenv("MLCI_REGISTRY_PID", fmt.Sprint(os.Getpid()))
		ctx, dir := context.Background(), os.Getenv("MLCI_REGISTRY_DIR")
		var tag Tag
		var err error
		switch mode {
		case "promote":
			tag, err = Promote(ctx, dir, "origin", "m", os.Getenv("MLCI_REGISTRY_STAGE"), os.Getenv("MLCI_REGISTRY_VERSION"), Record{}, 10)
		case "register":
			tag, err = Register(ctx, dir, "origin", "m", os.Getenv("MLCI_REGISTRY_VERSION"), "HEAD", Record{})
		}
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Printf("TAG=%s\n", tag)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper runs the test binary as another process doing mode with env.
func helper(mode, dir string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "MLCI_REGISTRY_DIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// helperTag runs cmd and returns the tag it printed.
func helperTag(cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", cmd.Env[len(cmd.Env)-1], err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "TAG="); ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("no tag in %q", out)
}

func TestConcurrentPromote(t *testing.T) {
	remote, dir, commits := setup(t)
	ctx := context.Background()
	for i, v := range []string{"v1.0.0", "v2.0.0"} {
		if _, err := Register(ctx, dir, "origin", "m", v, commits[i], Record{}); err != nil {
			t.Fatal(err)
		}
	}
	clones := []string{cloneOf(t, remote), cloneOf(t, remote)}
	tags := make([]string, len(clones))
	errs := make([]error, len(clones))
	var wg sync.WaitGroup
	for i, c := range clones {
		wg.Go(func() {
			tags[i], errs[i] = helperTag(helper("promote", c, "MLCI_REGISTRY_STAGE=prod", fmt.Sprintf("MLCI_REGISTRY_VERSION=v%d.0.0", i+1)))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if tags[0] == "" || tags[0] == tags[1] {
		t.Fatalf("tags %q: want two distinct tags", tags)
	}
	remoteTags := run(t, dir, "ls-remote", "--tags", "origin")
	for _, tag := range tags {
		if !strings.Contains(remoteTags, "refs/tags/"+tag+"\n") && !strings.HasSuffix(remoteTags, "refs/tags/"+tag) {
			t.Errorf("%s missing on the remote:\n%s", tag, remoteTags)
		}
	}
	events, err := Events(ctx, cloneOf(t, remote))
	if err != nil {
		t.Fatal(err)
	}
	counters := map[string]bool{}
	for _, e := range State(events)["m"].History {
		if e.Kind == KindAssignment {
			counters[fmt.Sprint(e.Counter)] = true
		}
	}
	if len(counters) != 2 {
		t.Errorf("assignment counters %v, want two distinct", counters)
	}
}

// TestConcurrentPromoteStages promotes one model to two stages at once, in
// rounds: GTO's counter is one per model, so the two tags of a round must
// not share it even though their names differ.
func TestConcurrentPromoteStages(t *testing.T) {
	remote, dir, commits := setup(t)
	ctx := context.Background()
	if _, err := Register(ctx, dir, "origin", "m", "v1.0.0", commits[0], Record{}); err != nil {
		t.Fatal(err)
	}
	// A slow remote makes both promoters read the tags before either
	// push lands, as two CI jobs started together do.
	hook(t, remote, "sleep 0.3")
	clones := []string{cloneOf(t, remote), cloneOf(t, remote)}
	stages := []string{"dev", "qa"}
	for round := range 2 {
		tags := make([]string, len(clones))
		errs := make([]error, len(clones))
		var wg sync.WaitGroup
		for i, c := range clones {
			wg.Go(func() {
				tags[i], errs[i] = helperTag(helper("promote", c, "MLCI_REGISTRY_STAGE="+stages[i], "MLCI_REGISTRY_VERSION=v1.0.0"))
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	events, err := Events(ctx, cloneOf(t, remote))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range State(events)["m"].History {
		if e.Kind != KindAssignment {
			continue
		}
		c := fmt.Sprint(e.Counter)
		if other, dup := seen[c]; dup {
			t.Errorf("%s and %s share counter %s", other, e.Name, c)
		}
		seen[c] = e.Name
	}
	if len(seen) != 4 {
		t.Errorf("assignments %v, want 4", seen)
	}
}

// hook installs a pre-receive hook running script in the bare remote.
func hook(t *testing.T, remote, script string) {
	t.Helper()
	path := filepath.Join(remote, "hooks", "pre-receive")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func localTags(t *testing.T, dir string) string {
	t.Helper()
	return run(t, dir, "tag", "-l")
}

// TestFailedPushLeavesNoTag: a register whose push fails, or that is
// killed while pushing, leaves no local tag, so the next register takes
// the same version.
func TestFailedPushLeavesNoTag(t *testing.T) {
	for _, tt := range []struct{ name, hook string }{
		{"remote rejects", "exit 1"},
		{"killed while pushing", `kill -9 "$MLCI_REGISTRY_PID"; exit 1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			remote, dir, _ := setup(t)
			hook(t, remote, tt.hook)
			if tag, err := helperTag(helper("register", dir, "MLCI_REGISTRY_VERSION=v0.0.1")); err == nil {
				t.Fatalf("register pushed %s through a rejecting remote", tag)
			}
			if tags := localTags(t, dir); tags != "" {
				t.Fatalf("local tags after the failed push: %q", tags)
			}
			ctx := context.Background()
			events, err := Events(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			if m := State(events)["m"]; m != nil {
				t.Fatalf("registry after the failed push: %+v", m.Versions)
			}
			hook(t, remote, "exit 0")
			tag, err := Register(ctx, dir, "origin", "m", "v0.0.1", "HEAD", Record{})
			if err != nil || tag.String() != "m@v0.0.1" {
				t.Fatalf("next register: %v, %v", tag, err)
			}
			if got := run(t, dir, "ls-remote", "--tags", "origin"); !strings.Contains(got, "refs/tags/m@v0.0.1") {
				t.Errorf("remote tags: %q", got)
			}
		})
	}
}

// TestRegisterOneVersionPerCommit: GTO refuses a second version on a
// commit (VersionExistsForCommit) and a version name used before
// (VersionAlreadyRegistered), even one deregistered since.
func TestRegisterOneVersionPerCommit(t *testing.T) {
	_, dir, commits := setup(t)
	ctx := context.Background()
	if _, err := Register(ctx, dir, "origin", "m", "v0.0.2", commits[0], Record{}); err != nil {
		t.Fatal(err)
	}
	_, err := Register(ctx, dir, "origin", "m", "v0.0.3", commits[0], Record{})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "m is already registered at commit "+commits[0][:7]+" with version v0.0.2") {
		t.Fatalf("second version on a commit: %v", err)
	}
	if strings.Contains(localTags(t, dir), "v0.0.3") {
		t.Error("the refused tag was created")
	}
	// A deregistered version's name stays taken, as in GTO.
	run(t, dir, "tag", "-a", "m@v0.0.2!", commits[0], "-m", "Deregistering artifact m version v0.0.2")
	_, err = Register(ctx, dir, "", "m", "v0.0.2", commits[1], Record{})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "m v0.0.2 was registered before") {
		t.Fatalf("deregistered version name: %v", err)
	}
	if _, err := Register(ctx, dir, "", "m", "v0.0.3", commits[1], Record{}); err != nil {
		t.Fatalf("new version on a new commit: %v", err)
	}
}

func TestPromoteRefusesDeprecated(t *testing.T) {
	_, dir, commits := setup(t)
	ctx := context.Background()
	if _, err := Register(ctx, dir, "origin", "m", "v1.0.0", commits[0], Record{}); err != nil {
		t.Fatal(err)
	}
	env := "GIT_COMMITTER_DATE=" + time.Now().Add(time.Minute).Format(time.RFC3339)
	cmd := exec.Command("git", "tag", "-a", "m@deprecated", commits[0], "-m", "Deprecating artifact m")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	_, err := Promote(ctx, dir, "", "m", "prod", "v1.0.0", Record{}, 1)
	if !errors.Is(err, ErrDeprecated) {
		t.Fatalf("Promote of a deprecated model: %v", err)
	}
	_, err = Register(ctx, dir, "", "m", "v2.0.0", commits[1], Record{})
	if !errors.Is(err, ErrDeprecated) {
		t.Fatalf("Register of a deprecated model: %v", err)
	}
}

// TestNextCounterCountsLightweightTags: GTO's name_tag counts every tag
// name, lightweight ones too, though its state ignores them.
func TestNextCounterCountsLightweightTags(t *testing.T) {
	_, dir, commits := setup(t)
	ctx := context.Background()
	if _, err := Register(ctx, dir, "", "m", "v1.0.0", commits[0], Record{}); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "tag", "m#prod#7", commits[1])
	tag, err := Promote(ctx, dir, "", "m", "dev", "v1.0.0", Record{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tag.String() != "m#dev#8" {
		t.Errorf("tag %s, want m#dev#8", tag)
	}
}

// TestPromoteSupersedes: GTO orders a stage's tags by their date, to the
// second; a promotion right after another must still be the later one.
func TestPromoteSupersedes(t *testing.T) {
	_, dir, commits := setup(t)
	ctx := context.Background()
	for i, v := range []string{"v1.0.0", "v2.0.0"} {
		if _, err := Register(ctx, dir, "", "m", v, commits[i], Record{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"v1.0.0", "v2.0.0", "v1.0.0"} {
		if _, err := Promote(ctx, dir, "", "m", "prod", v, Record{}, 1); err != nil {
			t.Fatal(err)
		}
	}
	events, err := Events(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for _, e := range events {
		if e.Kind != KindAssignment {
			continue
		}
		if !e.Time.After(last) {
			t.Errorf("%s dated %v, not after the previous assignment's %v", e.Name, e.Time, last)
		}
		last = e.Time
	}
}

// TestRegisterWithoutIdentity: a hosted runner, or a scratch image with no
// passwd entry, gives git no identity; registration still tags, as mlci,
// and a configured identity still wins.
func TestRegisterWithoutIdentity(t *testing.T) {
	_, dir, commits := setup(t)
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	ctx := context.Background()
	tag, err := Register(ctx, dir, "origin", "m", "v1.0.0", commits[1], Record{Path: "m.bin"})
	if err != nil {
		t.Fatalf("register without an identity: %v", err)
	}
	if got := run(t, dir, "for-each-ref", "--format=%(taggeremail)", "refs/tags/"+tag.String()); got != "<"+gitrepo.FallbackEmail+">" {
		t.Errorf("tagger email %s, want %s", got, gitrepo.FallbackEmail)
	}
}
