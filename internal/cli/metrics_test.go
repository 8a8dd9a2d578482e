package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/metrics"
)

// dvcProject writes a project whose metrics and params files, and their
// baselines under base/, are the given contents.
func dvcProject(t *testing.T, config string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mlci.yaml"), config)
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	return dir
}

// lines returns the output lines with their columns' runs of spaces
// folded, so a test does not depend on column widths.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		ls = append(ls, strings.Join(strings.Fields(l), " "))
	}
	return ls
}

func hasLine(out, want string) bool {
	for _, l := range lines(out) {
		if l == want {
			return true
		}
	}
	return false
}

// TestMetricsAsDVCShows runs the differences DVC's own tests pin down
// (internal/metrics/testdata/dvc) through the commands.
func TestMetricsAsDVCShows(t *testing.T) {
	dir := dvcProject(t, "metrics: [score.yaml, m.json]\nparams: [params.yaml]\n", map[string]string{
		// test_show_simple: a file holding one value.
		"score.yaml":      "0.9\n",
		"base/score.yaml": "0.85\n",
		// test_metrics_diff_cli: 5 decimal places; lists, nulls are no
		// metrics; booleans are.
		"m.json":      `{"foo": 3.45678910111213, "curve": [0.1, 0.2], "skipped": null, "ok": true}`,
		"base/m.json": `{"foo": 1.23456789, "curve": [0.3], "skipped": 1, "ok": false}`,
		// test_diff_list: a params list is one value; params are shown as
		// written.
		"params.yaml":      "foo:\n- bar\n- baz\n- qux\nlr: 0.000123456789\nseed: null\n",
		"base/params.yaml": "foo:\n- bar\n- baz\nlr: 0.0001\nseed: 1\n",
	})
	baseline := []string{"--baseline", "base/score.yaml", "--baseline", "base/m.json", "--baseline", "base/params.yaml"}

	show := run(t, nil, "-C", dir, "metrics", "show")
	if show.code != ExitOK {
		t.Fatalf("metrics show: exit %d: %s", show.code, show.stderr)
	}
	for _, want := range []string{"score.yaml - 0.9 (new) -", "m.json foo - 3.45679 (new) -", "m.json ok - True (new) -"} {
		if !hasLine(show.stdout, want) {
			t.Errorf("metrics show lacks the line %q:\n%s", want, show.stdout)
		}
	}
	if strings.Contains(show.stdout, "curve") || strings.Contains(show.stdout, "skipped") {
		t.Errorf("metrics show shows a list or a null:\n%s", show.stdout)
	}

	diff := run(t, nil, append([]string{"-C", dir, "metrics", "diff"}, baseline[:4]...)...)
	if diff.code != ExitOK {
		t.Fatalf("metrics diff: exit %d: %s", diff.code, diff.stderr)
	}
	for _, want := range []string{
		"score.yaml 0.85 0.9 +0.05 +5.9%",
		"m.json foo 1.23457 3.45679 +2.22222 +180%",
		"m.json ok False True +1 -",
		"m.json skipped 1 - (removed) -",
	} {
		if !hasLine(diff.stdout, want) {
			t.Errorf("metrics diff lacks the line %q:\n%s", want, diff.stdout)
		}
	}
	if strings.Contains(diff.stdout, "curve") {
		t.Errorf("metrics diff compares a list:\n%s", diff.stdout)
	}

	params := run(t, nil, append([]string{"-C", dir, "params", "diff"}, baseline[4:]...)...)
	if params.code != ExitOK {
		t.Fatalf("params diff: exit %d: %s", params.code, params.stderr)
	}
	for _, want := range []string{
		"params.yaml foo ['bar', 'baz'] ['bar', 'baz', 'qux'] - -",
		"params.yaml lr 0.0001 0.000123456789 +0.000023457 +23%",
		"params.yaml seed 1 - - -",
	} {
		if !hasLine(params.stdout, want) {
			t.Errorf("params diff lacks the line %q:\n%s", want, params.stdout)
		}
	}

	js := run(t, nil, append([]string{"-C", dir, "--json", "metrics", "diff"}, baseline[:4]...)...)
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil {
		t.Fatalf("%v: %s", err, js.stdout)
	}
	for _, r := range doc.Rows {
		if r["metric"] == "ok" && (r["base"] != false || r["head"] != true || r["change"] != 1.0) {
			t.Errorf("a boolean in JSON: %v, want false, true and change 1, as dvc metrics diff --json", r)
		}
	}
}

// TestMetricsDiffDeletedFile: as in DVC's test_metrics_diff_deleted_metric,
// a metrics file the change deleted shows its old values with no new ones;
// the gates that need them fail, as a check, not as bad input.
func TestMetricsDiffDeletedFile(t *testing.T) {
	dir := quickstart(t)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "quickstart")
	if err := os.Remove(filepath.Join(dir, "metrics.json")); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "-C", dir, "metrics", "diff", "--base", "main")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !hasLine(r.stdout, "metrics.json eval.val.accuracy 0.9714 - (removed) -") {
		t.Errorf("old values not shown:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "metrics.json is not in the work tree") {
		t.Errorf("no warning on stderr: %q", r.stderr)
	}
	js := run(t, nil, "-C", dir, "--json", "metrics", "diff", "--base", "main")
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil || len(doc.Rows) == 0 {
		t.Fatalf("%v: %s", err, js.stdout)
	}
	for _, row := range doc.Rows {
		if row["head"] != nil || row["status"] != metrics.StatusRemoved {
			t.Errorf("row %v: want head null and status removed", row)
		}
	}

	g := run(t, nil, "-C", dir, "gate", "--base", "main")
	if g.code != ExitFailed || !strings.Contains(g.stdout, "missing from the candidate's metrics.json") {
		t.Errorf("gate: exit %d, stdout %q, stderr %q; want exit 1 naming the missing metrics", g.code, g.stdout, g.stderr)
	}

	// Missing at the base too, the name in mlci.yaml is wrong.
	writeFile(t, filepath.Join(dir, "mlci.yaml"), "metrics: [metrics.jsn]\n")
	typo := run(t, nil, "-C", dir, "metrics", "diff", "--base", "main")
	if typo.code != ExitUsage || !strings.Contains(typo.stderr, "metrics.jsn") {
		t.Errorf("a file in neither: exit %d, stderr %q; want exit 2 naming it", typo.code, typo.stderr)
	}
}

// TestGatesWithListsAndBooleans: a list is no metric, so a gate cannot
// name an item of it and says so; a boolean gates as 0 or 1.
func TestGatesWithListsAndBooleans(t *testing.T) {
	files := map[string]string{
		"m.json":      `{"acc": 0.9, "curve": [0.5, 0.4], "converged": true}`,
		"base/m.json": `{"acc": 0.9, "curve": [0.6], "converged": false}`,
	}
	rules := `
gates:
  - {name: acc, metric: acc, goal: maximize, max_drop: 0}
  - {name: converged, metric: converged, goal: maximize, min: 1}
  - {name: any, metric: "*", goal: maximize, min: 0}
`
	dir := dvcProject(t, "metrics: [m.json]\n"+rules, files)
	r := run(t, nil, "-C", dir, "gate", "--baseline", "base/m.json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "curve") {
		t.Errorf("a gate judged a list item:\n%s", r.stdout)
	}

	dir = dvcProject(t, "metrics: [m.json]\ngates:\n  - {name: c, metric: curve.0, goal: minimize, max: 1}\n", files)
	r = run(t, nil, "-C", dir, "gate", "--baseline", "base/m.json")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `no metric matches "curve.0"`) {
		t.Errorf("gate on a list item: exit %d, stderr %q", r.code, r.stderr)
	}
}
