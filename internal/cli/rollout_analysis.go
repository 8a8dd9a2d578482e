package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/rollout"
	"github.com/mlci/mlci/internal/rollout/analysis"
)

// analysisResult is the analysis of one advance: the verdict, why in one
// line, the evidence as JSON for the step's record, and a table for people.
type analysisResult struct {
	verdict rollout.Verdict
	why     string
	doc     json.RawMessage
	table   string
}

// analyze judges the canary by the rollout's analysis rules against
// Prometheus; with none, every step passes on time alone. An unreachable
// Prometheus is a service error (exit 3) and a query Prometheus refuses or
// that returns several series an input error (exit 2): either way nothing
// is recorded.
func (o *rolloutOptions) analyze(ctx context.Context, r *config.Rollout, prometheus string, s rollout.State) (analysisResult, error) {
	if len(r.Analysis) == 0 {
		return analysisResult{verdict: rollout.Pass, why: "no analysis rules"}, nil
	}
	c := &analysis.Client{URL: cmp.Or(prometheus, r.Prometheus)}
	if r.PrometheusTokenEnv != "" {
		c.BearerToken = o.io.Getenv(r.PrometheusTokenEnv)
		if c.BearerToken == "" {
			return analysisResult{}, usageError(fmt.Errorf("prometheus_token_env names %s, which is empty; set it to the Prometheus bearer token", r.PrometheusTokenEnv))
		}
	}
	rep, err := analysis.Evaluate(ctx, c, analysis.FromConfig(r.Analysis), s.Canary, s.Stable)
	switch {
	case errors.Is(err, analysis.ErrUnreachable):
		return analysisResult{}, serviceError(fmt.Errorf("analysis of %s %s: %w; nothing recorded, retry when Prometheus answers", s.Model, s.Canary, err))
	case errors.Is(err, context.Canceled):
		return analysisResult{}, err
	case err != nil:
		return analysisResult{}, usageError(fmt.Errorf("analysis of %s %s: %w; nothing recorded", s.Model, s.Canary, err))
	}
	doc, err := json.Marshal(rep)
	if err != nil {
		return analysisResult{}, fmt.Errorf("analysis record: %w", err)
	}
	return analysisResult{verdict: rollout.Verdict(rep.Outcome), why: rep.Why(), doc: doc, table: rep.Table()}, nil
}
