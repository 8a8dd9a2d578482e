package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/gate"
)

func TestQuickstartCI(t *testing.T) {
	dir := quickstart(t)
	// The README's quick-start command: the baseline's plot data stand
	// for the head's files of the same name.
	args := []string{"ci", "--baseline", "baseline/metrics.json", "--baseline", "baseline/plots/train.csv", "--baseline", "baseline/plots/predictions.csv"}
	r := run(t, nil, append([]string{"-C", dir}, args...)...)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	golden(t, "ci-quickstart.txt", r.stdout)
	report, err := os.ReadFile(filepath.Join(dir, "mlci-report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### Plots",
		`title "Validation accuracy by training examples per class — base: val_accuracy vs head: val_accuracy"`,
		"**Confusion matrix (validation)**",
		"| **0** | 6 (±0) |",
		`title "ROC, digit 8 against the rest — base: score (AUC 1.000) vs head: score (AUC 1.000)"`,
	} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}

	j := run(t, nil, append([]string{"-C", dir, "--json"}, args...)...)
	var doc ciResult
	if err := json.Unmarshal([]byte(j.stdout), &doc); err != nil {
		t.Fatalf("ci --json: %v\n%s", err, j.stdout)
	}
	if !doc.Pass || len(doc.Data) != 1 || doc.Gates == nil || doc.Gates.Warned != 1 || len(doc.Metrics) == 0 {
		t.Errorf("ci --json = %+v", doc)
	}
}

func TestCIReportsEveryFailure(t *testing.T) {
	dir := quickstart(t)
	changeThree(t, dir)
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.5, "loss": 0.39, "macro_f1": 0.97}}}`)
	r := run(t, map[string]string{"GITHUB_ACTIONS": "true"}, "-C", dir, "ci", "--forge", "local", "--baseline", "baseline/metrics.json")
	if r.code != ExitFailed {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"~  data/digits/train/3/3-000.pgm",
		"FAIL accuracy-floor (mlci.yaml line 17): 0.5 is below the minimum 0.9",
		"::error file=mlci.yaml,line=17,title=mlci gate accuracy-floor::",
		"mlci: FAIL (data, gates)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "data and gates failed") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestGateCommand(t *testing.T) {
	dir := quickstart(t)
	r := run(t, nil, "-C", dir, "--json", "gate", "--baseline", "baseline/metrics.json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep gate.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Version != gate.SchemaVersion || len(rep.Verdicts) != 4 || rep.Verdicts[1].Interval == nil {
		t.Fatalf("report = %+v", rep)
	}
	iv := rep.Verdicts[1].Interval
	if !(iv.Lo < 0 && iv.Hi > 0) || iv.Resamples != 10000 || iv.N != 70 {
		t.Errorf("bootstrap interval = %+v, want one straddling 0 over 70 examples", iv)
	}
	again := run(t, nil, "-C", dir, "--json", "gate", "--baseline", "baseline/metrics.json")
	if again.stdout != r.stdout {
		t.Error("two runs on the same commit gave different verdicts")
	}
	md := run(t, nil, "-C", dir, "gate", "--md", "--baseline", "baseline/metrics.json")
	if !strings.HasPrefix(md.stdout, "| Rule | Metric |") || !strings.Contains(md.stdout, "⚠️ warn") {
		t.Errorf("markdown:\n%s", md.stdout)
	}
}

func TestMetricsAndParamsDiffFromGit(t *testing.T) {
	dir := prRepo(t)
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.99, "loss": 0.39, "macro_f1": 0.9713, "new": 1}}}`)
	writeFile(t, filepath.Join(dir, "params.yaml"), "model:\n  kind: knn\n  k: 5\ntrain:\n  max_per_class: 28\n  seed: 42\n")
	r := run(t, nil, "-C", dir, "metrics", "diff")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"comparing metrics with merge base with main", "eval.val.accuracy", "0.9714", "0.99", "eval.val.new", "(new)", "train.loss", "(removed)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("metrics diff lacks %q:\n%s", want, r.stdout)
		}
	}
	p := run(t, nil, "-C", dir, "--json", "params", "diff")
	var doc struct {
		Rows []struct {
			Metric string
			Base   any
			Head   any
			Status string
		}
	}
	if err := json.Unmarshal([]byte(p.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, p.stdout)
	}
	var changed []string
	for _, row := range doc.Rows {
		if row.Status != "unchanged" {
			changed = append(changed, fmt.Sprintf("%s %v->%v", row.Metric, row.Base, row.Head))
		}
	}
	if len(changed) != 1 || changed[0] != "model.k 3->5" || len(doc.Rows) != 4 {
		t.Errorf("params diff changed rows = %q of %d", changed, len(doc.Rows))
	}
}

func TestMetricsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		args    []string
		wantErr string
	}{
		{"NaN metric", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "metrics.json"), "{\n  \"acc\": NaN\n}\n")
		}, []string{"metrics", "show"}, "metrics.json:2: NaN is not a number"},
		{"gate on a missing metric", func(t *testing.T, dir string) {
			cfg, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
			writeFile(t, filepath.Join(dir, "mlci.yaml"), strings.Replace(string(cfg), "metric: eval.val.loss", "metric: eval.val.los", 1))
		}, []string{"gate", "--baseline", "baseline/metrics.json"}, `did you mean "eval.val.loss"?`},
		{"malformed threshold", func(t *testing.T, dir string) {
			cfg, _ := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
			writeFile(t, filepath.Join(dir, "mlci.yaml"), strings.Replace(string(cfg), "max_rise: 0.05", `max_rise: "5 %%"`, 1))
		}, []string{"gate", "--baseline", "baseline/metrics.json"}, `mlci.yaml:34:15: gate "loss": threshold "5 %%"`},
		{"ragged scores", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "eval", "per_example.csv"), "id,label,predicted,correct,loss\na,1,1,1\n")
		}, []string{"gate", "--baseline", "baseline/metrics.json"}, "eval/per_example.csv:2:"},
		{"empty metrics file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "metrics.json"), "  \n")
		}, []string{"metrics", "diff", "--baseline", "baseline/metrics.json"}, "metrics.json: empty"},
		{"no baseline outside git", nil, []string{"metrics", "diff"}, "pass --baseline FILE"},
		{"both baselines", nil, []string{"gate", "--base", "main", "--baseline", "baseline/metrics.json"}, "choose one"},
		{"missing --baseline file", nil, []string{"gate", "--baseline", "gone/metrics.json"}, "--baseline gone/metrics.json: no such file"},
		{"missing --baseline file in ci", nil, []string{"ci", "--baseline", "gone/metrics.json"}, "--baseline gone/metrics.json: no such file"},
		{"missing --baseline file in diff", nil, []string{"metrics", "diff", "--baseline", "gone/metrics.json"}, "--baseline gone/metrics.json: no such file"},
		{"--baseline named like no metrics file", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "baseline", "metrics.json"))
			writeFile(t, filepath.Join(dir, "prod.json"), string(data))
		}, []string{"gate", "--baseline", "prod.json"}, "--baseline prod.json stands for the metrics or params file of the same name"},
		{"--baseline given twice", nil, []string{"gate", "--baseline", "baseline/metrics.json", "--baseline", "metrics.json"}, "both stand for metrics.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := quickstart(t)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			r := run(t, nil, append([]string{"-C", dir}, tt.args...)...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.wantErr) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d stderr %q; want exit 2 and one line containing %q", r.code, r.stderr, tt.wantErr)
			}
		})
	}
}
