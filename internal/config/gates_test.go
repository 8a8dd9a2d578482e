package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGates(t *testing.T) {
	src := `metrics: [metrics.json]
gates:
  - name: accuracy
    metric: eval.val.accuracy
    goal: maximize
    min: 0.9
    max_drop: 0.5%
  - name: loss
    metric: "eval.*.loss"
    goal: minimize
    max_rise: 0.01
    warn_only: true
    per_example:
      head: eval/scores.csv
      score: loss
`
	c, err := Parse("mlci.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	min := 0.9
	want := []Gate{
		{Name: "accuracy", Metric: "eval.val.accuracy", Goal: Maximize, Min: &min, MaxDrop: "0.5%", Line: 3,
			Drop: &Threshold{Value: 0.5, Percent: true}},
		{Name: "loss", Metric: "eval.*.loss", Goal: Minimize, MaxRise: "0.01", WarnOnly: true, Line: 8,
			Rise:       &Threshold{Value: 0.01},
			PerExample: &PerExample{Head: "eval/scores.csv", Score: "loss", ID: "id", Confidence: 0.95, Resamples: 10000}},
	}
	if d := cmp.Diff(want, c.Gates); d != "" {
		t.Errorf("gates (-want +got):\n%s", d)
	}
}

func TestGateErrors(t *testing.T) {
	tests := []struct {
		name, rule, want string
	}{
		{"no name", "metric: a\n    goal: maximize", `mlci.yaml:2:5: gates[0] has no name`},
		{"no metric", "name: g\n    goal: maximize", `gate "g" has no metric`},
		{"no goal", "name: g\n    metric: a", `gate "g" has no goal`},
		{"bad goal", "name: g\n    metric: a\n    goal: up", `mlci.yaml:4:11: gate "g": goal "up" is not maximize or minimize`},
		{"malformed percent", "name: g\n    metric: a\n    goal: maximize\n    max_drop: \"5 %%\"", `mlci.yaml:5:15: gate "g": threshold "5 %%" is not a non-negative number`},
		{"negative threshold", "name: g\n    metric: a\n    goal: maximize\n    max_drop: -1", `threshold "-1"`},
		{"rise on maximize", "name: g\n    metric: a\n    goal: maximize\n    max_rise: 1", "use max_drop"},
		{"drop on minimize", "name: g\n    metric: a\n    goal: minimize\n    max_drop: 1", "use max_rise"},
		{"min above max", "name: g\n    metric: a\n    goal: maximize\n    min: 2\n    max: 1", "can never pass"},
		{"bad glob", "name: g\n    metric: \"a[\"\n    goal: maximize", "malformed"},
		{"bad missing_base", "name: g\n    metric: a\n    goal: maximize\n    missing_base: maybe", `gate "g": missing_base "maybe" must be "fail" (the default), "warn" or "pass"`},
		{"per_example without score", "name: g\n    metric: a\n    goal: maximize\n    per_example:\n      head: s.csv", `needs "head:"`},
		{"bad confidence", "name: g\n    metric: a\n    goal: maximize\n    per_example: {head: s.csv, score: s, confidence: 95}", "between 0 and 1"},
		{"unknown key", "name: g\n    metric: a\n    goal: maximize\n    max_dorp: 1", `unknown key "max_dorp" in gates[0]; did you mean "max_drop"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("mlci.yaml", []byte("gates:\n  - "+tt.rule+"\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	for _, mb := range []string{"pass", "warn", "fail"} {
		if _, err := Parse("mlci.yaml", []byte("gates:\n  - {name: g, metric: a, goal: maximize, max_drop: 0, missing_base: "+mb+"}\n")); err != nil {
			t.Errorf("missing_base: %s: %v", mb, err)
		}
	}
	_, err := Parse("mlci.yaml", []byte("gates:\n  - {name: g, metric: a, goal: maximize}\n  - {name: g, metric: b, goal: maximize}\n"))
	if err == nil || !strings.Contains(err.Error(), "used twice (lines 2 and 3)") {
		t.Errorf("duplicate names: err = %v", err)
	}
}

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in      string
		want    Threshold
		wantErr bool
	}{
		{"0.01", Threshold{Value: 0.01}, false},
		{"0.5%", Threshold{Value: 0.5, Percent: true}, false},
		{" 2 % ", Threshold{Value: 2, Percent: true}, false},
		{"5 %%", Threshold{}, true},
		{"NaN", Threshold{}, true},
		{"inf", Threshold{}, true},
		{"", Threshold{}, true},
	}
	for _, tt := range tests {
		got, err := ParseThreshold(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParseThreshold(%q) = %+v, %v", tt.in, got, err)
		}
	}
	if got := (Threshold{Value: 10, Percent: true}).Of(-0.5); got != 0.05 {
		t.Errorf("10%% of -0.5 = %v, want 0.05", got)
	}
}
