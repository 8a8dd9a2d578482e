package ghhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlci/mlci/runner/dockerjob"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
)

func TestReadInputRecorded(t *testing.T) {
	fx := newHostFixture(t, 0, newFakeDocker())
	state := json.RawMessage(`{"job":"github:1"}`)
	for _, c := range []struct{ file, command string }{
		{"prepare_job.json", PrepareJob},
		{"run_script_step.json", RunScriptStep},
		{"run_container_step.json", RunContainerStep},
		{"cleanup_job.json", CleanupJob},
	} {
		in, err := ReadInput(bytes.NewReader(fx.input(t, c.file, "/tmp/resp.json", state)))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if in.Command != c.command {
			t.Errorf("%s: command %q, want %q", c.file, in.Command, c.command)
		}
	}
	// The shapes decode into the argument types.
	in, _ := ReadInput(bytes.NewReader(fx.input(t, "prepare_job.json", "/r", nil)))
	var p PrepareJobArgs
	if err := decode("args", in.Args, &p); err != nil {
		t.Fatal(err)
	}
	if p.Container == nil || p.Container.Image != "node:14.16" || len(p.Container.SystemMountVolumes) != 6 ||
		p.Container.Registry == nil || p.Container.Registry.ServerURL != "https://index.docker.io/v1" ||
		len(p.Services) != 1 || p.Services[0].ContextName != "redis" || p.Services[0].EntryPoint != "" {
		t.Errorf("prepare_job args = %+v", p)
	}
	in, _ = ReadInput(bytes.NewReader(fx.input(t, "run_script_step.json", "", state)))
	var s ScriptStepArgs
	if err := decode("args", in.Args, &s); err != nil {
		t.Fatal(err)
	}
	if s.EntryPoint != "sh" || !slices.Equal(s.EntryPointArgs, []string{"-e", "/__w/_temp/step.sh"}) ||
		!slices.Equal(s.PrependPath, []string{"/foo/bar"}) || in.ResponseFile != "" {
		t.Errorf("run_script_step args = %+v (responseFile %q)", s, in.ResponseFile)
	}
	in, _ = ReadInput(bytes.NewReader(fx.input(t, "run_container_step.json", "/r", state)))
	var ci ContainerInfo
	if err := decode("args", in.Args, &ci); err != nil {
		t.Fatal(err)
	}
	if ci.Image != "node:14.16" || ci.Dockerfile != "" || ci.Registry != nil || ci.EntryPoint != "sh" {
		t.Errorf("run_container_step args = %+v", ci)
	}
}

func TestReadInputErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []string
	}{
		{"not JSON", "hello", []string{"not the runner's JSON", "ACTIONS_RUNNER_CONTAINER_HOOKS"}},
		{"empty", "", []string{"not the runner's JSON"}},
		{"no command", `{"responseFile":"/x","args":{}}`, []string{"no command", "ACTIONS_RUNNER_CONTAINER_HOOKS"}},
		{"unknown command", `{"command":"run_job"}`, []string{`unknown hook command "run_job"`, "prepare_job", "run_script_step", "run_container_step", "cleanup_job"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadInput(strings.NewReader(c.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// Hook.Run reports the same and touches nothing.
	d := newFakeDocker()
	fx := newHostFixture(t, 0, d)
	if err := fx.hook.Run(t.Context(), strings.NewReader(`{"command":"nope"}`)); err == nil || !strings.Contains(err.Error(), "unknown hook command") {
		t.Errorf("Run = %v", err)
	}
	if len(d.calls) != 0 {
		t.Errorf("docker calls %v", d.calls)
	}
}

func TestForkJob(t *testing.T) {
	const pub = `"repository":{"full_name":"acme/ml","private":false}`
	const priv = `"repository":{"full_name":"acme/ml","private":true}`
	cases := []struct {
		name  string
		event string // "" = no event file
		fork  bool
		repo  string
	}{
		{"no event file", "", false, ""},
		{"push", `{"ref":"refs/heads/main",` + pub + `}`, false, "acme/ml"},
		{"pull request from same repo", `{"pull_request":{"head":{"repo":{"full_name":"acme/ml","fork":false}}},` + pub + `}`, false, "acme/ml"},
		{"same repo, case differs", `{"pull_request":{"head":{"repo":{"full_name":"ACME/ML","fork":false}}},` + pub + `}`, false, "acme/ml"},
		{"pull request from fork of public repo", `{"pull_request":{"head":{"repo":{"full_name":"mallory/ml","fork":true}}},` + pub + `}`, true, "acme/ml"},
		{"fork flag unset but other repo", `{"pull_request":{"head":{"repo":{"full_name":"mallory/ml","fork":false}}},` + pub + `}`, true, "acme/ml"},
		{"branch of a repo that is itself a fork", `{"pull_request":{"head":{"repo":{"full_name":"acme/ml","fork":true}}},` + pub + `}`, false, "acme/ml"},
		{"deleted fork of public repo", `{"pull_request":{"head":{"repo":null}},` + pub + `}`, true, "acme/ml"},
		{"fork of private repo", `{"pull_request":{"head":{"repo":{"full_name":"bob/ml","fork":true}}},` + priv + `}`, false, "acme/ml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.event != "" {
				if err := os.WriteFile(filepath.Join(dir, "event.json"), []byte(c.event), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			mounts := []Mount{{SourceVolumePath: "/x", TargetVolumePath: "/__w"}, {SourceVolumePath: dir, TargetVolumePath: "/github/workflow"}}
			fork, repo, err := forkJob(mounts)
			if err != nil {
				t.Fatal(err)
			}
			if fork != c.fork || repo != c.repo {
				t.Errorf("forkJob = %v %q, want %v %q", fork, repo, c.fork, c.repo)
			}
		})
	}
	t.Run("no workflow mount", func(t *testing.T) {
		if fork, _, err := forkJob(nil); fork || err != nil {
			t.Errorf("forkJob(nil) = %v, %v", fork, err)
		}
	})
	t.Run("bad event file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "event.json"), []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := forkJob([]Mount{{SourceVolumePath: dir, TargetVolumePath: "/github/workflow"}}); err == nil || !strings.Contains(err.Error(), "event.json") {
			t.Errorf("err = %v", err)
		}
	})
}

// writeEvent puts the workflow event where the runner mounts it.
func (fx *fixture) writeEvent(t *testing.T, event string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(fx.work, "_temp", "_github_workflow", "event.json"), []byte(event), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrepareForkJobs(t *testing.T) {
	const forkPR = `{"pull_request":{"head":{"repo":{"full_name":"mallory/ml","fork":true}}},"repository":{"full_name":"acme/ml","private":false}}`
	for _, c := range []struct {
		name    string
		cfg     func(*hostconfig.Config)
		refused bool
	}{
		{"refused by default", func(*hostconfig.Config) {}, true},
		{"allow_fork_jobs", func(c *hostconfig.Config) { c.AllowForkJobs = true }, false},
		{"allow_fork_repos", func(c *hostconfig.Config) { c.AllowForkRepos = []string{"Acme/ML"} }, false},
		{"other repo allowed", func(c *hostconfig.Config) { c.AllowForkRepos = []string{"acme/other"} }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newFakeDocker()
			fx := newHostFixture(t, 0, d)
			c.cfg(&fx.hook.Config)
			fx.writeEvent(t, forkPR)
			_, _, err := fx.prepare(t, t.Context())
			if !c.refused {
				if err != nil {
					t.Fatalf("prepare: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("fork job was not refused")
			}
			for _, w := range []string{"fork", "acme/ml", "allow_fork_jobs"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if len(d.calls) != 0 || len(fx.leases(t)) != 0 || len(fx.jobDirs(t)) != 0 {
				t.Errorf("refused job left calls %v, leases %v, dirs %v", d.calls, fx.leases(t), fx.jobDirs(t))
			}
		})
	}
	t.Run("private repo fork allowed", func(t *testing.T) {
		fx := newHostFixture(t, 0, newFakeDocker())
		fx.writeEvent(t, `{"pull_request":{"head":{"repo":{"full_name":"bob/ml","fork":true}}},"repository":{"full_name":"acme/ml","private":true}}`)
		if _, _, err := fx.prepare(t, t.Context()); err != nil {
			t.Fatalf("prepare: %v", err)
		}
	})
}

// TestRecordedJob drives the four recorded runner inputs through the hook.
func TestRecordedJob(t *testing.T) {
	ctx := t.Context()
	d := newFakeDocker()
	d.execOut = "step output\n"
	d.runOut = "container step output\n"
	fx := newHostFixture(t, 8, d)

	raw, state, err := fx.prepare(t, ctx)
	if err != nil {
		t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
	}
	// The runner requires isAlpine whenever there is a job container.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	if string(keys["isAlpine"]) != "false" {
		t.Errorf("response has isAlpine %q, want false: %s", keys["isAlpine"], raw)
	}
	var resp struct {
		State   State `json:"state"`
		Context struct {
			Container *ContainerContext  `json:"container"`
			Services  []ContainerContext `json:"services"`
		} `json:"context"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	st := resp.State
	if !strings.HasPrefix(st.Job, "github:") || st.Container == "" || st.Network == "" || len(st.GPUs) != 0 {
		t.Fatalf("state = %+v", st)
	}
	cc := resp.Context.Container
	if cc == nil || cc.ID != st.Container || cc.Network != st.Network || cc.Ports["8080"] != "80" {
		t.Errorf("context.container = %+v, state %+v", cc, st)
	}
	if len(resp.Context.Services) != 1 || len(st.Services) != 1 || resp.Context.Services[0].ID != st.Services[0] ||
		resp.Context.Services[0].Network != st.Network || resp.Context.Services[0].ID == st.Container {
		t.Errorf("context.services = %+v, state %+v", resp.Context.Services, st)
	}

	// What the engine was asked for.
	if !slices.Equal(d.images, []string{"redis", "node:14.16"}) {
		t.Errorf("images %v", d.images)
	}
	if d.auths[0] != (jobrun.Auth{}) || d.auths[1] != (jobrun.Auth{Username: "foo", Password: "bar", ServerAddress: "https://index.docker.io/v1"}) {
		t.Errorf("registry auth %+v", d.auths)
	}
	if len(d.specs) != 2 {
		t.Fatalf("created %d containers, want redis and the job's", len(d.specs))
	}
	svc, job := d.specs[0], d.specs[1]
	if !slices.Equal(svc.Aliases, []string{"redis"}) || !slices.Equal(svc.Ports, []string{"8080:80"}) || len(svc.GPUs) != 0 ||
		svc.Network != st.Network || svc.Labels[labelJob] != st.Job {
		t.Errorf("service spec %+v", svc)
	}
	if job.Image != "node:14.16" || job.WorkingDir != "/__w/repo/repo" || job.Network != st.Network ||
		job.Labels[labelJob] != st.Job || job.Env["NODE_ENV"] != "development" ||
		job.Env[jobrun.EnvHardwareFile] != "/mlci/hardware.json" || job.Options.NanoCPUs != 1e9 ||
		!slices.Equal(job.Ports, []string{"80:8080"}) || len(job.GPUs) != 0 {
		t.Errorf("job container spec %+v", job)
	}
	targets := map[string]dockerjob.Mount{}
	for _, m := range slices.Concat(job.Mounts, job.UserMounts) {
		targets[m.Target] = m
	}
	if _, ok := targets["/var/run/docker.sock"]; ok {
		t.Errorf("docker.sock mounted: %+v", job.Mounts)
	}
	if !strings.Contains(fx.stderr.String(), "not mounting /var/run/docker.sock") {
		t.Errorf("dropping docker.sock was not logged: %q", fx.stderr)
	}
	for target, want := range map[string]dockerjob.Mount{
		"/__w":          {Source: fx.work, Target: "/__w"},
		"/__e":          {Source: fx.ext, Target: "/__e", ReadOnly: true},
		"/volume_mount": {Source: "my_docker_volume", Target: "/volume_mount", Volume: true},
		"/mlci":         {Source: fx.host.JobDir(st.Job), Target: "/mlci", ReadOnly: true},
	} {
		if targets[target] != want {
			t.Errorf("mount %s = %+v, want %+v", target, targets[target], want)
		}
	}
	if _, err := os.Stat(filepath.Join(fx.host.JobDir(st.Job), jobrun.HardwareFileName)); err != nil {
		t.Errorf("hardware file: %v", err)
	}

	// run_script_step.
	in := fx.input(t, "run_script_step.json", "", state)
	if err := fx.hook.Run(ctx, bytes.NewReader(in)); err != nil {
		t.Fatalf("run_script_step: %v", err)
	}
	e := d.execs[0]
	if d.execIDs[0] != st.Container || !slices.Equal(e.Cmd, []string{"sh", "-e", "/__w/_temp/step.sh"}) ||
		e.WorkDir != "/__w/repo/repo" || e.Env["NODE_ENV"] != "development" ||
		e.Env["PATH"] != "/foo/bar:/usr/local/bin:/usr/bin:/bin" || e.Env[jobrun.EnvHardwareFile] != "/mlci/hardware.json" {
		t.Errorf("exec %+v in %s", e, d.execIDs[0])
	}
	if fx.stdout.String() != "step output\n" {
		t.Errorf("stdout %q", fx.stdout)
	}

	// run_container_step.
	in = fx.input(t, "run_container_step.json", fx.responseFile(t), state)
	if err := fx.hook.Run(ctx, bytes.NewReader(in)); err != nil {
		t.Fatalf("run_container_step: %v", err)
	}
	r := d.runs[0]
	if r.Image != "node:14.16" || !slices.Equal(r.Entrypoint, []string{"sh"}) || !slices.Equal(r.Cmd, []string{"-c", "echo hello from the step"}) ||
		r.Network != st.Network || r.Labels[labelJob] != st.Job || r.Env["NODE_ENV"] != "development" || r.Env[jobrun.EnvHardwareFile] == "" {
		t.Errorf("container step spec %+v", r)
	}
	if r.Env["PATH"] != "/foo/bar:/usr/local/bin:/usr/bin:/bin" || !slices.Equal(r.Ports, []string{"80:8080"}) {
		t.Errorf("container step PATH %q ports %v; want prependPath before the image's PATH and the step's port mappings", r.Env["PATH"], r.Ports)
	}
	if !strings.Contains(fx.stdout.String(), "container step output") {
		t.Errorf("stdout %q", fx.stdout)
	}
	for _, m := range r.Mounts {
		if strings.Contains(m.Source, "docker.sock") {
			t.Errorf("container step mounts docker.sock: %+v", r.Mounts)
		}
	}

	// cleanup_job.
	in = fx.input(t, "cleanup_job.json", fx.responseFile(t), state)
	if err := fx.hook.Run(ctx, bytes.NewReader(in)); err != nil {
		t.Fatalf("cleanup_job: %v", err)
	}
	if c, n := d.live(); c != 0 || n != 0 {
		t.Errorf("after cleanup %d containers and %d networks remain; calls %v", c, n, d.calls)
	}
	if dirs := fx.jobDirs(t); len(dirs) != 0 {
		t.Errorf("job folders left: %v", dirs)
	}
}

func TestPrepareRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		fn   func(m map[string]any)
		want []string
	}{
		{"privileged", func(m map[string]any) { jobContainer(m)["createOptions"] = "--privileged" }, []string{"--privileged is refused", "every GPU"}},
		{"gpus option", func(m map[string]any) { jobContainer(m)["createOptions"] = "--gpus all" }, []string{"--gpus is refused"}},
		{"NVIDIA_VISIBLE_DEVICES", func(m map[string]any) { setEnv(m, "NVIDIA_VISIBLE_DEVICES", "all") }, []string{"NVIDIA_VISIBLE_DEVICES is refused", "MLCI_GPUS"}},
		{"user mount of docker.sock", func(m map[string]any) {
			jobContainer(m)["userMountVolumes"] = []any{map[string]any{"sourceVolumePath": "/var/run/docker.sock", "targetVolumePath": "/docker.sock", "readOnly": false}}
		}, []string{"Docker socket", "refused"}},
		{"no job container", func(m map[string]any) { delete(m["args"].(map[string]any), "container") }, []string{"only in a container", "container:"}},
		{"bad GPU count", func(m map[string]any) { setEnv(m, "MLCI_GPUS", "lots") }, []string{`GPU count "lots"`}},
		{"more GPUs than the host has", func(m map[string]any) { setEnv(m, "MLCI_GPUS", "9") }, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newFakeDocker()
			fx := newHostFixture(t, 8, d)
			_, _, err := fx.prepare(t, t.Context(), c.fn)
			if err == nil {
				t.Fatal("prepare_job succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if ls := fx.leases(t); len(ls) != 0 {
				t.Errorf("leases left: %+v", ls)
			}
			if dirs := fx.jobDirs(t); len(dirs) != 0 {
				t.Errorf("job folders left: %v", dirs)
			}
			if d.callCount("Create") != 0 || d.callCount("EnsureNetwork") != 0 {
				t.Errorf("engine was asked: %v", d.calls)
			}
		})
	}
}

// prepareGPUs runs prepare_job asking for n GPUs, without services.
func (fx *fixture) prepareGPUs(t *testing.T, n string) State {
	t.Helper()
	_, state, err := fx.prepare(t, t.Context(), noServices, func(m map[string]any) { setEnv(m, "MLCI_GPUS", n) })
	if err != nil {
		t.Fatalf("prepare_job: %v", err)
	}
	return decodeState(t, state)
}

func TestPrepareLeasesGPUs(t *testing.T) {
	d := newFakeDocker()
	fx := newHostFixture(t, 8, d)
	st := fx.prepareGPUs(t, "2")
	ls := fx.leases(t)
	if len(ls) != 1 || ls[0].Job != st.Job || len(ls[0].IDs) != 2 {
		t.Fatalf("leases %+v", ls)
	}
	if !slices.Equal(st.GPUs, ls[0].IDs) || ls[0].Container != st.Container {
		t.Errorf("state %+v, lease %+v: want the lease's GPUs and container", st, ls[0])
	}
	spec := d.specs[len(d.specs)-1]
	if !slices.Equal(spec.GPUs, ls[0].IDs) {
		t.Errorf("job container GPUs %v, want %v", spec.GPUs, ls[0].IDs)
	}
	if spec.Env[jobrun.EnvHardwareFile] != "/mlci/hardware.json" || spec.Env["MLCI_GPU_COUNT"] != "2" {
		t.Errorf("job container env %v", spec.Env)
	}
	// The engine request names exactly the leased UUIDs.
	req, err := dockerjob.Compose(spec)
	if err != nil {
		t.Fatal(err)
	}
	hc := req.Host
	if dr := hc.DeviceRequests; len(dr) != 1 || dr[0].Count != 0 || !slices.Equal(dr[0].DeviceIDs, ls[0].IDs) {
		t.Errorf("device requests %+v", dr)
	}
	var mlci *dockerjob.Mount
	for i, m := range spec.Mounts {
		if m.Target == jobrun.ContainerDir {
			mlci = &spec.Mounts[i]
		}
	}
	if mlci == nil || !mlci.ReadOnly || mlci.Source != fx.host.JobDir(st.Job) {
		t.Errorf("/mlci mount %+v", mlci)
	}
	if st.Network != "" || d.callCount("EnsureNetwork") != 0 {
		t.Errorf("a job without services got network %q (%v)", st.Network, d.calls)
	}
	// A second job gets the other GPUs.
	st2 := fx.prepareGPUs(t, "2")
	if slices.ContainsFunc(st2.GPUs, func(id string) bool { return slices.Contains(st.GPUs, id) }) {
		t.Errorf("two jobs share GPUs: %v and %v", st.GPUs, st2.GPUs)
	}

	// A container step runs on the job's GPUs.
	d.runCode = 5
	in := fx.input(t, "run_container_step.json", "", mustJSON(t, st))
	err = fx.hook.Run(t.Context(), bytes.NewReader(in))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 5 {
		t.Errorf("run_container_step = %v, want exit 5", err)
	}
	r := d.runs[0]
	if !slices.Equal(r.GPUs, st.GPUs) {
		t.Errorf("container step GPUs %v, want %v", r.GPUs, st.GPUs)
	}
	found := false
	for _, m := range r.Mounts {
		found = found || m == dockerjob.Mount{Source: fx.host.JobDir(st.Job), Target: "/mlci", ReadOnly: true}
	}
	if !found {
		t.Errorf("container step mounts %+v lack the read-only job folder", r.Mounts)
	}

	// cleanup_job releases the lease.
	in = fx.input(t, "cleanup_job.json", "", mustJSON(t, st))
	if err := fx.hook.Run(t.Context(), bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if ls := fx.leases(t); len(ls) != 1 || ls[0].Job != st2.Job {
		t.Errorf("after cleanup leases %+v, want only the second job's", ls)
	}
	if !slices.Contains(d.removed, st.Container) {
		t.Errorf("container %s not removed: %v", st.Container, d.calls)
	}
	if !strings.Contains(fx.stderr.String(), "released "+strings.Join(st.GPUs, ",")) {
		t.Errorf("cleanup log %q", fx.stderr)
	}
}

func TestRunnerDefaultGPUs(t *testing.T) {
	d := newFakeDocker()
	fx := newHostFixture(t, 8, d)
	fx.env["MLCI_GPUS"] = "gpu:1"
	_, state, err := fx.prepare(t, t.Context(), noServices)
	if err != nil {
		t.Fatal(err)
	}
	if st := decodeState(t, state); len(st.GPUs) != 1 {
		t.Errorf("runner default gpu:1 leased %v", st.GPUs)
	}
	// The job's own ask wins over the runner's default.
	_, state, err = fx.prepare(t, t.Context(), noServices, func(m map[string]any) { setEnv(m, "MLCI_GPUS", "0") })
	if err != nil {
		t.Fatal(err)
	}
	if st := decodeState(t, state); len(st.GPUs) != 0 {
		t.Errorf("MLCI_GPUS=0 leased %v", st.GPUs)
	}
}

func TestNoGPUsOnHost(t *testing.T) {
	fx := newHostFixture(t, 0, newFakeDocker())
	_, _, err := fx.prepare(t, t.Context(), func(m map[string]any) { setEnv(m, "MLCI_GPUS", "1") })
	if !errors.Is(err, jobrun.ErrNoGPUs) {
		t.Errorf("err = %v, want ErrNoGPUs", err)
	}
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunScriptStep(t *testing.T) {
	d := newFakeDocker()
	fx := newHostFixture(t, 0, d)
	_, state, err := fx.prepare(t, t.Context(), noServices)
	if err != nil {
		t.Fatal(err)
	}
	st := decodeState(t, state)
	run := func(fn func(m map[string]any)) error {
		in := fx.input(t, "run_script_step.json", "", state)
		if fn != nil {
			in = edit(t, in, fn)
		}
		return fx.hook.Run(t.Context(), bytes.NewReader(in))
	}
	d.execCode = 3
	err = run(nil)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || err.Error() != "step exited with code 3" {
		t.Errorf("err = %v, want ExitError{3}", err)
	}
	d.execCode = 0

	// Without prependPath the container's PATH is left alone.
	if err := run(func(m map[string]any) { delete(m["args"].(map[string]any), "prependPath") }); err != nil {
		t.Fatal(err)
	}
	e := d.execs[len(d.execs)-1]
	if _, ok := e.Env["PATH"]; ok || d.callCount("PathEnv") != 1 {
		t.Errorf("PATH %q set without prependPath (calls %v)", e.Env["PATH"], d.calls)
	}
	// Several entries keep their order.
	if err := run(func(m map[string]any) { m["args"].(map[string]any)["prependPath"] = []any{"/a", "/b"} }); err != nil {
		t.Fatal(err)
	}
	if p := d.execs[len(d.execs)-1].Env["PATH"]; p != "/a:/b:"+d.path {
		t.Errorf("PATH = %q", p)
	}
	// The job's env is what was leased, whatever the step says.
	if err := run(func(m map[string]any) {
		m["args"].(map[string]any)["environmentVariables"] = map[string]any{jobrun.EnvHardwareFile: "/elsewhere", "A": "b"}
	}); err != nil {
		t.Fatal(err)
	}
	if env := d.execs[len(d.execs)-1].Env; env[jobrun.EnvHardwareFile] != "/mlci/hardware.json" || env["A"] != "b" {
		t.Errorf("env %v", env)
	}
	for _, id := range d.execIDs {
		if id != st.Container {
			t.Errorf("exec in %s, want %s", id, st.Container)
		}
	}
	// No state: the hook did not prepare this job.
	in := fx.input(t, "run_script_step.json", "", nil)
	if err := fx.hook.Run(t.Context(), bytes.NewReader(in)); err == nil || !strings.Contains(err.Error(), "prepare_job") {
		t.Errorf("without state: %v", err)
	}
}

func TestRunContainerStepDockerfile(t *testing.T) {
	d := newFakeDocker()
	fx := newHostFixture(t, 0, d)
	in := edit(t, fx.input(t, "run_container_step.json", "", nil), func(m map[string]any) {
		a := m["args"].(map[string]any)
		a["image"], a["dockerfile"] = "", "/runner/_work/_actions/acme/lint/v1/Dockerfile"
	})
	if err := fx.hook.Run(t.Context(), bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if len(d.runs) != 1 || d.runs[0].Image != "built-v1:latest" {
		t.Fatalf("runs %+v; want one run of the image built from the Dockerfile", d.runs)
	}
	if !slices.Contains(d.calls, "BuildImage /runner/_work/_actions/acme/lint/v1/Dockerfile") || slices.ContainsFunc(d.calls, func(c string) bool { return strings.HasPrefix(c, "EnsureImage") }) {
		t.Errorf("calls %v; want a build and no pull", d.calls)
	}
}

func TestCleanupSurvivesRemoveErrors(t *testing.T) {
	d := newFakeDocker()
	fx := newHostFixture(t, 8, d)
	_, state, err := fx.prepare(t, t.Context(), func(m map[string]any) { setEnv(m, "MLCI_GPUS", "1") })
	if err != nil {
		t.Fatal(err)
	}
	st := decodeState(t, state)
	d.removeErr = errors.New("engine on fire")
	in := fx.input(t, "cleanup_job.json", fx.responseFile(t), state)
	if err := fx.hook.Run(t.Context(), bytes.NewReader(in)); err != nil {
		t.Fatalf("cleanup_job failed: %v", err)
	}
	if !strings.Contains(fx.stderr.String(), "removing container "+st.Container+": engine on fire") {
		t.Errorf("stderr %q", fx.stderr)
	}
	if strings.Contains(strings.ToLower(fx.stderr.String()), "fatal") {
		t.Errorf("stderr %q", fx.stderr)
	}
	if ls := fx.leases(t); len(ls) != 0 {
		t.Errorf("leases %+v", ls)
	}
	if d.callCount("RemoveNetwork") != 1 || d.callCount("Remove ") != 2 {
		t.Errorf("calls %v", d.calls)
	}
	// Cleanup of a job never prepared (empty state) does nothing.
	d2 := newFakeDocker()
	fx2 := newHostFixture(t, 0, d2)
	if err := fx2.hook.Run(t.Context(), bytes.NewReader(fx2.input(t, "cleanup_job.json", "", nil))); err != nil || len(d2.calls) != 0 {
		t.Errorf("empty cleanup = %v, calls %v", err, d2.calls)
	}
}

func TestPrepareFailureUndoes(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []struct {
		name string
		set  func(d *fakeDocker)
	}{
		{"job container create fails", func(d *fakeDocker) {
			d.createErr = func(s dockerjob.Spec) error {
				if s.Image == "node:14.16" {
					return boom
				}
				return nil
			}
		}},
		{"job container start fails", func(d *fakeDocker) {
			d.startErr = func(id string) error {
				if id == "ctr02" {
					return boom
				}
				return nil
			}
		}},
		{"service start fails", func(d *fakeDocker) { d.startErr = func(string) error { return boom } }},
		{"service never healthy", func(d *fakeDocker) { d.healthErr = boom }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newFakeDocker()
			c.set(d)
			fx := newHostFixture(t, 8, d)
			_, _, err := fx.prepare(t, t.Context(), func(m map[string]any) { setEnv(m, "MLCI_GPUS", "2") })
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			if ls := fx.leases(t); len(ls) != 0 {
				t.Errorf("leases left: %+v", ls)
			}
			if dirs := fx.jobDirs(t); len(dirs) != 0 {
				t.Errorf("job folders left: %v", dirs)
			}
			if n, nets := d.live(); n != 0 || nets != 0 {
				t.Errorf("%d containers and %d networks left; calls %v", n, nets, d.calls)
			}
		})
	}
}

func TestUnwritableResponseUndoes(t *testing.T) {
	d := newFakeDocker()
	fx := newHostFixture(t, 8, d)
	in := edit(t, fx.input(t, "prepare_job.json", filepath.Join(t.TempDir(), "missing", "r.json"), nil), func(m map[string]any) { setEnv(m, "MLCI_GPUS", "1") })
	if err := fx.hook.Run(t.Context(), bytes.NewReader(in)); err == nil || !strings.Contains(err.Error(), "hook response") {
		t.Fatalf("err = %v", err)
	}
	if ls := fx.leases(t); len(ls) != 0 {
		t.Errorf("leases left: %+v", ls)
	}
	if n, nets := d.live(); n != 0 || nets != 0 {
		t.Errorf("%d containers and %d networks left", n, nets)
	}
}

func TestStartMonitor(t *testing.T) {
	d := newFakeDocker()
	fx := newHostFixture(t, 8, d)
	var started []string
	fx.hook.StartMonitor = func(job string) error { started = append(started, job); return errors.New("no monitor") }
	st := fx.prepareGPUs(t, "1")
	if !slices.Equal(started, []string{st.Job}) || !strings.Contains(fx.stderr.String(), "telemetry will be missing: no monitor") {
		t.Errorf("monitor started for %v; stderr %q", started, fx.stderr)
	}
	// No monitor for a job without GPUs.
	fx.prepareGPUs(t, "0")
	if len(started) != 1 {
		t.Errorf("monitor started for %v", started)
	}
}

func TestPrepareDatasets(t *testing.T) {
	d := newFakeDocker()
	fx := newHostFixture(t, 8, d)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "train.csv"), []byte("1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fx.host.Config.Datasets = map[string]string{"mnist": src}
	var asked []string
	d.volume = func(ctx context.Context, digest, srcDir, image string) (string, error) {
		asked = append(asked, digest+" "+srcDir+" "+image)
		return "mlci-data-test", nil
	}
	fx.host.Engine = d
	_, state, err := fx.prepare(t, t.Context(), noServices, func(m map[string]any) {
		setEnv(m, "MLCI_GPUS", "1")
		setEnv(m, jobrun.EnvDatasets, "mnist")
	})
	if err != nil {
		t.Fatalf("prepare_job: %v", err)
	}
	st := decodeState(t, state)
	if len(asked) != 1 || !strings.HasSuffix(asked[0], " "+src+" node:14.16") {
		t.Errorf("dataset volumes asked: %q", asked)
	}
	spec := d.specs[len(d.specs)-1]
	if !slices.Contains(spec.Mounts, dockerjob.Mount{Source: "mlci-data-test", Target: "/datasets/mnist", ReadOnly: true, Volume: true}) {
		t.Errorf("job mounts %+v lack the dataset", spec.Mounts)
	}
	// Steps get the dataset's variables too: they travel in the state.
	if spec.Env["MLCI_DATASET_MNIST"] != "/datasets/mnist" || st.Env["MLCI_DATASET_MNIST"] != "/datasets/mnist" ||
		st.Env["MLCI_DATASET_MNIST_DIGEST"] == "" || st.Env[jobrun.EnvHardwareFile] == "" {
		t.Errorf("spec env %v, state env %v", spec.Env, st.Env)
	}

	// An unknown dataset fails the job after the lease was taken: nothing
	// may be left.
	d2 := newFakeDocker()
	d2.volume = d.volume
	fx2 := newHostFixture(t, 8, d2)
	fx2.host.Engine = d2
	_, _, err = fx2.prepare(t, t.Context(), func(m map[string]any) {
		setEnv(m, "MLCI_GPUS", "1")
		setEnv(m, jobrun.EnvDatasets, "imagenet")
	})
	if err == nil || !strings.Contains(err.Error(), `"imagenet"`) {
		t.Fatalf("err = %v", err)
	}
	if ls := fx2.leases(t); len(ls) != 0 {
		t.Errorf("leases left: %+v", ls)
	}
	if c, n := d2.live(); c != 0 || n != 0 {
		t.Errorf("%d containers and %d networks left", c, n)
	}
}
