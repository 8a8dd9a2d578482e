package glexec

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/lease"
)

const (
	testNetwork = testContainer + "-net"
	testService = `[{"name":"registry.example.com:5000/group/pg:16","alias":"db, pg","entrypoint":["docker-entrypoint.sh"],"command":["postgres","-c","fsync=off"],"variables":{"POSTGRES_PASSWORD":"pw"}},` +
		`{"name":"redis:7","alias":"","entrypoint":null,"command":null}]`
)

func TestPrepareServices(t *testing.T) {
	f := newFixture(t, 8)
	f.env["CUSTOM_ENV_CI_JOB_SERVICES"] = testService
	f.env["CUSTOM_ENV_CI_REGISTRY"] = "registry.example.com:5000"
	f.env["CUSTOM_ENV_CI_REGISTRY_USER"] = "gitlab-ci-token"
	f.env["CUSTOM_ENV_CI_REGISTRY_PASSWORD"] = "job-token"
	f.env["CUSTOM_ENV_SECRET"] = "not for services"
	if err := f.exec.Prepare(t.Context()); err != nil {
		t.Fatalf("Prepare: %v\n%s", err, f.stderr)
	}
	if d := cmp.Diff(map[string]map[string]string{testNetwork: {"mlci.job": testJob}}, f.docker.networks); d != "" {
		t.Errorf("networks (-want +got):\n%s", d)
	}
	want := []jobrun.Container{{
		Name:       testContainer + "-svc-0",
		Image:      "registry.example.com:5000/group/pg:16",
		Entrypoint: []string{"docker-entrypoint.sh"},
		Cmd:        []string{"postgres", "-c", "fsync=off"},
		Env:        map[string]string{"POSTGRES_PASSWORD": "pw"},
		Labels:     map[string]string{"mlci.job": testJob, "mlci.owner": formatOwner(lease.Self()), "mlci.service": "0"},
		Network:    testNetwork,
		Aliases:    []string{"db", "pg", "registry.example.com__group__pg", "registry.example.com-group-pg"},
	}, {
		Name:    testContainer + "-svc-1",
		Image:   "redis:7",
		Labels:  map[string]string{"mlci.job": testJob, "mlci.owner": formatOwner(lease.Self()), "mlci.service": "1"},
		Network: testNetwork,
		Aliases: []string{"redis"},
	}}
	if len(f.docker.created) != 3 {
		t.Fatalf("created %d containers, want 2 services and the job's", len(f.docker.created))
	}
	if d := cmp.Diff(want, f.docker.created[:2]); d != "" {
		t.Errorf("service specs (-want +got):\n%s", d)
	}
	job := f.docker.created[2]
	if job.Name != testContainer || job.Network != testNetwork || len(job.Aliases) != 0 || len(job.GPUs) != 2 {
		t.Errorf("job container %+v: want %s on %s with its 2 GPUs", job, testContainer, testNetwork)
	}
	// The services are running before the job container starts.
	ids := []string{f.docker.byName[want[0].Name], f.docker.byName[want[1].Name], f.docker.byName[testContainer]}
	if !slices.Equal(f.docker.started, ids) {
		t.Errorf("started %v, want %v", f.docker.started, ids)
	}
	if !slices.Equal(f.docker.pulled, []string{testImage, want[0].Image, want[1].Image}) {
		t.Errorf("pulled %v", f.docker.pulled)
	}
	if a := f.docker.auths[1]; a.Username != "gitlab-ci-token" || a.Password != "job-token" {
		t.Errorf("the service from the GitLab registry was pulled with %+v, want the job's credentials", a)
	}
	if f.docker.auths[2] != (jobrun.Auth{}) {
		t.Errorf("redis pulled with %+v, want no credentials", f.docker.auths[2])
	}
	for _, s := range f.docker.created[:2] {
		if len(s.GPUs) != 0 || len(s.Mounts) != 0 {
			t.Errorf("service %s has GPUs %v mounts %v, want none", s.Name, s.GPUs, s.Mounts)
		}
	}

	f.exec.Cleanup(t.Context())
	f.checkNothingLeft(t)
	for _, n := range []string{want[0].Name, want[1].Name, testContainer} {
		if !slices.Contains(f.docker.removed, n) {
			t.Errorf("cleanup removed %v, want %s among them", f.docker.removed, n)
		}
	}
	// Cleanup again is harmless.
	f.exec.Cleanup(t.Context())
	f.checkNothingLeft(t)
}

func TestPrepareNoServices(t *testing.T) {
	for _, v := range []string{"", "null", "[]", " [] "} {
		f := newFixture(t, 8)
		f.env["CUSTOM_ENV_CI_JOB_SERVICES"] = v
		if err := f.exec.Prepare(t.Context()); err != nil {
			t.Fatalf("CI_JOB_SERVICES %q: Prepare: %v", v, err)
		}
		if len(f.docker.created) != 1 || f.docker.created[0].Network != "" || len(f.docker.networks) != 0 {
			t.Errorf("CI_JOB_SERVICES %q: created %+v networks %v, want the job container alone", v, f.docker.created, f.docker.networks)
		}
		for _, c := range f.docker.calls {
			if strings.Contains(c, "Network") {
				t.Errorf("CI_JOB_SERVICES %q: call %q for a job without services", v, c)
			}
		}
		f.exec.Cleanup(t.Context())
		f.checkNothingLeft(t)
	}
}

func TestPrepareServicesMalformed(t *testing.T) {
	for _, v := range []string{
		`{`,
		`{"name":"redis"}`,
		`["redis"]`,
		`[{"name":""}]`,
		`[{"name":"redis","variables":5}]`,
		`[{"name":"redis","command":"redis-server"}]`,
	} {
		f := newFixture(t, 8)
		f.env["CUSTOM_ENV_CI_JOB_SERVICES"] = v
		err := f.exec.Prepare(t.Context())
		if err == nil || !strings.Contains(err.Error(), "CUSTOM_ENV_CI_JOB_SERVICES") {
			t.Errorf("CI_JOB_SERVICES %s: Prepare = %v, want an error naming CUSTOM_ENV_CI_JOB_SERVICES", v, err)
		}
		if len(f.docker.calls) != 0 || len(f.leases(t)) != 0 {
			t.Errorf("CI_JOB_SERVICES %s: docker calls %v leases %v before the refusal", v, f.docker.calls, f.leases(t))
		}
		// Cleanup of the same job still never fails.
		f.exec.Cleanup(t.Context())
		f.checkNothingLeft(t)
	}
}

// A retried prepare removes what the previous attempt started, services
// and network included, before starting anew.
func TestPrepareServicesTwice(t *testing.T) {
	f := newFixture(t, 8)
	f.env["CUSTOM_ENV_CI_JOB_SERVICES"] = testService
	ctx := t.Context()
	if err := f.exec.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	first := maps.Clone(f.docker.byName)
	before := len(f.docker.calls)
	if err := f.exec.Prepare(ctx); err != nil {
		t.Fatalf("second Prepare: %v\n%s", err, f.stderr)
	}
	wantFirst := []string{"Remove " + testContainer, "Remove " + testContainer + "-svc-0", "Remove " + testContainer + "-svc-1", "RemoveNetwork " + testNetwork}
	if got := f.docker.calls[before:]; len(got) < len(wantFirst) || !slices.Equal(got[:len(wantFirst)], wantFirst) {
		t.Errorf("second prepare began with %v, want %v", got, wantFirst)
	}
	if f.docker.count() != 3 || f.docker.networkCount() != 1 {
		t.Errorf("%d containers and %d networks, want 3 and 1", f.docker.count(), f.docker.networkCount())
	}
	for name, id := range first {
		if f.docker.exists(id) {
			t.Errorf("container %s of the first attempt remains", name)
		}
	}
	if ls := f.leases(t); len(ls) != 1 || ls[0].Container != f.docker.byName[testContainer] {
		t.Errorf("leases %+v, want one on the new job container", ls)
	}
	f.exec.Cleanup(ctx)
	f.checkNothingLeft(t)
}

// A service that fails to start fails prepare, leaving nothing behind.
func TestPrepareServiceFails(t *testing.T) {
	f := newFixture(t, 8)
	f.env["CUSTOM_ENV_CI_JOB_SERVICES"] = testService
	f.docker.startErr = errors.New("service exploded")
	err := f.exec.Prepare(t.Context())
	if err == nil || !strings.Contains(err.Error(), "service exploded") || !strings.Contains(err.Error(), "registry.example.com:5000/group/pg:16") {
		t.Fatalf("Prepare = %v, want the failure naming the service", err)
	}
	f.checkNothingLeft(t)
}

func TestServiceAliases(t *testing.T) {
	tests := []struct {
		image, alias string
		want         []string
	}{
		{"redis", "", []string{"redis"}},
		{"redis:7", "", []string{"redis"}},
		{"tutum/wordpress:latest", "", []string{"tutum__wordpress", "tutum-wordpress"}},
		{"registry.example.com/group/image:tag", "", []string{"registry.example.com__group__image", "registry.example.com-group-image"}},
		{"registry.gitlab-wp.com:4999/tutum/wordpress", "", []string{"registry.gitlab-wp.com__tutum__wordpress", "registry.gitlab-wp.com-tutum-wordpress"}},
		{"localhost:5000/img@sha256:0123", "", []string{"localhost__img", "localhost-img"}},
		{"postgres:16", "db", []string{"db", "postgres"}},
		{"postgres:16", "db,pg  other", []string{"db", "pg", "other", "postgres"}},
		{"postgres", "postgres", []string{"postgres"}},
	}
	for _, tt := range tests {
		got := Service{Name: tt.image, Alias: tt.alias}.Aliases()
		if !slices.Equal(got, tt.want) {
			t.Errorf("aliases of %s (alias %q) = %v, want %v", tt.image, tt.alias, got, tt.want)
		}
	}
}

func TestServiceVariablesList(t *testing.T) {
	f := newFixture(t, 0)
	f.env["CUSTOM_ENV_CI_JOB_SERVICES"] = `[{"name":"pg","variables":[{"key":"A","value":"1"},{"key":"B","value":"2"}]}]`
	s, err := f.exec.services()
	if err != nil || len(s) != 1 {
		t.Fatalf("services = %+v, %v", s, err)
	}
	if d := cmp.Diff(map[string]string{"A": "1", "B": "2"}, map[string]string(s[0].Variables)); d != "" {
		t.Errorf("variables (-want +got):\n%s", d)
	}
}

// Like GitLab: a service whose ports stay closed is a warning, not a failed
// job; one that fails its health check fails the job.
func TestServiceReadiness(t *testing.T) {
	t.Run("ports closed", func(t *testing.T) {
		f := newFixture(t, 8)
		f.env["CUSTOM_ENV_CI_JOB_SERVICES"] = `[{"name":"postgres:16"}]`
		f.docker.portsErr = errors.New("port 5432 not open after 30s")
		if err := f.exec.Prepare(t.Context()); err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		if !strings.Contains(f.stderr.String(), "warning: service postgres:16 is probably not ready: port 5432 not open") {
			t.Errorf("stderr %q", f.stderr)
		}
		if !slices.ContainsFunc(f.docker.calls, func(c string) bool {
			return strings.HasPrefix(c, "WaitPorts ") && strings.HasSuffix(c, " "+testNetwork)
		}) {
			t.Errorf("ports not waited for on the job network: %v", f.docker.calls)
		}
	})
}
