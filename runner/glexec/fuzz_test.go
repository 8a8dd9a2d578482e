package glexec

import (
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
