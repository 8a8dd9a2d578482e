package ghhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlci/mlci/runner/jobrun"
)

// The runner reads prepare_job's response file into PrepareJobResponse
// (actions/runner, src/Runner.Worker/Container/ContainerHooks/HookResponse.cs)
// with Newtonsoft, which matches property names case-insensitively, as
// encoding/json does. These types mirror the C# ones: the field names are
// the C# property names and the types the C# types, so a response that
// decodes here with the wrong shape would not reach the job's context there.
type runnerResponse struct {
	State    map[string]any // JObject
	Context  *runnerContext // ResponseContext
	IsAlpine *bool          // bool?
}

type runnerContext struct {
	Container *runnerContainer
	Services  []runnerContainer // IList<ResponseContainer>
}

type runnerContainer struct {
	Id      string // the C# property's spelling, not Go's ID
	Network string
	Ports   map[string]string // IDictionary<string, string>
}

// jobServices is the runner's job.services context: service name -> the
// service's id, network and ports.
type jobServices map[string]runnerContainer

// runnerReads reads a prepare_job response the way ContainerHookManager
// does after the hook exits (PrepareJobAsync, GetResponse, Validate and
// UpdateJobContext), for a job whose services the runner knows by names,
// in the order it sent them. It fails the test where the runner would fail
// the job.
func runnerReads(t testing.TB, raw []byte, jobContainer bool, names []string) (runnerResponse, jobServices) {
	t.Helper()
	var resp runnerResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("the runner cannot read the response: %v\n%s", err, raw)
	}
	if jobContainer && resp.IsAlpine == nil {
		t.Fatalf("response lacks isAlpine, which the runner requires with a job container:\n%s", raw)
	}
	if resp.State == nil {
		t.Fatalf("response has no state: the runner would send none to the later calls:\n%s", raw)
	}
	out := jobServices{}
	if resp.Context == nil {
		return resp, out
	}
	if resp.Context.Services == nil {
		// "services": null replaces the runner's empty list, and its loop
		// over the list's Count throws.
		t.Fatalf("context.services is null:\n%s", raw)
	}
	for i, s := range resp.Context.Services {
		if i >= len(names) {
			t.Fatalf("response has %d services, the runner sent %d: it indexes its own list by the response's and fails:\n%s", len(resp.Context.Services), len(names), raw)
		}
		if s.Ports == nil {
			t.Fatalf("service %d has null ports: the runner's loop over them throws:\n%s", i, raw)
		}
		out[names[i]] = s
	}
	return resp, out
}

// upstreamInput reads one of the upstream examples (testdata/upstream) with
// this fixture's folders and response file, changed by fns.
func (fx *fixture) upstreamInput(t testing.TB, name, responseFile string, fns ...func(map[string]any)) []byte {
	t.Helper()
	// Upstream's job mounts these too; a real engine wants the sources.
	for _, d := range []string{"_actions", "_tool"} {
		if err := os.MkdirAll(filepath.Join(fx.work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in := fx.input(t, filepath.Join("upstream", name), responseFile, nil)
	for _, fn := range fns {
		in = edit(t, in, fn)
	}
	return in
}

// prepareUpstream runs prepare_job with upstream's example input changed by
// fns and returns the response file and the state in it.
func (fx *fixture) prepareUpstream(t testing.TB, ctx context.Context, fns ...func(map[string]any)) ([]byte, json.RawMessage, error) {
	t.Helper()
	rf := fx.responseFile(t)
	// mlci-runner refuses a job's own mount of the Docker socket, which the
	// example gives its redis service: that would hand the job the host.
	in := fx.upstreamInput(t, "prepare-job.json", rf, append([]func(map[string]any){noServiceMounts}, fns...)...)
	if err := fx.hook.Run(ctx, bytes.NewReader(in)); err != nil {
		return nil, nil, err
	}
	raw, err := os.ReadFile(rf)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		State json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("prepare_job response is not JSON: %v\n%s", err, raw)
	}
	return raw, resp.State, nil
}

func services(m map[string]any) []any {
	s, _ := m["args"].(map[string]any)["services"].([]any)
	return s
}

func noServiceMounts(m map[string]any) {
	for _, s := range services(m) {
		s.(map[string]any)["userMountVolumes"] = []any{}
	}
}

// asRunnerSends drops contextName from the services: the runner's
// HookContainer has no such field (actions/runner#2783), so the upstream
// example's contextName never arrives from a real runner.
func asRunnerSends(m map[string]any) {
	for _, s := range services(m) {
		delete(s.(map[string]any), "contextName")
	}
}

// withServices replaces the example's services with copies of its redis
// service, one per image.
func withServices(images ...string) func(map[string]any) {
	return func(m map[string]any) {
		redis := services(m)[0].(map[string]any)
		var out []any
		for _, img := range images {
			s := map[string]any{}
			for k, v := range redis {
				s[k] = v
			}
			s["image"] = img
			out = append(out, s)
		}
		m["args"].(map[string]any)["services"] = out
	}
}

// cleanupJob runs cleanup_job with state.
func (fx *fixture) cleanupJob(t testing.TB, ctx context.Context, state json.RawMessage) {
	t.Helper()
	if err := fx.hook.Run(ctx, bytes.NewReader(fx.input(t, "cleanup_job.json", fx.responseFile(t), state))); err != nil {
		t.Fatalf("cleanup_job: %v\n%s", err, fx.stderr)
	}
}

// Item 5: the runner copies the response's port keys into
// job.services.<name>.ports, which workflows index by the bare container
// port. Upstream's own test ("should have ports for context written in form
// [containerPort]:[hostPort]", packages/docker/tests/prepare-job-test.ts)
// drives this very example.
func TestUpstreamPrepareJobPorts(t *testing.T) {
	fx := newHostFixture(t, 0, newFakeDocker())
	raw, _, err := fx.prepareUpstream(t, t.Context())
	if err != nil {
		t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
	}
	resp, svcs := runnerReads(t, raw, true, []string{"redis"})
	// portMappings "8080:80" and "8088:8080" of the redis service.
	if redis := svcs["redis"].Ports; !maps.Equal(redis, map[string]string{"80": "8080", "8080": "8088"}) {
		t.Errorf("job.services.redis.ports = %v, want 80 -> 8080 and 8080 -> 8088", redis)
	}
	// portMappings "80:8080" of the job container.
	if c := resp.Context.Container; c == nil || !maps.Equal(c.Ports, map[string]string{"8080": "80"}) {
		t.Errorf("context.container = %+v, want ports 8080 -> 80", c)
	}
}

// Item 5: the transform itself, for what upstream's does with udp and with
// several host bindings of one port. The bindings come in an order of the
// engine's choosing; each case lists them out of `docker port`'s order.
func TestContextPorts(t *testing.T) {
	type pb = jobrun.PortBinding
	b := func(port, ip, hostPort string) pb { return pb{Port: port, HostIP: ip, HostPort: hostPort} }
	for _, c := range []struct {
		name string
		in   []pb
		want map[string]string
	}{
		{"none", nil, map[string]string{}},
		{"tcp", []pb{b("80/tcp", "0.0.0.0", "8080")}, map[string]string{"80": "8080"}},
		{"udp is keyed bare too", []pb{b("53/udp", "0.0.0.0", "5353")}, map[string]string{"53": "5353"}},
		{"IPv4 and IPv6 of one port", []pb{b("80/tcp", "::", "8080"), b("80/tcp", "0.0.0.0", "8080")}, map[string]string{"80": "8080"}},
		{"tcp and udp of one number: udp, printed last", []pb{b("53/udp", "0.0.0.0", "5354"), b("53/tcp", "0.0.0.0", "5353")}, map[string]string{"53": "5354"}},
		{"two host ports: the last in natural order", []pb{b("80/tcp", "0.0.0.0", "10000"), b("80/tcp", "0.0.0.0", "9000")}, map[string]string{"80": "10000"}},
		{"IPv6 sorts after IPv4", []pb{b("80/tcp", "::", "8081"), b("80/tcp", "0.0.0.0", "8080")}, map[string]string{"80": "8081"}},
		{"host addresses in natural order", []pb{b("80/tcp", "10.0.0.1", "8000"), b("80/tcp", "9.0.0.1", "9000")}, map[string]string{"80": "8000"}},
		{"ports apart", []pb{b("8080/tcp", "0.0.0.0", "8088"), b("80/tcp", "0.0.0.0", "8080")}, map[string]string{"80": "8080", "8080": "8088"}},
		{"a binding without a host port is not published", []pb{b("80/tcp", "", "")}, map[string]string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := contextPorts(c.in)
			if got == nil || !maps.Equal(got, c.want) {
				t.Errorf("contextPorts(%v) = %#v, want %v", c.in, got, c.want)
			}
		})
	}
}

// Item 6: the runner's own docker path, and upstream's hook after it, set
// GITHUB_ACTIONS=true in every container (a watermark the job cannot
// change) and CI=true unless the job set CI itself.
func TestRunnerEnv(t *testing.T) {
	for _, c := range []struct {
		name      string
		env       map[string]any // the job's and the container step's own
		ci, ghAct string
	}{
		{"defaults", nil, "true", "true"},
		{"job sets CI", map[string]any{"CI": "false"}, "false", "true"},
		{"job sets CI empty", map[string]any{"CI": ""}, "", "true"},
		{"job sets GITHUB_ACTIONS", map[string]any{"GITHUB_ACTIONS": "false"}, "true", "true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newFakeDocker()
			fx := newHostFixture(t, 0, d)
			setOwn := func(env map[string]any) {
				for k, v := range c.env {
					env[k] = v
				}
			}
			_, state, err := fx.prepareUpstream(t, t.Context(), func(m map[string]any) {
				setOwn(jobContainer(m)["environmentVariables"].(map[string]any))
				for _, s := range services(m) {
					setOwn(s.(map[string]any)["environmentVariables"].(map[string]any))
				}
			})
			if err != nil {
				t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
			}
			in := fx.upstreamInput(t, "run-container-step.json", fx.responseFile(t), func(m map[string]any) {
				m["state"] = state
				a := m["args"].(map[string]any)
				a["userMountVolumes"] = []any{}
				setOwn(a["environmentVariables"].(map[string]any))
			})
			if err := fx.hook.Run(t.Context(), bytes.NewReader(in)); err != nil {
				t.Fatalf("run_container_step: %v\n%s", err, fx.stderr)
			}
			if len(d.specs) != 2 || len(d.runs) != 1 {
				t.Fatalf("created %d containers and ran %d, want the service, the job's and one step", len(d.specs), len(d.runs))
			}
			for what, env := range map[string]map[string]string{
				"service":        d.specs[0].Env,
				"job container":  d.specs[1].Env,
				"container step": d.runs[0].Env,
			} {
				ci, ok := env["CI"]
				if !ok || ci != c.ci || env["GITHUB_ACTIONS"] != c.ghAct {
					t.Errorf("%s env CI=%q (set %v) GITHUB_ACTIONS=%q, want CI=%q GITHUB_ACTIONS=%q", what, ci, ok, env["GITHUB_ACTIONS"], c.ci, c.ghAct)
				}
				if env["NODE_ENV"] != "development" && what != "service" {
					t.Errorf("%s env lost the job's NODE_ENV: %v", what, env)
				}
			}
		})
	}
}

// Item 7: the real runner sends services without contextName. Each one
// must get its own container, be kept in the state and answered at its
// index, and be reachable by a name derived from its image.
func TestServicesWithoutContextName(t *testing.T) {
	for _, c := range []struct {
		name    string
		images  []string
		context []string // contextName per service, "" for none
		aliases []string
	}{
		{"two images", []string{"redis", "postgres:16"}, nil, []string{"redis", "postgres"}},
		{"one image twice", []string{"redis", "redis:7"}, nil, []string{"redis-0", "redis-1"}},
		{"registry, port and digest", []string{"registry.local:5000/team/pg@sha256:" + fmt.Sprintf("%064d", 1)}, nil, []string{"pg"}},
		{"contextName kept where sent", []string{"redis", "redis"}, []string{"cache", ""}, []string{"cache", "redis"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newFakeDocker()
			fx := newHostFixture(t, 0, d)
			raw, state, err := fx.prepareUpstream(t, t.Context(), withServices(c.images...), asRunnerSends, func(m map[string]any) {
				for i, n := range c.context {
					if n != "" {
						services(m)[i].(map[string]any)["contextName"] = n
					}
				}
			})
			if err != nil {
				t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
			}
			names := make([]string, len(c.images))
			for i := range names {
				names[i] = fmt.Sprintf("svc%d", i)
			}
			resp, svcs := runnerReads(t, raw, true, names)
			if len(svcs) != len(c.images) {
				t.Fatalf("runner sees services %v, want %d", svcs, len(c.images))
			}
			// d.specs holds the services in input order, then the job's.
			var ids []string
			for i, n := range names {
				spec := d.specs[i]
				id := svcs[n].Id
				if got, ok := d.containers[id]; !ok || got.Image != c.images[i] {
					t.Errorf("service %d answered with container %q (%+v), want the one of %s", i, id, got, c.images[i])
				}
				if !slices.Equal(spec.Aliases, []string{c.aliases[i]}) {
					t.Errorf("service %d (%s) aliases %q, want %q", i, c.images[i], spec.Aliases, c.aliases[i])
				}
				ids = append(ids, id)
			}
			st := decodeState(t, state)
			if st.Network == "" || resp.Context.Services[0].Network != st.Network {
				t.Errorf("state %+v, services on %q", st, resp.Context.Services[0].Network)
			}
			if got := []string(st.Services); !slices.Equal(got, ids) {
				t.Errorf("state keeps services %v, want %v in input order", got, ids)
			}
			fx.cleanupJob(t, t.Context(), state)
			if n, nets := d.live(); n != 0 || nets != 0 {
				t.Errorf("cleanup_job left %d containers and %d networks; calls %v", n, nets, d.calls)
			}
		})
	}
}

// Item 7: cleanup_job removes everything labelled with the job, whatever
// the state it is given says: a state written by an older mlci-runner kept
// one of two unnamed services, and a state may lose more.
func TestCleanupRemovesAllOfTheJob(t *testing.T) {
	for _, c := range []struct {
		name  string
		state func(st map[string]any, ids []string)
	}{
		{"as prepared", func(map[string]any, []string) {}},
		{"older mlci kept one service under \"\"", func(st map[string]any, ids []string) {
			st["services"] = map[string]any{"": ids[1]}
		}},
		{"no services, no container, no network", func(st map[string]any, _ []string) {
			delete(st, "services")
			delete(st, "container")
			delete(st, "network")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newFakeDocker()
			fx := newHostFixture(t, 0, d)
			raw, state, err := fx.prepareUpstream(t, t.Context(), withServices("redis", "redis"), asRunnerSends)
			if err != nil {
				t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
			}
			_, svcs := runnerReads(t, raw, true, []string{"a", "b"})
			var st map[string]any
			if err := json.Unmarshal(state, &st); err != nil {
				t.Fatal(err)
			}
			c.state(st, []string{svcs["a"].Id, svcs["b"].Id})
			changed, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			fx.cleanupJob(t, t.Context(), changed)
			if n, nets := d.live(); n != 0 || nets != 0 {
				t.Errorf("cleanup_job left %d containers and %d networks; calls %v", n, nets, d.calls)
			}
		})
	}
}

// Item 7: the state keeps services as a list in input order, and still
// reads the map by contextName that older mlci-runners wrote, which is
// also the shape of the upstream hook's own state in its step examples.
func TestStateServices(t *testing.T) {
	upstream := func(name string) string {
		data, err := os.ReadFile(filepath.Join("testdata", "upstream", name))
		if err != nil {
			t.Fatal(err)
		}
		var in struct{ State json.RawMessage }
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatal(err)
		}
		return string(in.State)
	}
	const redisID = "60972d9aa486605e66b0dad4abb638dc3d9116f566579e418166eedb8abb9105"
	for _, c := range []struct {
		name, state string
		want        []string
		err         string
	}{
		{"list", `{"job":"github:1","services":["b","a"]}`, []string{"b", "a"}, ""},
		{"none", `{"job":"github:1"}`, nil, ""},
		{"null", `{"job":"github:1","services":null}`, nil, ""},
		{"older mlci-runner's map", `{"job":"github:1","services":{"redis":"r","db":"d"}}`, []string{"d", "r"}, ""},
		{"older mlci-runner's map, one unnamed", `{"job":"github:1","services":{"":"x"}}`, []string{"x"}, ""},
		{"upstream run-script-step.json", upstream("run-script-step.json"), []string{redisID}, ""},
		{"upstream run-container-step.json", upstream("run-container-step.json"), []string{redisID}, ""},
		{"neither", `{"services":5}`, nil, "want a list of container ids"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var st State
			err := decode("state", json.RawMessage(c.state), &st)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(st.Services, c.want) {
				t.Errorf("services %q, want %q", st.Services, c.want)
			}
		})
	}
	// What this version writes is the list.
	out, err := json.Marshal(State{Job: "github:1", Services: ServiceIDs{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"services":["a","b"]`) {
		t.Errorf("state written as %s", out)
	}
}

// The upstream examples decode into the hook's argument types: the field
// names this package reads are the ones the runner writes.
func TestUpstreamExamplesDecode(t *testing.T) {
	fx := newHostFixture(t, 0, newFakeDocker())
	in, err := ReadInput(bytes.NewReader(fx.upstreamInput(t, "prepare-job.json", "/r")))
	if err != nil {
		t.Fatal(err)
	}
	var p PrepareJobArgs
	if err := decode("args", in.Args, &p); err != nil {
		t.Fatal(err)
	}
	if in.Command != PrepareJob || p.Container == nil || p.Container.Image != "node:22" || p.Container.CreateOptions != "--cpus 1" ||
		len(p.Container.SystemMountVolumes) != 8 || len(p.Container.UserMountVolumes) != 1 ||
		p.Container.Registry == nil || p.Container.Registry.Username != "foo" ||
		!slices.Equal(p.Container.PortMappings, []string{"80:8080"}) ||
		len(p.Services) != 1 || p.Services[0].Image != "redis" || !slices.Equal(p.Services[0].PortMappings, []string{"8080:80", "8088:8080"}) {
		t.Errorf("prepare-job.json args = %+v", p)
	}
	in, err = ReadInput(bytes.NewReader(fx.upstreamInput(t, "run-script-step.json", "")))
	if err != nil {
		t.Fatal(err)
	}
	var s ScriptStepArgs
	if err := decode("args", in.Args, &s); err != nil {
		t.Fatal(err)
	}
	if in.Command != RunScriptStep || s.EntryPoint != "bash" || !slices.Equal(s.EntryPointArgs, []string{"-e", "example-script.sh"}) ||
		!slices.Equal(s.PrependPath, []string{"/foo/bar", "bar/foo"}) || s.EnvironmentVariables["NODE_ENV"] != "development" {
		t.Errorf("run-script-step.json args = %+v", s)
	}
	in, err = ReadInput(bytes.NewReader(fx.upstreamInput(t, "run-container-step.json", "/r")))
	if err != nil {
		t.Fatal(err)
	}
	var ci ContainerInfo
	if err := decode("args", in.Args, &ci); err != nil {
		t.Fatal(err)
	}
	if in.Command != RunContainerStep || ci.Image != "node:22" || ci.Dockerfile != "" || ci.EntryPoint != "bash" ||
		len(ci.SystemMountVolumes) != 7 || !slices.Equal(ci.PortMappings, []string{"8080:8080"}) {
		t.Errorf("run-container-step.json args = %+v", ci)
	}
}
