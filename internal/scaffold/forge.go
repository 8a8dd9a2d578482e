package scaffold

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Forges init writes CI configuration for.
const (
	GitHub = "github"
	GitLab = "gitlab"
)

// Where the forges' files go, relative to the repository root.
const (
	GitHubWorkflowFile = ".github/workflows/mlci.yml"
	GitLabCIFile       = ".gitlab-ci.yml"
)

// ComponentRef is the version of the GitLab component init includes: the
// release whose image the component's image input defaults to (checked by
// action/init_test.go).
const ComponentRef = "v1.0.0"

// ComponentPath is the component's address on the GitLab instance that
// runs the pipeline.
const ComponentPath = "$CI_SERVER_FQDN/mlci/mlci/mlci"

// DetectForge picks the forge: a .github folder says GitHub, a
// .gitlab-ci.yml GitLab (GitHub first, as a repository mirrored to GitLab
// keeps its .github); else the origin remote's host (scp-like
// git@host:path or a URL) names it when it contains "gitlab"; else GitHub.
func DetectForge(hasGitHubDir, hasGitLabCI bool, origin string) string {
	switch {
	case hasGitHubDir:
		return GitHub
	case hasGitLabCI:
		return GitLab
	case strings.Contains(strings.ToLower(remoteHost(origin)), "gitlab"):
		return GitLab
	}
	return GitHub
}

func remoteHost(origin string) string {
	if u, err := url.Parse(origin); err == nil && u.Host != "" {
		return u.Hostname()
	}
	// scp-like: [user@]host:path
	if host, _, ok := strings.Cut(origin, ":"); ok {
		if _, h, ok := strings.Cut(host, "@"); ok {
			return h
		}
		return host
	}
	return ""
}

// WorkflowOptions say where the project lies in the repository and which
// branch a merge lands on.
type WorkflowOptions struct {
	// Dir is the project folder relative to the repository root, forward
	// slashes, "" or "." for the root.
	Dir string
	// Branch is the default branch; "" means main.
	Branch string
}

func (o WorkflowOptions) dir() string {
	d := strings.TrimSuffix(o.Dir, "/")
	if d == "" {
		return "."
	}
	return d
}

func (o WorkflowOptions) branch() string {
	if o.Branch == "" {
		return "main"
	}
	return o.Branch
}

// GitHubWorkflow renders .github/workflows/mlci.yml: mlci ci on pull
// requests (the report comment and commit status) and on pushes to the
// default branch (where a config with models registers and promotes).
func GitHubWorkflow(o WorkflowOptions) []byte {
	report := "mlci-report.md"
	if d := o.dir(); d != "." {
		report = d + "/" + report
	}
	return fmt.Appendf(nil, `# mlci: data check against mlci.lock, metric and params diffs against the
# merge base, gates, and one sticky pull request comment. Written by mlci init.
name: mlci
on:
  pull_request:
  push:
    branches: [%s]
permissions:
  contents: read        # write once mlci.yaml lists models: merges then push version tags
  pull-requests: write  # the sticky report comment
  statuses: write       # the mlci/gate commit status
jobs:
  mlci:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        # Shallow is fine: mlci fetches the base branch itself.
      # If the metrics files are not committed, make them here, e.g.
      # - run: python train.py
      - uses: mlci/mlci@v1
        with:
          command: ci
          working-directory: %s
      - name: Keep the full report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: mlci-report
          path: %s
`, scalar(o.branch()), scalar(o.dir()), scalar(report))
}

// includeLines is the component include, as it is appended to a
// .gitlab-ci.yml or printed for the user to add.
func includeLines(o WorkflowOptions, stage string) string {
	var b strings.Builder
	b.WriteString("include:\n")
	b.WriteString("  - component: " + ComponentPath + "@" + ComponentRef + "\n")
	b.WriteString("    inputs:\n")
	b.WriteString("      command: ci\n")
	if d := o.dir(); d != "." {
		b.WriteString("      working-directory: " + scalar(d) + "\n")
	}
	b.WriteString("      stage: " + scalar(stage) + "\n")
	return b.String()
}

// GitLabEdit is what to do with .gitlab-ci.yml.
type GitLabEdit struct {
	// Content is the whole new file; nil when nothing is to be written.
	Content []byte
	// Present says the file includes the component already.
	Present bool
	// Manual, when set, are the lines the user must add by hand, and
	// Reason says why init did not.
	Manual, Reason string
}

// GitLabCI works out the include of the component: a new file when there
// is none (existing nil), the include appended when the file has no
// include: of its own, and otherwise the lines to add by hand, since
// merging into someone's include list (a string, a list or a map, maybe
// with anchors) cannot be done safely as text. exists says whether there
// is a file, which may be empty.
func GitLabCI(existing []byte, exists bool, o WorkflowOptions) GitLabEdit {
	if !exists {
		return GitLabEdit{Content: []byte(newGitLabCI(o))}
	}
	var doc map[string]any
	if err := yaml.Unmarshal(existing, &doc); err != nil {
		return GitLabEdit{Manual: includeLines(o, "test"), Reason: fmt.Sprintf("%s does not parse as YAML (%v)", GitLabCIFile, err)}
	}
	stage := pickStage(doc["stages"])
	if inc, ok := doc["include"]; ok {
		if includesComponent(inc) {
			return GitLabEdit{Present: true}
		}
		return GitLabEdit{Manual: includeLines(o, stage), Reason: GitLabCIFile + " has an include: of its own; add the component to it"}
	}
	if bytes.HasPrefix(bytes.TrimSpace(existing), []byte("spec:")) || bytes.Contains(existing, []byte("\n---")) {
		return GitLabEdit{Manual: includeLines(o, stage), Reason: GitLabCIFile + " has more than one YAML document"}
	}
	out := slices.Clone(existing)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, "\n# mlci: data check, metric diffs, gates and the merge request note.\n"...)
	out = append(out, includeLines(o, stage)...)
	// The edit is only as safe as the result: it must still parse, and
	// read back with the include where it was put.
	var check map[string]any
	if err := yaml.Unmarshal(out, &check); err != nil || !includesComponent(check["include"]) {
		return GitLabEdit{Manual: includeLines(o, stage), Reason: "appending the include to " + GitLabCIFile + " would not read back as written"}
	}
	return GitLabEdit{Content: out}
}

// pickStage is "test" unless the pipeline lists stages without it; then
// its last stage, since the checks judge what earlier stages made.
func pickStage(stages any) string {
	list, ok := stages.([]any)
	if !ok || len(list) == 0 {
		return "test"
	}
	names := make([]string, 0, len(list))
	for _, s := range list {
		names = append(names, fmt.Sprint(s))
	}
	if slices.Contains(names, "test") {
		return "test"
	}
	return names[len(names)-1]
}

func includesComponent(inc any) bool {
	var items []any
	switch v := inc.(type) {
	case []any:
		items = v
	default:
		items = []any{v}
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		c, _ := m["component"].(string)
		if name, _, _ := strings.Cut(c, "@"); strings.HasSuffix(name, "/mlci/mlci/mlci") {
			return true
		}
	}
	return false
}

func newGitLabCI(o WorkflowOptions) string {
	return `# mlci: data check against mlci.lock, metric and params diffs against the
# merge base, gates, and one merge request note. Written by mlci init.
# Set GITLAB_TOKEN (a project access token with api scope) as a masked
# CI/CD variable: mlci posts its report with it.
stages:
  - test

# Merge request pipelines and the default branch only, so that a push to a
# branch with an open merge request does not run every job twice.
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH

` + includeLines(o, "test")
}

// IgnoredFiles are the files mlci writes in the project on every run,
// which are outputs, not sources.
var IgnoredFiles = []string{"mlci-report.md", "mlci-run.intoto.json"}

// Gitignore returns existing with a line for each of IgnoredFiles it does
// not ignore yet (anchored to the folder, as mlci writes them at the
// project root), and whether anything was added. Only exact lines count:
// a wider pattern that happens to match is left for the user to judge.
func Gitignore(existing []byte) ([]byte, bool) {
	have := map[string]bool{}
	for line := range strings.SplitSeq(string(existing), "\n") {
		have[strings.TrimPrefix(strings.TrimSpace(line), "/")] = true
	}
	var add []string
	for _, f := range IgnoredFiles {
		if !have[f] {
			add = append(add, "/"+f)
		}
	}
	if len(add) == 0 {
		return existing, false
	}
	out := slices.Clone(existing)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, "# mlci's outputs (report and run record)\n"...)
	for _, l := range add {
		out = append(out, l+"\n"...)
	}
	return out, true
}
