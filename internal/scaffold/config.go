package scaffold

import (
	"encoding/json"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/metrics"
)

// Gate is the starting gate init proposes: no regression of one metric
// against the baseline.
type Gate struct {
	Metric string `json:"metric"`
	File   string `json:"file"`
	Goal   string `json:"goal"` // "maximize" or "minimize"
}

// Words in a metric's last name part that say which way is better. A
// metric that matches neither gets no gate: a wrong direction would pass
// every regression.
var (
	higherBetter = []string{"accuracy", "acc", "f1", "macro_f1", "micro_f1", "precision", "recall", "auc", "roc_auc", "pr_auc", "map", "iou", "miou", "dice", "bleu", "rouge", "r2", "score", "top1", "top5", "ndcg", "mrr"}
	lowerBetter  = []string{"loss", "error", "err", "mse", "rmse", "mae", "mape", "perplexity", "ppl", "wer", "cer", "latency", "logloss"}
)

// SuggestGate returns the first metric, in the order of the files and
// then of the flattened keys, that is a number whose direction its name
// tells. Files that fail to parse are passed over; mlci ci would name
// their error.
func SuggestGate(fsys fs.FS, files []string) (Gate, bool) {
	for _, p := range files {
		r, err := fsys.Open(p)
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(r, maxDVCFile))
		r.Close()
		mf, err := metrics.Parse(p, data)
		if err != nil {
			continue
		}
		for _, k := range mf.Keys() {
			if mf.Values[k].Kind != metrics.Number || k == "" {
				continue
			}
			if goal := goalOf(k); goal != "" {
				return Gate{Metric: k, File: p, Goal: goal}, true
			}
		}
	}
	return Gate{}, false
}

func goalOf(key string) string {
	last := strings.ToLower(key[strings.LastIndex(key, ".")+1:])
	words := strings.FieldsFunc(last, func(r rune) bool { return r == '_' || r == '-' })
	has := func(list []string) bool {
		return slices.Contains(list, last) || slices.ContainsFunc(words, func(w string) bool { return slices.Contains(list, w) })
	}
	switch {
	case has(lowerBetter):
		return "minimize"
	case has(higherBetter):
		return "maximize"
	}
	return ""
}

// Config renders mlci.yaml for what Detect found. Every choice is
// explained in a comment, since the file is the user's to edit; models
// are listed commented out, because a model in mlci.yaml makes every merge
// to the default branch push version tags, which a team should opt into.
func Config(f Findings, gate *Gate) []byte {
	var b strings.Builder
	b.WriteString("# mlci configuration, written by mlci init from what the repository holds.\n")
	b.WriteString("# Reference: https://github.com/mlci/mlci#configuration-mlciyaml\n")
	b.WriteString("version: 1\n")
	if len(f.Data) > 0 {
		b.WriteString("# Datasets: mlci data lock records their digests in mlci.lock (commit it);\n")
		b.WriteString("# mlci ci fails a change whose data no longer matches the lock.\n")
		b.WriteString("data:\n")
		for _, d := range f.Data {
			b.WriteString("  - " + scalar(d) + "\n")
		}
	} else {
		b.WriteString("# No data folder found (data/, dataset(s)/, DVC-tracked). List one to lock it:\n")
		b.WriteString("# data:\n#   - data/raw\n")
	}
	list := func(key, what string, paths []string, example string) {
		if len(paths) == 0 {
			b.WriteString("# No " + what + " file found. List yours (JSON or YAML, read as DVC reads them):\n")
			b.WriteString("# " + key + ": [" + example + "]\n")
			return
		}
		b.WriteString(key + ":\n")
		for _, p := range paths {
			b.WriteString("  - " + scalar(p) + "\n")
		}
	}
	list("metrics", "metrics", f.Metrics, "metrics.json")
	list("params", "params", f.Params, "params.yaml")
	if gate != nil {
		b.WriteString("gates:\n")
		b.WriteString("  # A starting gate: the candidate may not lose more than 1% of the\n")
		b.WriteString("  # baseline's value (the merge base's " + gate.File + ").\n")
		b.WriteString("  # missing_base: warn lets the change that adds the metric pass.\n")
		b.WriteString("  - name: " + scalar(gateName(gate.Metric)) + "\n")
		b.WriteString("    metric: " + scalar(gate.Metric) + "\n")
		b.WriteString("    goal: " + gate.Goal + "\n")
		if gate.Goal == "minimize" {
			b.WriteString("    max_rise: 1%\n")
		} else {
			b.WriteString("    max_drop: 1%\n")
		}
		b.WriteString("    missing_base: warn\n")
	} else {
		b.WriteString("# Gates judge metrics; no metric found says which way is better. For example:\n")
		b.WriteString("# gates:\n#   - name: accuracy-no-regression\n#     metric: eval.accuracy\n")
		b.WriteString("#     goal: maximize\n#     max_drop: 1%\n#     missing_base: warn\n")
	}
	if len(f.Models) > 0 {
		b.WriteString("# Models found. Uncomment to register each merge to the default branch as a\n")
		b.WriteString("# new version (git tags GTO reads) and promote it to dev; the CI job then\n")
		b.WriteString("# needs to push tags (GitHub: permissions contents: write), and the\n")
		b.WriteString("# artifact must be in the checkout (committed, or made by an earlier step).\n")
		b.WriteString("# models:\n")
		used := map[string]bool{}
		for _, m := range f.Models {
			name := modelName(m, used)
			b.WriteString("#   - name: " + scalar(name) + "\n")
			b.WriteString("#     artifact: " + scalar(m) + "\n")
		}
	}
	return []byte(b.String())
}

var (
	plainScalar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./-]*$`)
	nonName     = regexp.MustCompile(`[^a-z0-9]+`)
)

// scalar writes s as a YAML scalar: plain when that reads back as the same
// string, else double-quoted (a JSON string is a valid one).
func scalar(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n":
	default:
		if plainScalar.MatchString(s) {
			return s
		}
	}
	q, _ := json.Marshal(s)
	return string(q)
}

func gateName(metric string) string {
	n := strings.Trim(nonName.ReplaceAllString(strings.ToLower(metric), "-"), "-")
	if n == "" {
		n = "metric"
	}
	return n + "-no-regression"
}

// modelName derives a GTO-valid name from the artifact's path: its file
// name without the extension, or its folder's.
func modelName(p string, used map[string]bool) string {
	base := strings.TrimSuffix(path.Base(p), path.Ext(p))
	if slices.Contains(modelDirs, strings.ToLower(base)) && path.Dir(p) != "." {
		base = path.Base(path.Dir(p))
	}
	n := strings.Trim(nonName.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if n == "" {
		n = "model"
	}
	name := n
	for i := 2; used[name]; i++ {
		name = n + "-" + strconv.Itoa(i)
	}
	used[name] = true
	return name
}
