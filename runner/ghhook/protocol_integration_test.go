//go:build integration

package ghhook

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/mlci/mlci/runner/dockerjob/dockertest"
)

// forEngineUpstream changes upstream's prepare_job example to what this
// engine can run: the local image for the job and for n services sent as
// the runner sends them (no contextName), nothing pulled, no named volume
// left behind; ports are the services' own.
func (e *engine) forEngineUpstream(n int, ports ...string) func(map[string]any) {
	return func(m map[string]any) {
		c := jobContainer(m)
		c["image"], c["createOptions"], c["registry"] = e.image, "", nil
		c["userMountVolumes"], c["portMappings"] = []any{}, []any{}
		var svcs []any
		for range n {
			p := make([]any, 0, len(ports))
			for _, s := range ports {
				p = append(p, s)
			}
			svcs = append(svcs, map[string]any{
				"image": e.image, "entryPoint": "sleep", "entryPointArgs": []any{"600"},
				"createOptions": "", "registry": nil, "environmentVariables": map[string]any{},
				"userMountVolumes": []any{}, "portMappings": p,
			})
		}
		m["args"].(map[string]any)["services"] = svcs
	}
}

func TestProtocolIntegration(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	e := newEngine(ctx, t)

	// Item 7: two services without contextName, as the real runner sends
	// them, each kept and answered at its index, reachable by a name from
	// its image; cleanup_job leaves nothing labelled with the job.
	t.Run("TwoServicesCleanup", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			state func(st State) State // what cleanup_job is given
		}{
			{"state as prepared", func(st State) State { return st }},
			{"state without services or network", func(st State) State {
				st.Services, st.Network = nil, ""
				return st
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				fx, _ := e.newJob(t, 0)
				raw, state, err := fx.prepareUpstream(t, ctx, e.forEngineUpstream(2))
				if err != nil {
					t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
				}
				st := decodeState(t, state)
				_, svcs := runnerReads(t, raw, true, []string{"first", "second"})
				if len(svcs) != 2 || svcs["first"].Id == svcs["second"].Id {
					t.Fatalf("runner sees services %+v, want two containers", svcs)
				}
				base, _, _ := strings.Cut(e.image, ":") // the image's name, "mlci-dockertest"
				for i, name := range []string{"first", "second"} {
					info, err := e.api.ContainerInspect(ctx, svcs[name].Id)
					if err != nil {
						t.Fatalf("service %d: %v", i, err)
					}
					if !info.State.Running || info.Config.Labels[labelJob] != st.Job {
						t.Errorf("service %d running %v labels %v", i, info.State.Running, info.Config.Labels)
					}
					ep := info.NetworkSettings.Networks[st.Network]
					if want := fmt.Sprintf("%s-%d", base, i); ep == nil || !slices.Contains(ep.Aliases, want) {
						t.Errorf("service %d on %s: %+v, want alias %s", i, st.Network, ep, want)
					}
				}
				if l := dockertest.Leftovers(t, e.api, labelJob, st.Job); len(l.Containers) != 3 || len(l.Networks) != 1 {
					t.Fatalf("after prepare_job %d containers and %d networks labelled with the job, want 3 and 1", len(l.Containers), len(l.Networks))
				}

				fx.cleanupJob(t, ctx, mustJSON(t, c.state(st)))
				if l := dockertest.Leftovers(t, e.api, labelJob, st.Job); len(l.Containers) != 0 || len(l.Networks) != 0 {
					t.Errorf("after cleanup_job %d containers and %d networks labelled with the job remain", len(l.Containers), len(l.Networks))
				}
				if _, err := e.api.NetworkInspect(ctx, st.Network, network.InspectOptions{}); err == nil {
					t.Errorf("network %s remains", st.Network)
				}
			})
		}
	})

	// Item 6: upstream's "Should confirm that CI and GITHUB_ACTIONS are set"
	// (packages/docker/tests/run-script-step-test.ts): a script step sees
	// both from the job container, and a container step has them too.
	t.Run("RunnerEnv", func(t *testing.T) {
		fx, _ := e.newJob(t, 0)
		_, state, err := fx.prepareUpstream(t, ctx, e.forEngineUpstream(0))
		if err != nil {
			t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
		}
		t.Cleanup(func() { fx.cleanupJob(t, testCtx(t, time.Minute), state) })
		before := len(fx.stdout.String())
		in := fx.upstreamInput(t, "run-script-step.json", "", func(m map[string]any) {
			m["state"] = state
			a := m["args"].(map[string]any)
			a["entryPoint"], a["entryPointArgs"] = "env", []any{}
		})
		if err := fx.hook.Run(ctx, bytes.NewReader(in)); err != nil {
			t.Fatalf("run_script_step: %v\n%s", err, fx.stderr)
		}
		script := fx.stdout.String()[before:]
		before = len(fx.stdout.String())
		in = fx.upstreamInput(t, "run-container-step.json", fx.responseFile(t), func(m map[string]any) {
			m["state"] = state
			a := m["args"].(map[string]any)
			a["image"], a["createOptions"], a["userMountVolumes"], a["portMappings"] = e.image, "", []any{}, []any{}
			a["entryPoint"], a["entryPointArgs"] = "env", []any{}
			a["environmentVariables"] = map[string]any{"NODE_ENV": "development", "CI": "from-the-step"}
		})
		if err := fx.hook.Run(ctx, bytes.NewReader(in)); err != nil {
			t.Fatalf("run_container_step: %v\n%s", err, fx.stderr)
		}
		step := fx.stdout.String()[before:]
		for what, c := range map[string]struct {
			out  string
			want []string
		}{
			"script step":    {script, []string{"CI=true", "GITHUB_ACTIONS=true", "NODE_ENV=development"}},
			"container step": {step, []string{"CI=from-the-step", "GITHUB_ACTIONS=true", "NODE_ENV=development"}},
		} {
			lines := strings.Split(c.out, "\n")
			for _, w := range c.want {
				if !slices.Contains(lines, w) {
					t.Errorf("%s env lacks %s:\n%s", what, w, c.out)
				}
			}
		}
	})

	// Item 5: published ports come back keyed by the bare container port,
	// udp as tcp, as the runner puts them into job.services.<name>.ports.
	t.Run("Ports", func(t *testing.T) {
		fx, _ := e.newJob(t, 0)
		raw, state, err := fx.prepareUpstream(t, ctx, e.forEngineUpstream(1, "80", "53/udp"))
		if err != nil {
			t.Fatalf("prepare_job: %v\n%s", err, fx.stderr)
		}
		t.Cleanup(func() { fx.cleanupJob(t, testCtx(t, time.Minute), state) })
		_, svcs := runnerReads(t, raw, true, []string{"svc"})
		info, err := e.api.ContainerInspect(ctx, svcs["svc"].Id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for port, bs := range info.NetworkSettings.Ports {
			for _, b := range bs {
				want[port.Port()] = b.HostPort
			}
		}
		got := svcs["svc"].Ports
		if len(want) != 2 || len(got) != 2 || got["80"] != want["80"] || got["53"] != want["53"] {
			t.Errorf("job.services.svc.ports = %v, want %v (the engine's %v)", got, want, info.NetworkSettings.Ports)
		}
	})
}
