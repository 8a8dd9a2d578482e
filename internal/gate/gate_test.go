package gate

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite golden files")

func parseMetrics(t *testing.T, path, src string) *metrics.File {
	t.Helper()
	f, err := metrics.Parse(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func rules(t *testing.T, src string) []config.Gate {
	t.Helper()
	c, err := config.Parse("mlci.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c.Gates
}

const baseJSON = `{"eval": {"accuracy": 0.90, "loss": 0.30, "f1": 0.80}, "latency_ms": 12, "name": "resnet"}`

// The reasons a relative rule gives when the baseline has no value.
const (
	noBaseKey  = "no baseline value: eval.new is not in metrics.json at the baseline, main (1a2b3c4)"
	noBaseFile = "no baseline value: metrics.json is not at the baseline, main (1a2b3c4)"
	noBaseFail = "; a relative check needs one (for a metric this change introduces, set missing_base: warn or pass on the rule)"
)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		rule     string
		head     string
		base     string // "" means no baseline file
		want     []string
		wantPass bool
	}{
		{"min passes", "{name: r, metric: eval.accuracy, goal: maximize, min: 0.85}",
			`{"eval": {"accuracy": 0.9}}`, baseJSON, []string{"pass"}, true},
		{"min fails", "{name: r, metric: eval.accuracy, goal: maximize, min: 0.95}",
			`{"eval": {"accuracy": 0.9}}`, baseJSON, []string{"fail: 0.9 is below the minimum 0.95"}, false},
		{"max fails", "{name: r, metric: latency_ms, goal: minimize, max: 10}",
			`{"latency_ms": 11}`, baseJSON, []string{"fail: 11 is above the maximum 10"}, false},
		{"absolute drop within", "{name: r, metric: eval.accuracy, goal: maximize, max_drop: 0.01}",
			`{"eval": {"accuracy": 0.895}}`, baseJSON, []string{"pass"}, true},
		{"absolute drop beyond", "{name: r, metric: eval.accuracy, goal: maximize, max_drop: 0.01}",
			`{"eval": {"accuracy": 0.88}}`, baseJSON, []string{"fail: dropped by 0.02, more than the allowed 0.01"}, false},
		{"percent drop beyond", "{name: r, metric: eval.accuracy, goal: maximize, max_drop: 1%}",
			`{"eval": {"accuracy": 0.89}}`, baseJSON, []string{"fail: dropped by 0.01, more than the allowed 1%"}, false},
		{"percent drop within", "{name: r, metric: eval.accuracy, goal: maximize, max_drop: 2%}",
			`{"eval": {"accuracy": 0.89}}`, baseJSON, []string{"pass"}, true},
		{"rise beyond", "{name: r, metric: eval.loss, goal: minimize, max_rise: 10%}",
			`{"eval": {"loss": 0.34}}`, baseJSON, []string{"fail: rose by 0.04, more than the allowed 10%"}, false},
		{"improvement always passes", "{name: r, metric: eval.loss, goal: minimize, max_rise: 0}",
			`{"eval": {"loss": 0.1}}`, baseJSON, []string{"pass"}, true},
		{"glob gives a verdict per metric", "{name: r, metric: \"eval.*\", goal: maximize, min: 0.5}",
			`{"eval": {"accuracy": 0.9, "loss": 0.3, "f1": 0.8}}`, baseJSON,
			[]string{"pass", "pass", "fail: 0.3 is below the minimum 0.5"}, false},
		{"missing in head fails", "{name: r, metric: eval.f1, goal: maximize}",
			`{"eval": {"accuracy": 0.9}}`, baseJSON, []string{"fail: eval.f1 is missing from the candidate's metrics.json"}, false},
		{"missing base fails by default", "{name: r, metric: eval.new, goal: maximize, max_drop: 0}",
			`{"eval": {"new": 1}}`, baseJSON, []string{"fail: " + noBaseKey + noBaseFail}, false},
		{"missing base can fail", "{name: r, metric: eval.new, goal: maximize, max_drop: 0, missing_base: fail}",
			`{"eval": {"new": 1}}`, baseJSON, []string{"fail: " + noBaseKey + noBaseFail}, false},
		{"missing base can warn", "{name: r, metric: eval.new, goal: maximize, max_drop: 0, missing_base: warn}",
			`{"eval": {"new": 1}}`, baseJSON, []string{"warn: " + noBaseKey + " (missing_base: warn)"}, true},
		{"missing base can pass", "{name: r, metric: eval.new, goal: maximize, max_drop: 0, missing_base: pass}",
			`{"eval": {"new": 1}}`, baseJSON, []string{"pass"}, true},
		{"missing base still judges min", "{name: r, metric: eval.new, goal: maximize, min: 2, max_drop: 0, missing_base: warn}",
			`{"eval": {"new": 1}}`, baseJSON, []string{"fail: 1 is below the minimum 2"}, false},
		{"missing base of an absolute rule is fine", "{name: r, metric: eval.new, goal: maximize, min: 0.5}",
			`{"eval": {"new": 1}}`, baseJSON, []string{"pass"}, true},
		{"no baseline file fails", "{name: r, metric: eval.accuracy, goal: maximize, max_drop: 0}",
			`{"eval": {"accuracy": 0.1}}`, "", []string{"fail: " + noBaseFile + noBaseFail}, false},
		{"no baseline file, warn_only", "{name: r, metric: eval.accuracy, goal: maximize, max_drop: 0, warn_only: true}",
			`{"eval": {"accuracy": 0.1}}`, "", []string{"warn: " + noBaseFile + noBaseFail}, true},
		{"warn only", "{name: r, metric: eval.accuracy, goal: maximize, min: 0.95, warn_only: true}",
			`{"eval": {"accuracy": 0.9}}`, baseJSON, []string{"warn: 0.9 is below the minimum 0.95"}, true},
		{"file filter", "{name: r, metric: eval.accuracy, file: other.json, goal: maximize}",
			`{"eval": {"accuracy": 0.9}}`, baseJSON, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Head: []*metrics.File{parseMetrics(t, "metrics.json", tt.head)}, BaseName: "main (1a2b3c4)"}
			if tt.base != "" {
				in.Base = []*metrics.File{parseMetrics(t, "metrics.json", tt.base)}
			}
			r, err := Evaluate(context.Background(), rules(t, "gates:\n  - "+tt.rule+"\n"), in)
			if tt.want == nil {
				if !errors.Is(err, ErrInput) {
					t.Fatalf("err = %v, want ErrInput", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range r.Verdicts {
				s := v.Status
				if v.Status != Pass {
					s += ": " + v.Reason
				}
				got = append(got, s)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("verdicts (-want +got):\n%s", d)
			}
			if r.Pass != tt.wantPass {
				t.Errorf("Pass = %v, want %v", r.Pass, tt.wantPass)
			}
		})
	}
}

func TestEvaluateInputErrors(t *testing.T) {
	head := []*metrics.File{parseMetrics(t, "metrics.json", baseJSON)}
	tests := []struct {
		name, rule, want string
	}{
		{"unknown metric suggests", "{name: r, metric: eval.acuracy, goal: maximize}", `no metric matches "eval.acuracy"; did you mean "eval.accuracy"?`},
		{"string metric", "{name: r, metric: name, goal: maximize}", `metrics.json:1: gate "r" needs a number for name, got string "resnet"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(context.Background(), rules(t, "gates:\n  - "+tt.rule+"\n"), Input{Head: head})
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInput containing %q", err, tt.want)
			}
		})
	}
}

// scoresCSV writes n per-example 0/1 scores with the given accuracy.
func scoresCSV(n int, acc float64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	b.WriteString("id,correct\n")
	for i := range n {
		c := 0
		if r.Float64() < acc {
			c = 1
		}
		fmt.Fprintf(&b, "ex%d,%d\n", i, c)
	}
	return b.Bytes()
}

func TestBootstrapGate(t *testing.T) {
	rule := rules(t, `gates:
  - name: acc
    metric: eval.accuracy
    goal: maximize
    max_drop: 0.005
    per_example: {head: scores.csv, score: correct, resamples: 2000}
`)
	tests := []struct {
		name       string
		baseAcc    float64
		headAcc    float64
		wantStatus string
	}{
		{"noise is not a failure", 0.90, 0.90, Pass},
		{"a real drop fails", 0.90, 0.80, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{"base": scoresCSV(2000, tt.baseAcc, 1), "head": scoresCSV(2000, tt.headAcc, 2)}
			in := Input{
				Base: []*metrics.File{parseMetrics(t, "metrics.json", fmt.Sprintf(`{"eval": {"accuracy": %g}}`, tt.baseAcc))},
				Head: []*metrics.File{parseMetrics(t, "metrics.json", fmt.Sprintf(`{"eval": {"accuracy": %g}}`, tt.headAcc))},
				Scores: func(ctx context.Context, fromBase bool, path string) ([]byte, error) {
					if path != "scores.csv" {
						return nil, fmt.Errorf("unexpected path %s", path)
					}
					if fromBase {
						return files["base"], nil
					}
					return files["head"], nil
				},
				Seed: 42,
			}
			r, err := Evaluate(context.Background(), rule, in)
			if err != nil {
				t.Fatal(err)
			}
			v := r.Verdicts[0]
			if v.Status != tt.wantStatus || v.Interval == nil {
				t.Fatalf("verdict = %+v", v)
			}
			if v.Interval.Lo > v.Interval.Delta || v.Interval.Hi < v.Interval.Delta || v.Interval.N != 2000 {
				t.Errorf("interval %+v does not hold its delta", v.Interval)
			}
			again, _ := Evaluate(context.Background(), rule, in)
			if *again.Verdicts[0].Interval != *v.Interval {
				t.Error("same seed gave a different interval")
			}
		})
	}
}

// A per-example file that the baseline revision lacks is a missing
// baseline, judged by missing_base like a missing metric, not bad input.
func TestBootstrapGateWithoutBaseScores(t *testing.T) {
	tests := []struct {
		name, extra, want string
	}{
		{"fails by default", "", "fail: no baseline value: scores.csv is not at the baseline, main (1a2b3c4)" + noBaseFail},
		{"warns when told", ", missing_base: warn", "warn: no baseline value: scores.csv is not at the baseline, main (1a2b3c4) (missing_base: warn)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := rules(t, "gates:\n  - {name: acc, metric: eval.accuracy, goal: maximize, per_example: {head: scores.csv, score: correct}"+tt.extra+"}\n")
			in := Input{
				Base:     []*metrics.File{parseMetrics(t, "metrics.json", `{"eval": {"accuracy": 0.9}}`)},
				Head:     []*metrics.File{parseMetrics(t, "metrics.json", `{"eval": {"accuracy": 0.9}}`)},
				BaseName: "main (1a2b3c4)",
				Scores: func(ctx context.Context, fromBase bool, path string) ([]byte, error) {
					if fromBase {
						return nil, fmt.Errorf("%s at 1a2b3c4: %w", path, fs.ErrNotExist)
					}
					return scoresCSV(100, 0.9, 1), nil
				},
			}
			r, err := Evaluate(context.Background(), rule, in)
			if err != nil {
				t.Fatal(err)
			}
			if v := r.Verdicts[0]; v.Status+": "+v.Reason != tt.want {
				t.Errorf("verdict %q, want %q", v.Status+": "+v.Reason, tt.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	head := parseMetrics(t, "metrics.json", `{"eval": {"accuracy": 0.88, "loss": 0.31, "f1": 0.8}, "latency_ms": 12}`)
	base := parseMetrics(t, "metrics.json", baseJSON)
	r, err := Evaluate(context.Background(), rules(t, `gates:
  - {name: accuracy, metric: eval.accuracy, goal: maximize, min: 0.85, max_drop: 1%}
  - {name: loss, metric: eval.loss, goal: minimize, max_rise: 0.05, warn_only: true}
  - {name: latency, metric: latency_ms, goal: minimize, max: 20}
`), Input{Base: []*metrics.File{base}, Head: []*metrics.File{head}})
	if err != nil {
		t.Fatal(err)
	}
	var table, md, ann bytes.Buffer
	if err := RenderTable(&table, r, 5); err != nil {
		t.Fatal(err)
	}
	if err := RenderMarkdown(&md, r, 5); err != nil {
		t.Fatal(err)
	}
	Annotate(&ann, r, "mlci.yaml")
	for name, got := range map[string]string{"table.txt": table.String(), "table.md": md.String(), "annotations.txt": ann.String()} {
		p := filepath.Join("testdata", name)
		if *update {
			os.WriteFile(p, []byte(got), 0o644)
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
}
