package config

import (
	"strings"
	"testing"
	"time"
)

func TestRollout(t *testing.T) {
	src := `models:
  - name: digits
    artifact: model.bin
    stages:
      - name: production
        rollout:
          steps: [5, 20, 50, 100]
          min_interval: 30m
          prometheus: http://prometheus:9090
          analysis:
            - name: errors
              success: sum(ok_total{version="{{version}}"})
              total: sum(requests_total{version="{{version}}"})
              max_drop: 1%
              min_total: 200
            - name: latency
              query: max(latency_seconds{version="{{version}}"})
              max: 0.25
`
	c, err := Parse("mlci.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Models[0].Stages[0].Rollout
	if r == nil || len(r.Steps) != 4 || r.Interval != 30*time.Minute || len(r.Analysis) != 2 {
		t.Fatalf("rollout = %+v", r)
	}
	if a := r.Analysis[0]; a.Drop == nil || !a.Drop.Percent || a.Drop.Value != 1 || a.Confidence != 0.95 || a.MinTotal != 200 {
		t.Errorf("rate rule = %+v", a)
	}
	if a := r.Analysis[1]; a.Max == nil || *a.Max != 0.25 || a.Confidence != 0.95 {
		t.Errorf("query rule = %+v", a)
	}
}

func TestRolloutErrors(t *testing.T) {
	rule := `{name: e, query: 'sum(x{v="{{version}}"})', max: 1}`
	tests := []struct{ name, rollout, want string }{
		{"no steps", "{steps: []}", "rollout has no steps"},
		{"zero step", "{steps: [0, 100]}", "step 0 is outside (0, 100]"},
		{"negative step", "{steps: [-5, 100]}", "outside (0, 100]"},
		{"over 100", "{steps: [50, 120]}", "step 120 is outside (0, 100]"},
		{"not increasing", "{steps: [20, 5, 100]}", "step 5 does not increase on 20"},
		{"repeated", "{steps: [20, 20, 100]}", "does not increase"},
		{"not ending at 100", "{steps: [5, 50]}", "end the steps at 100"},
		{"too fine", "{steps: [0.001, 100]}", "finer than 0.01%"},
		{"too fine after a fine one", "{steps: [0.07, 0.075, 100]}", "step 0.075 is finer than 0.01%"},
		{"bad interval", "{steps: [100], min_interval: soon}", `min_interval "soon" is not a duration`},
		{"analysis without prometheus", "{steps: [100], analysis: [" + rule + "]}", `needs "prometheus:"`},
		{"query without version", "{steps: [100], prometheus: 'http://p', analysis: [{name: e, query: 'sum(x)', max: 1}]}", "has no {{version}}"},
		{"both forms", "{steps: [100], prometheus: 'http://p', analysis: [{name: e, query: 'x{{version}}', success: 'a{{version}}', total: 'b{{version}}', max: 1}]}", "both query and success/total"},
		{"rate half", "{steps: [100], prometheus: 'http://p', analysis: [{name: e, success: 'a{{version}}', max: 1}]}", `needs both "success:" and "total:"`},
		{"no bound", "{steps: [100], prometheus: 'http://p', analysis: [{name: e, query: 'x{{version}}'}]}", "bounds nothing"},
		{"bad threshold", "{steps: [100], prometheus: 'http://p', analysis: [{name: e, query: 'x{{version}}', max_rise: lots}]}", "not a non-negative number"},
		{"bad confidence", "{steps: [100], prometheus: 'http://p', analysis: [{name: e, query: 'x{{version}}', max: 1, confidence: 2}]}", "confidence 2 must be between 0 and 1"},
		{"duplicate rule", "{steps: [100], prometheus: 'http://p', analysis: [" + rule + ", " + rule + "]}", "listed twice"},
		{"unknown key", "{steps: [100], interval: 5m}", `unknown key "interval"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("mlci.yaml", []byte("models:\n  - {name: m, artifact: a, stages: [{name: prod, rollout: "+tt.rollout+"}]}\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "mlci.yaml:2:") {
				t.Errorf("err = %v, want mlci.yaml:2:… containing %q", err, tt.want)
			}
		})
	}
}
