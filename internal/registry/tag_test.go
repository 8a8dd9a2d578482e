package registry

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gtoTagRE is GTO's tag_re (gto/constants.py) with its name, monorepo and
// semver parts spelled out; "-" is escaped inside classes because RE2,
// unlike Python, may not read it as a literal after a range.
func gtoTagRE(t testing.TB) *regexp.Regexp {
	t.Helper()
	name := `[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?`
	artifact := `(?:[a-zA-Z0-9\-_./]+=)?` + name
	num := `(?:0|[1-9][0-9]*)`
	preID := `(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z\-][0-9a-zA-Z\-]*)`
	semver := num + `\.` + num + `\.` + num +
		`(?:-` + preID + `(?:\.` + preID + `)*)?` +
		`(?:\+[0-9a-zA-Z\-]+(?:\.[0-9a-zA-Z\-]+)*)?`
	return regexp.MustCompile(`^(?P<artifact>` + artifact + `)(((#(?P<stage>` + name + `)|@(?P<version>v` + semver +
		`))(?P<cancel>!?))|@((?P<deprecated>deprecated)|(?P<created>created)))(#(?P<counter>[0-9]+))?$`)
}

func TestParseTag(t *testing.T) {
	re := gtoTagRE(t)
	tests := []struct {
		name string
		tag  string
		want Tag
		ok   bool
	}{
		{"register", "churn@v1.2.3", Tag{Artifact: "churn", Version: "v1.2.3", Kind: KindRegistration}, true},
		{"register prerelease", "churn@v1.2.3-rc.1+b.5", Tag{Artifact: "churn", Version: "v1.2.3-rc.1+b.5", Kind: KindRegistration}, true},
		{"register with counter", "churn@v1.0.0#4", Tag{Artifact: "churn", Version: "v1.0.0", Counter: "4", Kind: KindRegistration}, true},
		{"deregister", "churn@v1.2.3!", Tag{Artifact: "churn", Version: "v1.2.3", Cancel: true, Kind: KindDeregistration}, true},
		{"assign", "churn#prod#3", Tag{Artifact: "churn", Stage: "prod", Counter: "3", Kind: KindAssignment}, true},
		{"assign simple", "churn#prod", Tag{Artifact: "churn", Stage: "prod", Kind: KindAssignment}, true},
		{"numeric stage without counter", "churn#123", Tag{Artifact: "churn", Stage: "123", Kind: KindAssignment}, true},
		{"unassign", "churn#prod!#7", Tag{Artifact: "churn", Stage: "prod", Counter: "7", Cancel: true, Kind: KindUnassignment}, true},
		{"deprecate", "churn@deprecated", Tag{Artifact: "churn", Kind: KindDeprecation}, true},
		{"deprecate with counter", "churn@deprecated#9", Tag{Artifact: "churn", Counter: "9", Kind: KindDeprecation}, true},
		{"monorepo", "models/nlp=bert-base#staging#2", Tag{Artifact: "models/nlp:bert-base", Stage: "staging", Counter: "2", Kind: KindAssignment}, true},
		{"slashes and underscores", "Team/My_Model@v0.0.1", Tag{Artifact: "Team/My_Model", Version: "v0.0.1", Kind: KindRegistration}, true},
		{"no v", "churn@1.2.3", Tag{}, false},
		{"two part version", "churn@v1.2", Tag{}, false},
		{"leading zero", "churn@v01.2.3", Tag{}, false},
		{"created", "churn@created", Tag{Artifact: "churn", Kind: KindCreation}, true},
		{"counter beyond nine digits", "churn#prod#12345678901", Tag{Artifact: "churn", Stage: "prod", Counter: "12345678901", Kind: KindAssignment}, true},
		{"zero counter", "churn#prod#0", Tag{Artifact: "churn", Stage: "prod", Counter: "0", Kind: KindAssignment}, true},
		{"negative counter", "churn#prod#-1", Tag{}, false},
		{"plain tag", "v1.2.3", Tag{}, false},
		{"name ends in dash", "churn-@v1.0.0", Tag{}, false},
		{"empty stage", "churn##1", Tag{}, false},
		{"non-numeric counter", "churn#prod#x", Tag{}, false},
		{"deprecated cancel", "churn@deprecated!", Tag{}, false},
		{"two counters", "churn#prod#1#2", Tag{}, false},
		{"stage with dot", "churn#pro.d", Tag{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseTag(tt.tag)
			if ok != tt.ok {
				t.Fatalf("ParseTag(%q) ok = %v, want %v", tt.tag, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseTag(%q) (-want +got):\n%s", tt.tag, diff)
			}
			if gto := re.MatchString(tt.tag); gto != ok {
				t.Errorf("GTO's regex matches %q: %v, ParseTag: %v", tt.tag, gto, ok)
			}
			if ok {
				s := got.String()
				if s != tt.tag {
					t.Errorf("String() = %q, want %q", s, tt.tag)
				}
				if !re.MatchString(s) {
					t.Errorf("String() = %q does not match GTO's regex", s)
				}
			}
		})
	}
}

func TestStringMatchesGTO(t *testing.T) {
	re := gtoTagRE(t)
	for _, tag := range []Tag{
		{Artifact: "a", Version: "v0.0.1", Kind: KindRegistration},
		{Artifact: "a/b_c-d", Version: "v10.20.30-alpha.1", Cancel: true, Kind: KindDeregistration},
		{Artifact: "dir/sub:m", Stage: "prod", Counter: "12", Kind: KindAssignment},
		{Artifact: "m", Stage: "staging", Counter: "1", Cancel: true, Kind: KindUnassignment},
		{Artifact: "m", Kind: KindDeprecation},
	} {
		s := tag.String()
		if !re.MatchString(s) {
			t.Errorf("%q does not match GTO's regex", s)
		}
		back, ok := ParseTag(s)
		if !ok || back != tag {
			t.Errorf("ParseTag(%q) = %+v, %v; want %+v", s, back, ok, tag)
		}
	}
}

func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"m@v1.2.3", "m@v1.2.3!", "m#prod#3", "m#prod!#4", "m@deprecated", "d/x=m#s",
		"m@v1.0.0-rc.1+build", "m#s#007", "m@created", "=m#s", "m#s!"} {
		f.Add(s)
	}
	re := gtoTagRE(f)
	f.Fuzz(func(t *testing.T, s string) {
		tag, ok := ParseTag(s)
		if !ok {
			return
		}
		if !re.MatchString(s) {
			t.Fatalf("ParseTag accepted %q, which GTO's regex rejects", s)
		}
		out := tag.String()
		back, ok := ParseTag(out)
		if !ok || back != tag {
			t.Fatalf("ParseTag(%q) = %+v; its String %q parses to %+v, %v", s, tag, out, back, ok)
		}
		// GTO reads the counter as a number: leading zeros drop out.
		if i := strings.LastIndex(s, "#"); tag.Counter != "" && strings.TrimLeft(s[i+1:], "0") != strings.TrimLeft(string(tag.Counter), "0") {
			t.Fatalf("ParseTag(%q) counter %q", s, tag.Counter)
		}
		if !re.MatchString(out) {
			t.Fatalf("String %q does not match GTO's regex", out)
		}
	})
}
