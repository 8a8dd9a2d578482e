//go:build integration

package glexec

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mlci/mlci/runner/lease"
)

// testIdentity runs the attacks on a job's identity against the real
// engine: each fails on an executor that names jobs from CUSTOM_ENV_
// variables or replaces any container under its name.
func (e *engine) testIdentity(t *testing.T) {
	t.Parallel()
	t.Run("JobIDFromEnv", e.testJobIDFromEnv)
	t.Run("NameHeldByLiveRunner", e.testNameHeld)
}

// executor is a stage executor for env on a fresh GPU-less host, owned by
// owner.
func (e *engine) executor(ctx context.Context, t *testing.T, env map[string]string, owner lease.Owner) *Executor {
	t.Helper()
	dj, cfg, host, stdout, stderr := newRealHost(ctx, t)
	return &Executor{
		Host: host, Engine: dj, Config: cfg, Version: "test",
		Getenv: func(k string) string { return env[k] },
		Stdout: stdout, Stderr: stderr,
		Owner: func() (lease.Owner, error) { return owner, nil },
	}
}

// running fails the test unless the container called name is the one with
// id and runs.
func (e *engine) running(ctx context.Context, t *testing.T, name, id string) {
	t.Helper()
	info, err := e.api.ContainerInspect(ctx, name)
	if err != nil {
		t.Fatalf("container %s: %v", name, err)
	}
	if info.ID != id || !info.State.Running {
		t.Errorf("container %s is %s (running %v), want %s still running", name, info.ID, info.State.Running, id)
	}
}

// Attack (a): a job on the same GitLab and the same gitlab-runner sets
// CI_JOB_ID (and the host and project) to another job's. Its prepare and
// cleanup must leave the victim's container as it was, and its cache
// volume must be its own project's (attack c).
func (e *engine) testJobIDFromEnv(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	victim := e.newJob(t, "401")
	self := lease.Self()
	vx := e.executor(ctx, t, victim.env(e.image), self)
	if err := vx.Prepare(ctx); err != nil {
		t.Fatalf("victim's prepare: %v", err)
	}
	info, err := e.api.ContainerInspect(ctx, victim.container())
	if err != nil {
		t.Fatal(err)
	}

	attacker := e.newJobOn(t, victim.host, "402")
	env := attacker.env(e.image)
	env["CUSTOM_ENV_CI_JOB_ID"] = victim.id
	env["CUSTOM_ENV_CI_SERVER_HOST"] = victim.host
	env["CUSTOM_ENV_CI_PROJECT_ID"] = victim.project
	ax := e.executor(ctx, t, env, self)
	if err := ax.Prepare(ctx); err != nil {
		t.Fatalf("attacker's prepare: %v", err)
	}
	e.running(ctx, t, victim.container(), info.ID)
	mine, err := e.api.ContainerInspect(ctx, attacker.container())
	if err != nil {
		t.Fatalf("the attacker's job has no container of its own: %v", err)
	}
	for _, m := range mine.Mounts {
		if m.Destination == CacheDir && m.Name != attacker.volume() {
			t.Errorf("the attacker's job mounts cache volume %s, want its own project's %s", m.Name, attacker.volume())
		}
	}
	ax.Cleanup(ctx)
	e.running(ctx, t, victim.container(), info.ID)
	if cs := e.jobContainers(t, attacker); len(cs) != 0 {
		t.Errorf("the attacker's cleanup left %d of its containers", len(cs))
	}
	vx.Cleanup(ctx)
}

// Attack (d): a second gitlab-runner process prepares a job under a name a
// live job of the first holds. It is refused, and its cleanup (which GitLab
// runs after a failed prepare) leaves the first job's container running.
func (e *engine) testNameHeld(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 3*time.Minute)
	other, err := lease.ProcessOwner(os.Getppid())
	if err != nil {
		t.Skipf("no parent process to own the first job: %v", err)
	}
	j := e.newJob(t, "403")
	first := e.executor(ctx, t, j.env(e.image), other)
	if err := first.Prepare(ctx); err != nil {
		t.Fatalf("first prepare: %v", err)
	}
	info, err := e.api.ContainerInspect(ctx, j.container())
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Config.Labels[LabelOwner]; got != formatOwner(other) {
		t.Errorf("container owner label %q, want %q", got, formatOwner(other))
	}

	second := e.executor(ctx, t, j.env(e.image), lease.Self())
	err = second.Prepare(ctx)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), j.container()) || !strings.Contains(err.Error(), "docker rm -f") {
		t.Fatalf("second prepare = %v, want one line refusing, naming %s and how to remove it", err, j.container())
	}
	e.running(ctx, t, j.container(), info.ID)
	second.Cleanup(ctx)
	e.running(ctx, t, j.container(), info.ID)

	first.Cleanup(ctx)
	if cs := e.jobContainers(t, j); len(cs) != 0 {
		t.Errorf("the first runner's cleanup left %d containers", len(cs))
	}
}
