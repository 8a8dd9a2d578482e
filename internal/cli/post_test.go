package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
)

// githubEnv is what the runner sets for a pull_request job, pointed at the
// fake API.
func githubEnv(t *testing.T, api *githubfake.Server, token string) map[string]string {
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	writeFile(t, event, `{"pull_request": {"number": 7, "head": {"sha": "headsha"}}}`)
	writeFile(t, filepath.Join(dir, "output"), "")
	writeFile(t, filepath.Join(dir, "summary"), "")
	return map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_API_URL":      api.URL(),
		"GITHUB_SERVER_URL":   api.ServerURL(),
		"GITHUB_REPOSITORY":   "o/r",
		"GITHUB_EVENT_NAME":   "pull_request",
		"GITHUB_EVENT_PATH":   event,
		"GITHUB_SHA":          "mergesha",
		"GITHUB_RUN_ID":       "42",
		"GITHUB_TOKEN":        token,
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
}

func TestCIPostsToGitHub(t *testing.T) {
	api := githubfake.New(t)
	api.AddToken("tok", "mlci-bot", true, false)
	api.AddRepo("o", "r")
	api.AddPullRequest("o", "r", 7, "headsha", "open")
	env := githubEnv(t, api, "tok")
	dir := quickstart(t)
	args := []string{"-C", dir, "ci", "--baseline", "baseline/metrics.json"}

	r := run(t, env, args...)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
	comments := api.Comments("o", "r", 7)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "## ✅ mlci: checks passed") || !strings.Contains(comments[0].Body, forge.Marker("default")) {
		t.Fatalf("comments = %+v", comments)
	}
	if st := api.Statuses("o", "r", "headsha"); len(st) != 1 || st[0].State != "success" || st[0].Context != "mlci/gate" {
		t.Errorf("statuses on the PR head = %+v", st)
	}
	if !strings.Contains(r.stdout, "::add-mask::tok") || strings.Contains(strings.ReplaceAll(r.stdout, "::add-mask::tok", ""), "tok\n") {
		t.Errorf("token not masked, or printed:\n%s", r.stdout)
	}
	outputs, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	for _, want := range []string{"verdict", "pass", "comment-url", comments[0].HTMLURL, "report-path", "data-root", "blake3:8ad3c3aa"} {
		if !strings.Contains(string(outputs), want) {
			t.Errorf("outputs lack %q:\n%s", want, outputs)
		}
	}
	if summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); !strings.Contains(string(summary), "### Gates") {
		t.Errorf("step summary = %q", summary)
	}

	// A second run with nothing new edits nothing.
	again := run(t, env, args...)
	if again.code != ExitOK || !strings.Contains(again.stdout, "(unchanged)") || len(api.Comments("o", "r", 7)) != 1 {
		t.Errorf("second run: exit %d, %d comments\n%s", again.code, len(api.Comments("o", "r", 7)), again.stdout)
	}

	// A failing gate updates the same comment and fails the job.
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.5, "loss": 0.39, "macro_f1": 0.97}}, "train": {"accuracy": 0.84, "loss": 0.49, "macro_f1": 0.85}}`)
	failed := run(t, env, args...)
	comments = api.Comments("o", "r", 7)
	if failed.code != ExitFailed || len(comments) != 1 || !strings.Contains(comments[0].Body, "❌ mlci: checks failed") {
		t.Errorf("failing run: exit %d, comments %+v", failed.code, comments)
	}
	if st := api.Statuses("o", "r", "headsha"); st[len(st)-1].State != "failure" {
		t.Errorf("last status = %+v", st[len(st)-1])
	}
}

func TestCIForkPullRequestDoesNotFail(t *testing.T) {
	api := githubfake.New(t)
	api.AddToken("ro", "fork-user", false, false)
	api.AddRepo("o", "r")
	api.AddPullRequest("o", "r", 7, "headsha", "open")
	env := githubEnv(t, api, "ro")
	r := run(t, env, "-C", quickstart(t), "ci", "--baseline", "baseline/metrics.json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if len(api.Comments("o", "r", 7)) != 0 || !strings.Contains(r.stdout, "note: ") {
		t.Errorf("fork run: comments %d, output:\n%s", len(api.Comments("o", "r", 7)), r.stdout)
	}
	if summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); !strings.Contains(string(summary), "mlci: checks passed") {
		t.Errorf("the report is not in the step summary: %q", summary)
	}
}

func TestCIMissingTokenIsOneLine(t *testing.T) {
	api := githubfake.New(t)
	env := githubEnv(t, api, "")
	r := run(t, env, "-C", quickstart(t), "ci", "--baseline", "baseline/metrics.json")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "GITHUB_TOKEN") || strings.Count(errorLines(r.stderr), "\n") != 1 {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

// --forge picks where the report goes whatever CI runs the job; the
// choices and the hint to skip posting are what the user reads.
func TestCIForgeChoice(t *testing.T) {
	api := githubfake.New(t)
	tests := []struct {
		name   string
		env    map[string]string
		forge  string
		code   int
		stderr string
	}{
		{name: "unknown forge", forge: "bitbucket", code: ExitUsage, stderr: `--forge "bitbucket": choose auto, github, gitlab or local`},
		{name: "github outside Actions without a token", forge: "github", code: ExitUsage, stderr: "; or pass --forge local to skip posting"},
		{name: "gitlab inside Actions without a token", env: githubEnv(t, api, "tok"), forge: "gitlab", code: ExitUsage, stderr: "; or pass --forge local to skip posting"},
		{name: "local inside Actions", env: githubEnv(t, api, ""), forge: "local", code: ExitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, "-C", quickstart(t), "ci", "--baseline", "baseline/metrics.json", "--forge", tc.forge)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stderr %q, want %q in it", r.code, tc.code, r.stderr, tc.stderr)
			}
		})
	}
}

// A job whose post fails still has the report: the step summary and the
// verdict and report-path outputs are written before the forge is asked.
func TestCIPostFailureKeepsSummaryAndOutputs(t *testing.T) {
	api := githubfake.New(t)
	api.AddRepo("o", "r")
	api.AddPullRequest("o", "r", 7, "headsha", "open")
	env := githubEnv(t, api, "unknown-token") // 401 on the first call
	dir := quickstart(t)
	r := run(t, env, "-C", dir, "ci", "--baseline", "baseline/metrics.json")
	if r.code != ExitService || strings.Count(errorLines(r.stderr), "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want 3 and one line", r.code, r.stderr)
	}
	outputs, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	for _, want := range []string{"verdict", "pass", "report-path", filepath.Join(dir, "mlci-report.md"), "data-root"} {
		if !strings.Contains(string(outputs), want) {
			t.Errorf("outputs lack %q:\n%s", want, outputs)
		}
	}
	if summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); !strings.Contains(string(summary), "mlci: checks passed") {
		t.Errorf("step summary = %q", summary)
	}
	if _, err := os.Stat(filepath.Join(dir, "mlci-report.md")); err != nil {
		t.Errorf("no report file: %v", err)
	}
}

func TestCIPostsToGitLab(t *testing.T) {
	api := gitlabfake.New(t)
	api.AddToken("gltok", "mlci-bot", true)
	api.AddProject("group/project")
	api.AddMergeRequest("group/project", 3, "headsha")
	env := map[string]string{
		"GITLAB_CI":            "true",
		"CI_API_V4_URL":        api.URL(),
		"CI_PROJECT_PATH":      "group/project",
		"CI_PROJECT_URL":       api.ServerURL() + "/group/project",
		"CI_MERGE_REQUEST_IID": "3",
		"CI_COMMIT_SHA":        "headsha",
		"CI_PIPELINE_URL":      api.ServerURL() + "/group/project/-/pipelines/9",
		"GITLAB_TOKEN":         "gltok",
	}
	args := []string{"-C", quickstart(t), "ci", "--baseline", "baseline/metrics.json"}
	for i := range 2 {
		r := run(t, env, args...)
		if r.code != ExitOK {
			t.Fatalf("run %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	notes := api.Notes("group/project", 3)
	if len(notes) != 1 || !strings.Contains(notes[0].Body, "[CI run]("+env["CI_PIPELINE_URL"]+")") {
		t.Errorf("notes = %+v", notes)
	}
	if st := api.Statuses("group/project", "headsha"); len(st) != 2 || st[1].Status != "success" {
		t.Errorf("statuses = %+v", st)
	}
}

func TestReportCommand(t *testing.T) {
	dir := quickstart(t)
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": 0.5, "loss": 0.39, "macro_f1": 0.97}}, "train": {"accuracy": 0.84, "loss": 0.49, "macro_f1": 0.85}}`)
	r := run(t, nil, "-C", dir, "report", "--baseline", "baseline/metrics.json")
	if r.code != ExitOK {
		t.Fatalf("report exits %d on a failing gate, want 0: %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "## ❌ mlci: checks failed") || !strings.Contains(r.stdout, "| accuracy-floor |") {
		t.Errorf("report:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "mlci-report.md")); !os.IsNotExist(err) {
		t.Error("report without --post wrote mlci-report.md")
	}
	posted := run(t, nil, "-C", dir, "report", "--post", "--baseline", "baseline/metrics.json")
	if posted.code != ExitOK || !strings.Contains(posted.stderr, "report: local mlci-report.md") {
		t.Errorf("report --post: exit %d stderr %q", posted.code, posted.stderr)
	}
	if bad := run(t, nil, "-C", dir, "report", "--comment-mode", "sticky"); bad.code != ExitUsage || !strings.Contains(bad.stderr, "update, recreate, append, off") {
		t.Errorf("bad mode: exit %d stderr %q", bad.code, bad.stderr)
	}
}

func TestReportHistory(t *testing.T) {
	dir := prRepo(t)
	// Two more commits on main that changed the metrics.
	git(t, dir, "checkout", "-q", "main")
	for _, acc := range []string{"0.95", "0.96"} {
		writeFile(t, filepath.Join(dir, "metrics.json"), `{"eval": {"val": {"accuracy": `+acc+`, "loss": 0.4, "macro_f1": 0.95}}}`)
		git(t, dir, "commit", "-q", "-am", "metrics "+acc)
	}
	git(t, dir, "checkout", "-q", "feature")
	r := run(t, nil, "-C", dir, "report", "--base", "main", "--history", "5")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"### History", "xychart-beta", `title "eval.val.accuracy"`, "0.9714, 0.95, 0.96, 0.9714]"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
}

// errorLines drops the line naming the report directory, which ci prints
// before posting when the project has plots (the quick start does), so a
// test can count the lines of the error alone.
func errorLines(stderr string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if !strings.HasPrefix(l, "plots: ") {
			b.WriteString(l)
		}
	}
	return b.String()
}
