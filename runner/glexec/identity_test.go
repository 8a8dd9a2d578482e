package glexec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/lease"
)

// gitlabJob is a job as the GitLab server sends it, written to a
// JOB_RESPONSE_FILE in the shape gitlab-runner's spec.Job encodes to. Its
// variables are written in GitLab's order: id_tokens, then the predefined
// ones, then what users set.
type gitlabJob struct {
	ID        int64
	ProjectID int64
	// RepoHost is git_info.repo_url's host; "" writes no repo_url.
	RepoHost   string
	IDTokens   []testVar
	Predefined []testVar
	User       []testVar
}

type testVar struct{ Key, Value string }

// newTestJob is job id of project on the GitLab at host, private, with the
// predefined variables the executor might read.
func newTestJob(id, project int64, host string) gitlabJob {
	j := gitlabJob{ID: id, ProjectID: project, RepoHost: host}
	j.set("CI_JOB_ID", itoa(id))
	j.set("CI_SERVER_HOST", host)
	j.set("CI_PROJECT_ID", itoa(project))
	j.set("CI_PROJECT_PATH", "group/proj")
	j.set("CI_PROJECT_VISIBILITY", "private")
	return j
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// set gives a predefined variable its server value.
func (j *gitlabJob) set(key, value string) {
	if i := slices.IndexFunc(j.Predefined, func(v testVar) bool { return v.Key == key }); i >= 0 {
		j.Predefined[i].Value = value
		return
	}
	j.Predefined = append(j.Predefined, testVar{key, value})
}

// mergeRequest makes the job's pipeline a merge request's, from project src
// into project dst at path.
func (j *gitlabJob) mergeRequest(src, dst, path, visibility string) {
	j.set("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", src)
	j.set("CI_MERGE_REQUEST_PROJECT_ID", dst)
	j.set("CI_MERGE_REQUEST_PROJECT_PATH", path)
	j.set("CI_PROJECT_VISIBILITY", visibility)
}

// JSON is the job response, with the fields gitlab-runner's spec.Job has
// (common/spec/spec.go), as its custom executor writes it.
func (j gitlabJob) JSON() []byte {
	type variable struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Public bool   `json:"public"`
		File   bool   `json:"file"`
		Masked bool   `json:"masked"`
		Raw    bool   `json:"raw"`
	}
	var vars []variable
	for _, v := range slices.Concat(j.IDTokens, j.Predefined, j.User) {
		vars = append(vars, variable{Key: v.Key, Value: v.Value, Public: true})
	}
	repo := ""
	if j.RepoHost != "" {
		repo = "https://gitlab-ci-token:job-token@" + j.RepoHost + "/group/proj.git"
	}
	return mustJSON(map[string]any{
		"id":              j.ID,
		"token":           "job-token",
		"allow_git_fetch": false,
		"job_info":        map[string]any{"name": "build", "stage": "test", "project_id": j.ProjectID, "project_name": "proj"},
		"git_info":        map[string]any{"repo_url": repo, "ref": "main", "sha": "abc", "ref_type": "branch", "depth": 20},
		"runner_info":     map[string]any{"timeout": 3600},
		"variables":       vars,
		"steps":           []map[string]any{{"name": "script", "script": []string{"true"}, "timeout": 3600, "when": "on_success"}},
		"image":           map[string]any{"name": testImage},
	})
}

// writeJobResponse writes j as GitLab Runner would and returns the path to
// put in JOB_RESPONSE_FILE.
func writeJobResponse(t *testing.T, dir string, j gitlabJob) string {
	t.Helper()
	p := filepath.Join(dir, "response.json")
	if err := os.WriteFile(p, j.JSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// setJobEnv gives env what GitLab Runner gives a stage for j:
// JOB_RESPONSE_FILE, and each variable as CUSTOM_ENV_, the last of a key
// winning as in gitlab-runner (a job's YAML variable overrides a
// predefined one).
func setJobEnv(t *testing.T, env map[string]string, j gitlabJob) {
	t.Helper()
	env["JOB_RESPONSE_FILE"] = writeJobResponse(t, t.TempDir(), j)
	for _, v := range slices.Concat(j.IDTokens, j.Predefined, j.User) {
		env["CUSTOM_ENV_"+v.Key] = v.Value
	}
}

// The response gitlab-runner's own tests use reads as job 10 of project 123
// on the host of its repo_url.
func TestUpstreamJobResponse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "upstream", "job_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := parseIdentity(b)
	if err != nil {
		t.Fatal(err)
	}
	if id.ID != 10 || id.ProjectID != 123 || id.Host != "gitlab.example.com" || id.Key != "gitlab:gitlab.example.com:10" {
		t.Errorf("identity = %+v, want job 10 of project 123 on gitlab.example.com", id)
	}
}

func TestIdentity(t *testing.T) {
	base := newTestJob(1234, 77, "gitlab.example.com")
	tests := []struct {
		name     string
		job      func(*gitlabJob)
		wantKey  string
		wantProj int64
	}{
		{name: "as sent", wantKey: "gitlab:gitlab.example.com:1234", wantProj: 77},
		{name: "user variables do not rename the job", job: func(j *gitlabJob) {
			j.User = append(j.User, testVar{"CI_JOB_ID", "1"}, testVar{"CI_SERVER_HOST", "other.example"}, testVar{"CI_PROJECT_ID", "1"})
		}, wantKey: "gitlab:gitlab.example.com:1234", wantProj: 77},
		{name: "host from repo_url before CI_SERVER_HOST", job: func(j *gitlabJob) {
			j.RepoHost = "Clone.Example.com:8443"
		}, wantKey: "gitlab:clone.example.com:1234", wantProj: 77},
		{name: "no repo_url: the first CI_SERVER_HOST", job: func(j *gitlabJob) {
			j.RepoHost = ""
			j.User = append(j.User, testVar{"CI_SERVER_HOST", "victim.example"})
		}, wantKey: "gitlab:gitlab.example.com:1234", wantProj: 77},
		{name: "no repo_url, an id token named CI_SERVER_HOST is no host", job: func(j *gitlabJob) {
			j.RepoHost = ""
			j.IDTokens = []testVar{{"CI_SERVER_HOST", "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAifQ.eyJzdWIiOiJ4In0.c2ln"}}
		}, wantKey: "", wantProj: 0},
		{name: "IPv6 repo_url", job: func(j *gitlabJob) {
			j.RepoHost = "[fd00::1]"
		}, wantKey: "gitlab:fd00::1:1234", wantProj: 77},
		{name: "no project", job: func(j *gitlabJob) { j.ProjectID = 0 }, wantKey: "gitlab:gitlab.example.com:1234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := base
			j.Predefined = slices.Clone(base.Predefined)
			if tt.job != nil {
				tt.job(&j)
			}
			id, err := parseIdentity(j.JSON())
			if tt.wantKey == "" {
				if err == nil || !strings.Contains(err.Error(), "no GitLab host") {
					t.Fatalf("identity = %+v, %v; want an error naming the missing host", id, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Key != tt.wantKey || id.ProjectID != tt.wantProj {
				t.Errorf("key %q project %d, want %q and %d", id.Key, id.ProjectID, tt.wantKey, tt.wantProj)
			}
		})
	}
}

// A missing, unreadable or malformed JOB_RESPONSE_FILE is refused with one
// line saying to run as GitLab's custom executor; cleanup then touches
// nothing.
func TestIdentityRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxJobResponse + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tests := []struct {
		name, path, want string
	}{
		{"unset", "", "JOB_RESPONSE_FILE is not set"},
		{"missing", filepath.Join(dir, "nope.json"), "no such file"},
		{"a folder", dir, "not a regular file"},
		{"not JSON", write("bad.json", []byte("{")), "not the job JSON"},
		{"no id", write("noid.json", []byte(`{"job_info":{"project_id":1},"git_info":{"repo_url":"https://h.example/p.git"}}`)), "no job id"},
		{"id not a number", write("strid.json", []byte(`{"id":"7"}`)), "not the job JSON"},
		{"too big", big, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, 0)
			fx.env["JOB_RESPONSE_FILE"] = tt.path
			err := fx.exec.Prepare(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "custom executor") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Prepare = %v, want one line containing %q and naming the custom executor", err, tt.want)
			}
			fx.exec.Cleanup(t.Context())
			if len(fx.docker.calls) != 0 || len(fx.docker.inspected) != 0 {
				t.Errorf("docker calls %v %v without a job", fx.docker.calls, fx.docker.inspected)
			}
		})
	}
}

// Attack (b): the fork policy reads GitLab's own variables. A fork's
// merge request job that sets CI_PROJECT_VISIBILITY (or the merge request
// ids) itself is refused; so is one whose id_tokens shadow them.
func TestForkPolicyTrustsTheServer(t *testing.T) {
	tests := []struct {
		name string
		job  func(*gitlabJob)
		env  map[string]string
		cfg  func(*hostconfig.Config)
	}{
		{name: "CUSTOM_ENV visibility private", job: func(j *gitlabJob) {
			j.mergeRequest("500", "77", "group/proj", "public")
		}, env: map[string]string{"CUSTOM_ENV_CI_PROJECT_VISIBILITY": "private"}},
		{name: "CUSTOM_ENV same-project ids", job: func(j *gitlabJob) {
			j.mergeRequest("500", "77", "group/proj", "public")
		}, env: map[string]string{"CUSTOM_ENV_CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "77"}},
		{name: "CUSTOM_ENV allowed path", job: func(j *gitlabJob) {
			j.mergeRequest("500", "77", "group/proj", "public")
		}, env: map[string]string{"CUSTOM_ENV_CI_MERGE_REQUEST_PROJECT_PATH": "group/allowed"},
			cfg: func(c *hostconfig.Config) { c.AllowForkRepos = []string{"group/allowed"} }},
		{name: "YAML variables after the predefined ones", job: func(j *gitlabJob) {
			j.mergeRequest("500", "77", "group/proj", "public")
			j.User = append(j.User, testVar{"CI_PROJECT_VISIBILITY", "private"}, testVar{"CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "77"})
		}},
		{name: "id token named CI_PROJECT_VISIBILITY", job: func(j *gitlabJob) {
			j.mergeRequest("500", "77", "group/proj", "public")
			j.IDTokens = []testVar{{"CI_PROJECT_VISIBILITY", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}}
		}},
		{name: "id tokens named as both project ids", job: func(j *gitlabJob) {
			j.mergeRequest("500", "77", "group/proj", "public")
			j.IDTokens = []testVar{{"CI_MERGE_REQUEST_SOURCE_PROJECT_ID", "eyJ.e30.c2ln"}, {"CI_MERGE_REQUEST_PROJECT_ID", "eyJ.e30.c2ln"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 8)
			f.setJob(t, tt.job)
			for k, v := range tt.env {
				f.env[k] = v
			}
			if tt.cfg != nil {
				tt.cfg(&f.exec.Config)
			}
			err := f.exec.Prepare(t.Context())
			if err == nil || !strings.Contains(err.Error(), "refusing a merge request from a fork of public project") {
				t.Fatalf("Prepare = %v, want the fork refused", err)
			}
			if len(f.docker.created) != 0 {
				t.Errorf("created %d containers for a refused fork", len(f.docker.created))
			}
			f.checkNothingLeft(t)
		})
	}
}

// Attack (c): the cache volume is the project's GitLab sent, whatever
// CI_PROJECT_ID and CI_SERVER_HOST the job sets.
func TestCacheVolumeTrustsTheServer(t *testing.T) {
	f := newFixture(t, 0)
	delete(f.env, "CUSTOM_ENV_GPU_COUNT")
	f.env["CUSTOM_ENV_CI_PROJECT_ID"] = "999"
	f.env["CUSTOM_ENV_CI_SERVER_HOST"] = "victim.example"
	f.setJob(t, func(j *gitlabJob) {
		j.User = append(j.User, testVar{"CI_PROJECT_ID", "999"}, testVar{"CI_SERVER_HOST", "victim.example"})
	})
	if err := f.exec.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range f.docker.created[0].Mounts {
		if m.Target == CacheDir {
			got = append(got, m.Source)
		}
	}
	if d := cmp.Diff([]string{testVolume}, got); d != "" {
		t.Errorf("cache volumes (-want +got):\n%s", d)
	}
}

// Attack (a), without an engine: a job that sets another job's CI_JOB_ID
// in its YAML (so CUSTOM_ENV_CI_JOB_ID is the other's) gets its own container and leaves the other's alone,
// in prepare and in cleanup.
func TestJobIDFromEnvIgnored(t *testing.T) {
	f := newFixture(t, 8)
	ctx := t.Context()
	if err := f.exec.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	victim := f.docker.byName[testContainer]
	before := len(f.docker.removed)

	attacker := newFixture(t, 0)
	attacker.docker = f.docker
	attacker.exec.Engine = f.docker
	attacker.exec.Host = f.host
	delete(attacker.env, "CUSTOM_ENV_GPU_COUNT")
	attacker.setJob(t, func(j *gitlabJob) {
		*j = newTestJob(5678, 88, "gitlab.example.com")
		j.User = []testVar{{"CI_JOB_ID", "1234"}, {"CI_PROJECT_ID", "77"}}
	})
	if attacker.env["CUSTOM_ENV_CI_JOB_ID"] != "1234" {
		t.Fatalf("CUSTOM_ENV_CI_JOB_ID = %q, want the job's own 1234", attacker.env["CUSTOM_ENV_CI_JOB_ID"])
	}
	if err := attacker.exec.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	attacker.exec.Cleanup(ctx)
	if f.docker.byName[testContainer] != victim || slices.Contains(f.docker.removed[before:], testContainer) {
		t.Errorf("the victim's container %s was touched: removed %v", testContainer, f.docker.removed)
	}
	if ls := f.leases(t); len(ls) != 1 || ls[0].Job != testJob {
		t.Errorf("leases %+v, want the victim's still held", ls)
	}
	if strings.Count(attacker.stderr.String(), "the job sets CI_JOB_ID=1234; it is job 5678") != 1 {
		t.Errorf("stderr %q does not note the overridden CI_JOB_ID", attacker.stderr)
	}
}

// Attack (d), without an engine: a prepare whose container name a live job
// of another gitlab-runner process holds is refused and removes nothing,
// nor does the cleanup GitLab runs after it. The same runner's retry, or
// a dead runner's leftover, is replaced.
func TestPrepareNameHeld(t *testing.T) {
	other, err := lease.ProcessOwner(os.Getppid())
	if err != nil {
		t.Skipf("no parent process to own the other job: %v", err)
	}
	dead := lease.Self()
	dead.Start++
	tests := []struct {
		name    string
		holder  lease.Owner
		refused bool
	}{
		{name: "live other runner", holder: other, refused: true},
		{name: "same runner", holder: lease.Self()},
		{name: "dead runner", holder: dead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 8)
			f.env["CUSTOM_ENV_CI_JOB_SERVICES"] = `[{"name":"redis:7"}]`
			ctx := t.Context()
			f.exec.Owner = func() (lease.Owner, error) { return tt.holder, nil }
			if err := f.exec.Prepare(ctx); err != nil {
				t.Fatal(err)
			}
			held := map[string]string{testContainer: f.docker.byName[testContainer], testContainer + "-svc-0": f.docker.byName[testContainer+"-svc-0"]}
			f.exec.Owner = func() (lease.Owner, error) { return lease.Self(), nil }
			err := f.exec.Prepare(ctx)
			if !tt.refused {
				if err != nil {
					t.Fatalf("Prepare = %v, want the old containers replaced", err)
				}
				for name, id := range held {
					if f.docker.exists(id) {
						t.Errorf("container %s of the earlier prepare remains", name)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "container "+testContainer) || !strings.Contains(err.Error(), "docker rm -f "+testContainer) || !strings.Contains(err.Error(), "still runs") {
				t.Fatalf("Prepare = %v, want a refusal naming the container and how to remove it", err)
			}
			f.exec.Cleanup(ctx)
			for name, id := range held {
				if f.docker.byName[name] != id {
					t.Errorf("container %s was replaced or removed", name)
				}
			}
			if ls := f.leases(t); len(ls) != 1 || ls[0].Owner != other {
				t.Errorf("leases %+v, want the other runner's kept", ls)
			}
			if !strings.Contains(f.stderr.String(), "cleanup: container "+testContainer) {
				t.Errorf("stderr %q does not say why cleanup left the job", f.stderr)
			}
		})
	}
}

// A lease alone, its container not yet created, also marks the job as held
// by its runner.
func TestPrepareLeaseHeld(t *testing.T) {
	other, err := lease.ProcessOwner(os.Getppid())
	if err != nil {
		t.Skipf("no parent process to own the other job: %v", err)
	}
	f := newFixture(t, 8)
	ctx := t.Context()
	if _, err := f.host.Allocate(ctx, testJob, jobrun.Ask{Count: 2}, other); err != nil {
		t.Fatal(err)
	}
	err = f.exec.Prepare(ctx)
	if err == nil || !strings.Contains(err.Error(), "leases release "+testJob) {
		t.Fatalf("Prepare = %v, want a refusal naming the lease", err)
	}
}

func TestOwnerLabel(t *testing.T) {
	tests := []struct {
		label string
		want  lease.Owner
		ok    bool
	}{
		{"4242:123456", lease.Owner{PID: 4242, Start: 123456}, true},
		{"4242:0", lease.Owner{PID: 4242}, true},
		{"", lease.Owner{}, false},
		{"4242", lease.Owner{}, false},
		{"0:1", lease.Owner{}, false},
		{"-1:1", lease.Owner{}, false},
		{"x:1", lease.Owner{}, false},
		{"1:-1", lease.Owner{}, false},
	}
	for _, tt := range tests {
		got, ok := parseOwner(tt.label)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseOwner(%q) = %+v, %v; want %+v, %v", tt.label, got, ok, tt.want, tt.ok)
		}
	}
	o := lease.Owner{PID: 7, Start: 99}
	if got, ok := parseOwner(formatOwner(o)); !ok || got != o {
		t.Errorf("round trip of %+v gave %+v, %v", o, got, ok)
	}
}
