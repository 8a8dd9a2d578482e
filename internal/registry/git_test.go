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

func TestEventsIgnoresLightweightTags(t *testing.T) {
	_, dir, commits := setup(t)
	ctx := context.Background()
	reg := Tag{Artifact: "m", Version: "v1.0.0", Kind: KindRegistration}
	rec := Record{Gate: "pass", Version: "v1.0.0"}
	if err := CreateTag(ctx, dir, reg, commits[0], FormatMessage(reg, rec)); err != nil {
		t.Fatal(err)
	}
	gto := Tag{Artifact: "m", Stage: "prod", Counter: 1, Kind: KindAssignment}
	// A tag as GTO writes it: no JSON block.
	run(t, dir, "tag", "-a", gto.String(), commits[0], "-m", "Assigning stage prod to artifact m version v1.0.0")
	run(t, dir, "tag", "m@v2.0.0", commits[1])                         // lightweight: ignored
	run(t, dir, "tag", "-a", "release-1", commits[1], "-m", "release") // not registry grammar
	// A tag of a tag still resolves to its commit.
	run(t, dir, "tag", "-a", "m#dev#2", gto.String(), "-m", "nested")

	events, err := Events(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range events {
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
	if events[0].Record == nil || events[0].Record.Gate != "pass" {
		t.Errorf("registration record = %+v", events[0].Record)
	}
	if events[1].Record != nil {
		t.Errorf("GTO-made tag has record %+v, want nil", events[1].Record)
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
		if a == nil || a.Version != "v1.0.0" || a.Counter != 3 || a.Record == nil || a.Record.Version != "v1.0.0" {
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
		if got := m.NextCounter(); got != 4 {
			t.Errorf("NextCounter = %d, want 4", got)
		}
	})
}

func TestCreateTagNeverOverwrites(t *testing.T) {
	_, dir, commits := setup(t)
	ctx := context.Background()
	tag := Tag{Artifact: "m", Stage: "prod", Counter: 1, Kind: KindAssignment}
	if err := CreateTag(ctx, dir, tag, commits[0], "first"); err != nil {
		t.Fatal(err)
	}
	if err := CreateTag(ctx, dir, tag, commits[1], "second"); !errors.Is(err, ErrExists) {
		t.Fatalf("second CreateTag: %v, want ErrExists", err)
	}
	if got := run(t, dir, "rev-parse", tag.String()+"^{commit}"); got != commits[0] {
		t.Errorf("tag moved to %s", got)
	}
	if err := CreateTag(ctx, dir, Tag{Artifact: "bad name", Kind: KindDeprecation}, commits[0], "x"); err == nil {
		t.Error("CreateTag accepted an invalid name")
	}
}

func TestPushConflict(t *testing.T) {
	remote, dir, commits := setup(t)
	ctx := context.Background()
	other := cloneOf(t, remote)
	tag := Tag{Artifact: "m", Stage: "prod", Counter: 1, Kind: KindAssignment}
	if err := CreateTag(ctx, other, tag, commits[1], "theirs"); err != nil {
		t.Fatal(err)
	}
	if err := Push(ctx, other, "origin", []string{tag.String()}); err != nil {
		t.Fatal(err)
	}
	if err := CreateTag(ctx, dir, tag, commits[0], "ours"); err != nil {
		t.Fatal(err)
	}
	if err := Push(ctx, dir, "origin", []string{tag.String()}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Push: %v, want ErrConflict", err)
	}
}

// helperEnv makes the test binary act as one concurrent promoter.
const helperEnv = "MLCI_REGISTRY_PROMOTE_DIR"

// TestMain lets the test binary act as one concurrent promoter when
// TestConcurrentPromote starts it with helperEnv set.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		tag, err := Promote(context.Background(), dir, "origin", "m", "prod", os.Getenv("MLCI_REGISTRY_VERSION"), Record{}, 10)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Printf("TAG=%s\n", tag)
		os.Exit(0)
	}
	os.Exit(m.Run())
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
			// Separate processes, as two CI jobs would be.
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), helperEnv+"="+c, fmt.Sprintf("MLCI_REGISTRY_VERSION=v%d.0.0", i+1))
			out, err := cmd.CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("promoter %d: %w\n%s", i, err, out)
				return
			}
			for _, line := range strings.Split(string(out), "\n") {
				if s, ok := strings.CutPrefix(line, "TAG="); ok {
					tags[i] = s
				}
			}
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
	counters := map[int]bool{}
	for _, e := range State(events)["m"].History {
		if e.Kind == KindAssignment {
			counters[e.Counter] = true
		}
	}
	if len(counters) != 2 {
		t.Errorf("assignment counters %v, want two distinct", counters)
	}
}
