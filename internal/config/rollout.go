package config

import (
	"fmt"
	"math"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlci/mlci/route"
)

// Rollout is a stage's canary: a new version takes the stage's traffic a
// share at a time, each widening judged by live metrics, before it holds
// the stage.
type Rollout struct {
	// Steps are the canary's shares in percent, increasing, ending at 100.
	Steps []float64 `yaml:"steps"`
	// MinInterval is the least time between two steps ("30m"); a step
	// asked for sooner waits.
	MinInterval string `yaml:"min_interval"`
	// Prometheus is the HTTP API's base URL the analysis queries.
	Prometheus string `yaml:"prometheus"`
	// PrometheusTokenEnv names an environment variable holding a bearer
	// token for Prometheus, so the token stays out of the repository.
	PrometheusTokenEnv string `yaml:"prometheus_token_env"`
	// Analysis is judged before each step after the first.
	Analysis []AnalysisRule `yaml:"analysis"`
	// Emit is how the traffic split is written for serving engines.
	Emit *RolloutEmit `yaml:"emit"`

	// Interval is MinInterval parsed.
	Interval time.Duration `yaml:"-"`
}

// RolloutEmit says which serving engines' manifests each step writes, and
// what those need that the registry does not know.
type RolloutEmit struct {
	// Dir is the folder, in the project, the manifests go to.
	Dir string `yaml:"dir"`
	// Kinds are among kserve, httproute and argo-rollouts (default: all).
	Kinds []string `yaml:"kinds"`
	// Namespace of the objects; empty leaves it to the GitOps tool.
	Namespace string `yaml:"namespace"`
	// Format is KServe's model format, such as sklearn or onnx.
	Format string `yaml:"format"`
	// Gateway is the HTTPRoute's parent Gateway, NAME or NAMESPACE/NAME.
	Gateway string `yaml:"gateway"`
	// Port is the Services' port the HTTPRoute sends to (default 80).
	Port int `yaml:"port"`
}

// AnalysisRule judges one live metric of the canary against a bound or
// against the stable version, in the gate grammar.
type AnalysisRule struct {
	Name string `yaml:"name"`
	// Query is PromQL with {{version}} where a version label value goes;
	// it must return one series.
	Query string `yaml:"query"`
	// Success and Total are counters, with {{version}}, whose ratio is a
	// rate judged by a two-proportion test.
	Success string `yaml:"success"`
	Total   string `yaml:"total"`
	// Min and Max bound the canary's value.
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// MaxDrop and MaxRise bound the change from the stable version's
	// value, as an amount ("0.01") or a percent ("5%").
	MaxDrop string `yaml:"max_drop"`
	MaxRise string `yaml:"max_rise"`
	// Confidence of the rate test (default 0.95).
	Confidence float64 `yaml:"confidence"`
	// MinTotal is the least canary total a rate is judged on; below it the
	// analysis is inconclusive and the rollout waits.
	MinTotal float64 `yaml:"min_total"`
	WarnOnly bool    `yaml:"warn_only"`

	Drop *Threshold `yaml:"-"`
	Rise *Threshold `yaml:"-"`
}

// versionPlaceholder is where a query takes a version's label value.
const versionPlaceholder = "{{version}}"

func checkRollout(m *Model, st *Stage, sp string, at func(p, msg string, args ...any) error) error {
	r := st.Rollout
	if r == nil {
		return nil
	}
	rp := sp + ".rollout"
	if len(r.Steps) == 0 {
		return at(rp, "model %q: stage %q: rollout has no steps; list the canary's shares in percent, e.g. steps: [5, 20, 50, 100]", m.Name, st.Name)
	}
	prev := 0.0
	for i, s := range r.Steps {
		switch {
		case math.IsNaN(s) || s <= 0 || s > 100:
			return at(fmt.Sprintf("%s.steps[%d]", rp, i), "model %q: stage %q: step %v is outside (0, 100]; a step is the canary's share in percent", m.Name, st.Name, s)
		case s <= prev:
			return at(fmt.Sprintf("%s.steps[%d]", rp, i), "model %q: stage %q: step %v does not increase on %v; list the shares in increasing order", m.Name, st.Name, s, prev)
		case !routable(s):
			return at(fmt.Sprintf("%s.steps[%d]", rp, i), "model %q: stage %q: step %v is finer than 0.01%%, the routing's resolution", m.Name, st.Name, s)
		}
		prev = s
	}
	if prev != 100 {
		return at(rp+".steps", "model %q: stage %q: the last step is %v; end the steps at 100, where the canary takes the stage", m.Name, st.Name, prev)
	}
	if r.MinInterval != "" {
		d, err := time.ParseDuration(r.MinInterval)
		if err != nil || d < 0 {
			return at(rp+".min_interval", "model %q: stage %q: min_interval %q is not a duration; write e.g. 30m or 2h", m.Name, st.Name, r.MinInterval)
		}
		r.Interval = d
	}
	if e := r.Emit; e != nil {
		if e.Dir != "" && (path.IsAbs(e.Dir) || !filepath.IsLocal(e.Dir)) {
			return at(rp+".emit.dir", "model %q: stage %q: emit dir %q must be a folder inside the project", m.Name, st.Name, e.Dir)
		}
		for i, k := range e.Kinds {
			switch k {
			case "kserve", "httproute", "argo-rollouts":
			default:
				return at(fmt.Sprintf("%s.emit.kinds[%d]", rp, i), "model %q: stage %q: emit kind %q is not kserve, httproute or argo-rollouts", m.Name, st.Name, k)
			}
		}
		if e.Port < 0 || e.Port > 65535 {
			return at(rp+".emit.port", "model %q: stage %q: emit port %d is not a TCP port", m.Name, st.Name, e.Port)
		}
	}
	if len(r.Analysis) > 0 && strings.TrimSpace(r.Prometheus) == "" {
		return at(rp, "model %q: stage %q: rollout analysis needs \"prometheus:\", the base URL of the Prometheus HTTP API", m.Name, st.Name)
	}
	names := map[string]bool{}
	for i := range r.Analysis {
		a := &r.Analysis[i]
		ap := fmt.Sprintf("%s.analysis[%d]", rp, i)
		if err := checkAnalysisRule(m.Name, a, ap, at); err != nil {
			return err
		}
		if names[a.Name] {
			return at(ap, "model %q: analysis rule %q is listed twice; give each rule a unique name", m.Name, a.Name)
		}
		names[a.Name] = true
	}
	return nil
}

// routable reports whether serving code can route share s exactly.
func routable(s float64) bool {
	_, err := route.BasisFromPercent(s)
	return err == nil
}

func checkAnalysisRule(model string, a *AnalysisRule, ap string, at func(p, msg string, args ...any) error) error {
	if a.Name == "" {
		return at(ap, `model %q: %s has no name; add "name:"`, model, ap)
	}
	rate := a.Success != "" || a.Total != ""
	switch {
	case a.Query != "" && rate:
		return at(ap, "model %q: analysis rule %q has both query and success/total; a rule is one or the other", model, a.Name)
	case a.Query == "" && !rate:
		return at(ap, "model %q: analysis rule %q has no query; set \"query:\" or \"success:\" and \"total:\"", model, a.Name)
	case rate && (a.Success == "" || a.Total == ""):
		return at(ap, "model %q: analysis rule %q: a rate needs both \"success:\" and \"total:\" counters", model, a.Name)
	}
	for _, q := range []struct{ key, text string }{{"query", a.Query}, {"success", a.Success}, {"total", a.Total}} {
		if q.text != "" && !strings.Contains(q.text, versionPlaceholder) {
			return at(ap+"."+q.key, "model %q: analysis rule %q: %s %q has no {{version}}; mlci puts the canary's and the stable version's label value there", model, a.Name, q.key, q.text)
		}
	}
	var err error
	if a.Drop, a.Rise, err = parseDropRise(a.MaxDrop, a.MaxRise, ap, fmt.Sprintf("model %q: analysis rule %q", model, a.Name), at); err != nil {
		return err
	}
	if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
		return at(ap, "model %q: analysis rule %q: min %v is above max %v, so it can never pass", model, a.Name, *a.Min, *a.Max)
	}
	if a.Min == nil && a.Max == nil && a.Drop == nil && a.Rise == nil {
		return at(ap, "model %q: analysis rule %q bounds nothing; set min, max, max_drop or max_rise", model, a.Name)
	}
	switch {
	case a.Confidence == 0:
		a.Confidence = 0.95
	case a.Confidence <= 0 || a.Confidence >= 1:
		return at(ap+".confidence", "model %q: analysis rule %q: confidence %v must be between 0 and 1, e.g. 0.95", model, a.Name, a.Confidence)
	}
	if a.MinTotal < 0 || math.IsNaN(a.MinTotal) {
		return at(ap+".min_total", "model %q: analysis rule %q: min_total %v must be 0 or more", model, a.Name, a.MinTotal)
	}
	return nil
}
