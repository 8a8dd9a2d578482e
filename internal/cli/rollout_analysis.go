package cli

import (
	"context"
	"encoding/json"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/rollout"
)

// analysisResult is the analysis of one advance: the verdict, why in one
// line, the evidence as JSON for the step's record, and a table for people.
type analysisResult struct {
	verdict rollout.Verdict
	why     string
	doc     json.RawMessage
	table   string
}

// analyze judges the canary by the rollout's analysis rules; with none,
// every step passes on time alone.
func (o *rolloutOptions) analyze(ctx context.Context, r *config.Rollout, prometheus string, s rollout.State) (analysisResult, error) {
	if len(r.Analysis) == 0 {
		return analysisResult{verdict: rollout.Pass, why: "no analysis rules"}, nil
	}
	_ = ctx
	_ = prometheus
	_ = s
	return analysisResult{verdict: rollout.Inconclusive, why: "analysis not wired"}, nil
}
