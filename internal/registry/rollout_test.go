package registry

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// rolloutFixture registers v1.0.0 (holding prod) and v2.0.0, the canary.
func rolloutFixture(t *testing.T) (remote, dir string, commits []string) {
	t.Helper()
	remote, dir, commits = setup(t)
	ctx := context.Background()
	for i, v := range []string{"v1.0.0", "v2.0.0"} {
		if _, err := Register(ctx, dir, "origin", "m", v, commits[i], Record{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Promote(ctx, dir, "origin", "m", "prod", "v1.0.0", Record{}, 3); err != nil {
		t.Fatal(err)
	}
	return remote, dir, commits
}

func step(seq int, action string, share float64, commit string) RolloutStep {
	return RolloutStep{Model: "m", Stage: "prod", Seq: seq, Action: action, Canary: "v2.0.0", Stable: "v1.0.0",
		Share: share, Step: seq, Steps: []float64{20, 100}, Commit: commit, Reason: "test"}
}

// holder reads the stage's holder the way GTO does, from refs/tags of a
// fresh clone of the remote.
func holder(t *testing.T, remote string) string {
	t.Helper()
	events, err := Events(context.Background(), cloneOf(t, remote))
	if err != nil {
		t.Fatal(err)
	}
	if a := State(events)["m"].Stages["prod"]; a != nil {
		return a.Version
	}
	return ""
}

func TestRolloutStepsStayOutOfGTOsTags(t *testing.T) {
	remote, dir, commits := rolloutFixture(t)
	ctx := context.Background()
	tagsBefore := run(t, dir, "ls-remote", "--tags", "origin")
	if _, err := RecordStep(ctx, dir, "origin", step(1, RolloutStart, 20, commits[1])); err != nil {
		t.Fatal(err)
	}
	if got := run(t, dir, "ls-remote", "--tags", "origin"); got != tagsBefore {
		t.Errorf("a rollout step changed the remote's tags:\n%s\nwant\n%s", got, tagsBefore)
	}
	if h := holder(t, remote); h != "v1.0.0" {
		t.Errorf("prod holder at 20%% = %q, want the stable v1.0.0", h)
	}

	// Another machine reads the step from the remote.
	other := cloneOf(t, remote)
	if err := FetchRollouts(ctx, other, "origin"); err != nil {
		t.Fatal(err)
	}
	steps, err := RolloutSteps(ctx, other, "m", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0].Share != 20 || steps[0].Canary != "v2.0.0" || steps[0].Commit != commits[1] || steps[0].Time.IsZero() {
		t.Fatalf("steps read back = %+v", steps)
	}
	if typ := run(t, other, "cat-file", "-t", steps[0].Ref); typ != "tag" {
		t.Errorf("step %s is a %s, want an annotated tag object", steps[0].Ref, typ)
	}

	s, tag, err := CompleteRollout(ctx, other, "origin", step(2, RolloutComplete, 100, commits[1]), Record{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if tag.String() != "m#prod#2" || s.Tag != tag.String() {
		t.Errorf("complete wrote %s (step says %q), want m#prod#2", tag, s.Tag)
	}
	if h := holder(t, remote); h != "v2.0.0" {
		t.Errorf("prod holder at 100%% = %q, want the canary v2.0.0", h)
	}
}

// TestRolloutStepRace: two runs read the same last step and both try to
// write the next one; one wins, the other writes nothing.
func TestRolloutStepRace(t *testing.T) {
	remote, a, commits := rolloutFixture(t)
	ctx := context.Background()
	if _, err := RecordStep(ctx, a, "origin", step(1, RolloutStart, 20, commits[1])); err != nil {
		t.Fatal(err)
	}
	b := cloneOf(t, remote)
	if _, err := RecordStep(ctx, a, "origin", step(2, RolloutRollback, 0, commits[1])); err != nil {
		t.Fatal(err)
	}
	tagsBefore := run(t, b, "ls-remote", "--tags", "origin")
	_, _, err := CompleteRollout(ctx, b, "origin", step(2, RolloutComplete, 100, commits[1]), Record{}, 3)
	if !errors.Is(err, ErrStepTaken) {
		t.Fatalf("the losing run's complete: %v, want ErrStepTaken", err)
	}
	if got := run(t, b, "ls-remote", "--tags", "origin"); got != tagsBefore {
		t.Errorf("the losing complete left a tag on the remote:\n%s", got)
	}
	if h := holder(t, remote); h != "v1.0.0" {
		t.Errorf("prod holder = %q after a rollback won, want v1.0.0", h)
	}
	_, err = RecordStep(ctx, b, "origin", step(2, RolloutAdvance, 100, commits[1]))
	if !errors.Is(err, ErrStepTaken) || !strings.Contains(err.Error(), "another run recorded step 000002 first") {
		t.Fatalf("the losing run's step: %v, want ErrStepTaken naming the step", err)
	}
	if err := FetchRollouts(ctx, b, "origin"); err != nil {
		t.Fatal(err)
	}
	steps, err := RolloutSteps(ctx, b, "m", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[1].Action != RolloutRollback {
		t.Errorf("steps after the race = %+v, want start then the winner's rollback", steps)
	}
}

// TestRolloutStepsLocal: without a remote, the same step twice is refused.
func TestRolloutStepsLocal(t *testing.T) {
	_, dir, commits := rolloutFixture(t)
	ctx := context.Background()
	if _, err := RecordStep(ctx, dir, "", step(1, RolloutStart, 20, commits[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := RecordStep(ctx, dir, "", step(1, RolloutAbort, 0, commits[1])); !errors.Is(err, ErrStepTaken) {
		t.Fatalf("a second step 1: %v, want ErrStepTaken", err)
	}
}

// TestRegisterKeepsTheProfile: a registration's profile blob travels with
// its tag, and a fresh clone reads it back.
func TestRegisterKeepsTheProfile(t *testing.T) {
	remote, dir, commits := setup(t)
	ctx := context.Background()
	p, err := WriteBlob(ctx, dir, []byte(`{"format": 1}`))
	if err != nil || !strings.HasPrefix(p, "git:") {
		t.Fatalf("WriteBlob = %q, %v", p, err)
	}
	if _, err := Register(ctx, dir, "origin", "m", "v1.0.0", commits[0], Record{Profile: p}); err != nil {
		t.Fatal(err)
	}
	other := cloneOf(t, remote)
	if _, err := ReadBlob(ctx, other, "origin", "m", p, 4); err == nil || !strings.Contains(err.Error(), "over the") {
		t.Errorf("a profile over the limit: %v", err)
	}
	got, err := ReadBlob(ctx, other, "origin", "m", p, 1<<20)
	if err != nil || string(got) != `{"format": 1}` {
		t.Fatalf("ReadBlob from a fresh clone = %q, %v", got, err)
	}
	if _, err := ReadBlob(ctx, other, "origin", "m", "git:0000000000000000000000000000000000000001", 1<<20); err == nil {
		t.Error("reading a profile nobody pushed succeeded")
	}
}
