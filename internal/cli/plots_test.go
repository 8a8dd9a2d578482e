package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
)

// plotsProject is a small git project with a line plot, a confusion plot
// and a ROC plot, committed on main and changed on a branch.
func plotsProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, "mlci.yaml"), `plots:
  - loss.csv:
      x: step
      y: loss
  - preds.csv:
      template: confusion
      x: actual
      y: predicted
  - scores.csv:
      template: roc
      x: label
      y: score
report:
  extra: [notes.md]
`)
	writeFile(t, filepath.Join(dir, "loss.csv"), "step,loss\n0,1\n1,0.7\n2,0.5\n")
	writeFile(t, filepath.Join(dir, "preds.csv"), "actual,predicted\ncat,dog\ncat,cat\ndog,dog\n")
	writeFile(t, filepath.Join(dir, "scores.csv"), "label,score\n1,0.6\n0,0.7\n1,0.8\n0,0.2\n")
	writeFile(t, filepath.Join(dir, "notes.md"), "## Team notes\n\n![sample](sample.png)\n")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "base")
	git(t, dir, "checkout", "-q", "-b", "change")
	writeFile(t, filepath.Join(dir, "loss.csv"), "step,loss\n0,1\n1,0.5\n2,0.3\n")
	writeFile(t, filepath.Join(dir, "preds.csv"), "actual,predicted\ncat,cat\ncat,cat\ndog,dog\n")
	writeFile(t, filepath.Join(dir, "scores.csv"), "label,score\n1,0.9\n0,0.3\n1,0.8\n0,0.2\n")
	writeFile(t, filepath.Join(dir, "more.md"), "## Appended\n")
	return dir
}

func TestPlotsEndToEnd(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// post says the report is posted to the fake GitHub.
		post bool
		want []string
	}{
		{name: "ci posts plots", args: []string{"ci"}, post: true,
			want: []string{"### Plots", "```mermaid", "xychart-beta", "| **cat** | 2 (+1) | 0 (-1) |", "## Team notes"}},
		{name: "report appends files after report.extra", args: []string{"report", "--append", "more.md"},
			want: []string{"### Plots", "```mermaid", "## Team notes\n\n![sample](sample.png)\n\n## Appended"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := githubfake.New(t)
			api.AddToken("tok", "mlci-bot", true, false)
			api.AddRepo("o", "r")
			api.AddPullRequest("o", "r", 7, "headsha", "open")
			env := githubEnv(t, api, "tok")
			env["GITHUB_BASE_REF"] = "main"
			dir := plotsProject(t)
			r := run(t, env, append([]string{"-C", dir}, tt.args...)...)
			if r.code != ExitOK {
				t.Fatalf("exit %d: %s\n%s", r.code, r.stderr, r.stdout)
			}
			body := r.stdout
			if tt.post {
				comments := api.Comments("o", "r", 7)
				if len(comments) != 1 {
					t.Fatalf("comments = %+v", comments)
				}
				body = comments[0].Body
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("report lacks %q:\n%s", w, body)
				}
			}
			if i, j := strings.Index(body, "### Plots"), strings.Index(body, "## Team notes"); i < 0 || j < i {
				t.Errorf("the user's markdown is not after the plots:\n%s", body)
			}
			plotsDir := filepath.Join(dir, "mlci-plots")
			entries, err := os.ReadDir(plotsDir)
			if err != nil {
				t.Fatal(err)
			}
			var svgs int
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".svg") {
					svgs++
				}
			}
			if _, err := os.Stat(filepath.Join(plotsDir, "index.html")); err != nil || svgs != 3 {
				t.Errorf("report directory holds %d SVGs (want 3) and index.html: %v", svgs, err)
			}
			outputs, _ := os.ReadFile(env["GITHUB_OUTPUT"])
			if !strings.Contains(string(outputs), "plots-dir") || !strings.Contains(string(outputs), plotsDir) {
				t.Errorf("outputs lack plots-dir:\n%s", outputs)
			}
			if !strings.Contains(r.stderr, "plots: "+plotsDir) {
				t.Errorf("stderr does not name the report directory:\n%s", r.stderr)
			}
			if tt.post {
				summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
				if !strings.Contains(string(summary), "`mlci-plots`: upload it as a job artifact") {
					t.Errorf("step summary does not name the report directory:\n%s", summary)
				}
			}
		})
	}
}

// The report directory is named by mlci.yaml and may already exist in the
// checkout, both the pull request author's to choose: committed as a link
// (or under a linked folder), it would have mlci write SVGs and index.html
// wherever it points on the runner.
func TestPlotsDirRefusesLinks(t *testing.T) {
	tests := []struct {
		name string
		// plant makes dir's report directory lead to outside.
		plant func(t *testing.T, dir, outside string)
	}{
		{name: "the directory is a link", plant: func(t *testing.T, dir, outside string) {
			if err := os.Symlink(outside, filepath.Join(dir, "mlci-plots")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a folder above it is a link", plant: func(t *testing.T, dir, outside string) {
			if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "mlci.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "mlci.yaml"), strings.Replace(string(data), "report:\n", "report:\n  dir: out/plots\n", 1))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := plotsProject(t)
			outside := t.TempDir()
			tt.plant(t, dir, outside)
			r := run(t, map[string]string{"GITHUB_BASE_REF": "main"}, "-C", dir, "report")
			if r.code != ExitUsage || !strings.Contains(r.stderr, "link") {
				t.Errorf("exit %d, stderr %q; want exit %d naming the link", r.code, r.stderr, ExitUsage)
			}
			err := filepath.WalkDir(outside, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					t.Errorf("mlci wrote %s outside the project", p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
