package glexec

import (
	"strconv"
	"strings"
	"testing"
)

// CI_JOB_SERVICES comes from the job's YAML: whatever it holds, parsing
// ends in an error or services with names whose aliases are usable
// network names, never a panic.
func FuzzServices(f *testing.F) {
	for _, s := range []string{
		`[{"name":"postgres:16","alias":"db","entrypoint":null,"command":null}]`,
		`[{"name":"registry.example.com:5000/group/pg:16@sha256:abc","alias":"a,b c","variables":[{"key":"K","value":"v"}]}]`,
		`[{"name":"redis","variables":{"A":"1"}}]`, `null`, `[]`, `[{}]`, `{`, `[{"name":" "}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := &Executor{Getenv: func(k string) string {
			if k == "CUSTOM_ENV_CI_JOB_SERVICES" {
				return s
			}
			return ""
		}}
		svcs, err := e.services()
		if err != nil {
			return
		}
		for _, svc := range svcs {
			if strings.TrimSpace(svc.Name) == "" {
				t.Fatalf("accepted a service without a name from %q", s)
			}
			for _, a := range svc.Aliases() {
				if a == "" || strings.ContainsAny(a, " ,\t\n") {
					t.Fatalf("alias %q from %q", a, s)
				}
			}
		}
	})
}

// JOB_RESPONSE_FILE names the job: whatever it holds, parsing ends in an
// error or a job with an id, a host name and a usable container name.
func FuzzIdentity(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"job_info":{"project_id":2},"git_info":{"repo_url":"https://t@gitlab.example.com/g/p.git"}}`,
		`{"id":1,"variables":[{"key":"CI_SERVER_HOST","value":"gitlab.example.com"},{"key":"CI_SERVER_HOST","value":"x"}]}`,
		`{"id":1,"git_info":{"repo_url":"https://[fd00::1]:8443/p.git"}}`,
		`{"id":-1}`, `{}`, `null`, `{"id":1e3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseIdentity(b)
		if err != nil {
			return
		}
		if id.ID <= 0 || id.ProjectID < 0 || !validHost(id.Host) || id.Key != "gitlab:"+id.Host+":"+strconv.FormatInt(id.ID, 10) {
			t.Fatalf("identity %+v from %q", id, b)
		}
		if n := containerName(id.Key); n != safe(n) {
			t.Fatalf("container name %q from %q", n, b)
		}
	})
}
