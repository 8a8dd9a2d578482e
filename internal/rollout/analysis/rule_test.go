package analysis

import (
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/config"
)

// literalEnd returns where the string literal opened by s[0] closes, as
// PromQL's lexer reads it: a backslash escapes the next character.
func literalEnd(t *testing.T, s string) int {
	t.Helper()
	quote := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case quote != '`' && s[i] == '\\':
			i++
		case s[i] == quote:
			return i
		}
	}
	t.Fatalf("literal %s is never closed", s)
	return -1
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestExpandCannotBreakOutOfTheLiteral is the attack: a version that
// closes the label value and adds a selector of its own, which would make
// the query select whatever the version's author wants judged.
func TestExpandCannotBreakOutOfTheLiteral(t *testing.T) {
	attacks := map[string]string{
		"closing quote":           `v1"} or vector(1) or x{a="`,
		"escaped quote":           `v1\"} or vector(1) #`,
		"trailing backslash":      `v1\`,
		"single quote":            `v1'} or vector(0) or x{a='`,
		"backslash before quote":  `\\"}`,
		"placeholder in a value":  `{{version}}"`,
		"unicode and a backquote": "v1`é\"",
	}
	templates := map[string]struct{ prefix, suffix string }{
		"double quotes": {`sum(mlci_requests_total{version="`, `"})`},
		"single quotes": {`sum(mlci_requests_total{version='`, `'})`},
	}
	for tname, tpl := range templates {
		for aname, version := range attacks {
			t.Run(tname+"/"+aname, func(t *testing.T) {
				got, err := expand(tpl.prefix+Placeholder+tpl.suffix, version)
				if err != nil {
					t.Fatalf("expand: %v", err)
				}
				if !strings.HasPrefix(got, tpl.prefix) || !strings.HasSuffix(got, tpl.suffix) {
					t.Fatalf("expand changed the query around the value: %s", got)
				}
				open := len(tpl.prefix) - 1
				end := open + literalEnd(t, got[open:])
				if want := len(got) - len(tpl.suffix); end != want {
					t.Fatalf("the version closed the literal at %d, not %d: %s", end, want, got)
				}
				if v := unescape(got[open+1 : end]); v != version {
					t.Errorf("the literal reads %q, want the version %q", v, version)
				}
			})
		}
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name, template, version, want, err string
	}{
		{name: "plain", template: `up{version="{{version}}"}`, version: "v1.2.0", want: `up{version="v1.2.0"}`},
		{name: "twice", template: `a{v="{{version}}"} / b{v="{{version}}"}`, version: "v2", want: `a{v="v2"} / b{v="v2"}`},
		{name: "escaped quote before", template: `a{x="\"", v="{{version}}"}`, version: "v2", want: `a{x="\"", v="v2"}`},
		{name: "raw string", template: "a{v=`{{version}}`}", version: "v2", want: "a{v=`v2`}"},
		{name: "raw string refuses a backquote", template: "a{v=`{{version}}`}", version: "v`2", err: "backquote"},
		{name: "outside a literal", template: `a{v={{version}}}`, version: "v2", err: "inside a quoted label value"},
		{name: "in a comment", template: "a{v=\"{{version}}\"} # \"{{version}}\"", version: "v2", err: "comment"},
		{name: "comment quotes open nothing", template: "a # it's\n + b{v=\"{{version}}\"}", version: "v2", want: "a # it's\n + b{v=\"v2\"}"},
		{name: "unclosed literal", template: `a{v="{{version}}}`, version: "v2", err: "not closed"},
		{name: "control character", template: `a{v="{{version}}"}`, version: "v\n2", err: "control character"},
		{name: "not UTF-8", template: `a{v="{{version}}"}`, version: "v\xff", err: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.template, tt.version)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("expand = %q, %v; want an error with %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("expand = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func f(v float64) *float64 { return &v }

func TestValidate(t *testing.T) {
	q := `sum(x{version="{{version}}"})`
	drop := &config.Threshold{Value: 1, Percent: true}
	tests := []struct {
		name string
		rule Rule
		err  string
	}{
		{name: "query", rule: Rule{Name: "latency", Query: q, Max: f(0.3)}},
		{name: "rate", rule: Rule{Name: "errors", Success: q, Total: q, MaxDrop: drop, MinTotal: 100}},
		{name: "no name", rule: Rule{Query: q, Max: f(1)}, err: "no name"},
		{name: "both forms", rule: Rule{Name: "r", Query: q, Success: q, Total: q, Max: f(1)}, err: "both query and success/total"},
		{name: "neither form", rule: Rule{Name: "r", Max: f(1)}, err: "no query"},
		{name: "half a rate", rule: Rule{Name: "r", Success: q, Max: f(1)}, err: "both success and total"},
		{name: "no placeholder", rule: Rule{Name: "r", Query: `sum(x)`, Max: f(1)}, err: `query "sum(x)" has no {{version}}; mlci puts the canary's and the stable version's label value there`},
		{name: "no placeholder in total", rule: Rule{Name: "r", Success: q, Total: "sum(y)", Max: f(1)}, err: `total "sum(y)" has no {{version}}`},
		{name: "unquoted placeholder", rule: Rule{Name: "r", Query: `x{v={{version}}}`, Max: f(1)}, err: "inside a quoted label value"},
		{name: "bounds nothing", rule: Rule{Name: "r", Query: q}, err: "bounds nothing"},
		{name: "min above max", rule: Rule{Name: "r", Query: q, Min: f(2), Max: f(1)}, err: "can never pass"},
		{name: "rate bound above 1", rule: Rule{Name: "r", Success: q, Total: q, Min: f(99)}, err: "outside [0, 1]"},
		{name: "confidence 1", rule: Rule{Name: "r", Success: q, Total: q, Min: f(0.9), Confidence: 1}, err: "confidence"},
		{name: "negative min_total", rule: Rule{Name: "r", Success: q, Total: q, Min: f(0.9), MinTotal: -1}, err: "min_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Validate()
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("Validate = %v; want an error with %q", err, tt.err)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	drop := config.Threshold{Value: 0.5, Percent: true}
	got := FromConfig([]config.AnalysisRule{{Name: "errors", Success: "s", Total: "t", Drop: &drop, Confidence: 0.9, MinTotal: 50, WarnOnly: true}})
	want := Rule{Name: "errors", Success: "s", Total: "t", MaxDrop: &drop, Confidence: 0.9, MinTotal: 50, WarnOnly: true}
	if len(got) != 1 || got[0].Name != want.Name || got[0].MaxDrop != want.MaxDrop || got[0].Confidence != want.Confidence ||
		got[0].MinTotal != want.MinTotal || !got[0].WarnOnly || got[0].Success != "s" || got[0].Total != "t" {
		t.Errorf("FromConfig = %+v; want %+v", got, want)
	}
}
