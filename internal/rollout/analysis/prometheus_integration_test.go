//go:build integration

package analysis_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/rollout/analysis"
	"github.com/mlci/mlci/internal/rollout/analysis/promtest"
)

// TestAgainstPrometheus judges canaries on counters a real Prometheus has
// scraped. The queries read raw counter values, not rate(), so what is
// judged does not depend on when the scrapes fell.
func TestAgainstPrometheus(t *testing.T) {
	const (
		requests = "mlci_requests_total"
		errs     = "mlci_request_errors_total"
		attack   = `v1"} or vector(1) or x{a="`
	)
	var c promtest.Counters
	traffic := []struct {
		version     string
		total, errs float64
	}{
		{"v1", 10000, 100},  // stable: 1% errors
		{"v2", 10000, 100},  // good canary: the same
		{"v3", 10000, 1000}, // bad canary: ten times the errors
		{"v4", 5, 0},        // a canary that has had almost no traffic
	}
	var total, totalErrs float64
	for _, tr := range traffic {
		c.Set(requests, tr.version, tr.total)
		c.Set(errs, tr.version, tr.errs)
		total += tr.total
		totalErrs += tr.errs
	}
	url := promtest.Start(t, &c)
	// One scrape carries every counter; wait until it has landed.
	promtest.WaitValue(t, url, "sum("+requests+")", total)
	promtest.WaitValue(t, url, "sum("+errs+")", totalErrs)

	sel := func(metric string) string { return "sum(" + metric + `{version="{{version}}"})` }
	success := analysis.Rule{
		Name:    "success rate",
		Success: sel(requests) + " - " + sel(errs),
		Total:   sel(requests),
		MaxDrop: &config.Threshold{Value: 0.01}, MinTotal: 100,
	}
	ratio := analysis.Rule{Name: "error ratio", Query: sel(errs) + " / " + sel(requests), Max: ptr(0.05)}
	client := &analysis.Client{URL: url}

	tests := []struct {
		name   string
		canary string
		rules  []analysis.Rule
		want   analysis.Outcome
		reason string
	}{
		{name: "a good canary passes", canary: "v2", rules: []analysis.Rule{success, ratio}, want: analysis.Pass},
		{name: "ten times the errors fails", canary: "v3", rules: []analysis.Rule{success, ratio}, want: analysis.Fail,
			reason: "significantly outside max_drop 0.01"},
		{name: "almost no traffic is inconclusive", canary: "v4", rules: []analysis.Rule{success}, want: analysis.Inconclusive,
			reason: "has 5 of min_total 100"},
		{name: "a version without series is inconclusive", canary: "v9", rules: []analysis.Rule{success, ratio}, want: analysis.Inconclusive,
			reason: "returned no series for v9"},
		{name: "a version cannot rewrite the query", canary: attack, rules: []analysis.Rule{ratio}, want: analysis.Inconclusive,
			reason: "returned no series"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), promtest.Wait)
			defer cancel()
			rep, err := analysis.Evaluate(ctx, client, tt.rules, tt.canary, "v1")
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if rep.Outcome != tt.want {
				t.Fatalf("outcome %s; want %s\n%s", rep.Outcome, tt.want, rep.Table())
			}
			if tt.reason != "" && !strings.Contains(rep.Results[0].Reason, tt.reason) {
				t.Errorf("reason %q; want it to say %q", rep.Results[0].Reason, tt.reason)
			}
		})
	}

	t.Run("several series is an error quoting the query", func(t *testing.T) {
		rule := analysis.Rule{Name: "unaggregated", Query: requests + `{version!="{{version}}"}`, Max: ptr(1e9)}
		_, err := analysis.Evaluate(context.Background(), client, []analysis.Rule{rule}, "v1", "v2")
		if err == nil || !strings.Contains(err.Error(), `query "mlci_requests_total{version!=\"v1\"}" returned 3 series; aggregate it`) {
			t.Fatalf("Evaluate error = %v; want several series", err)
		}
	})
	t.Run("a syntax error is Prometheus's error", func(t *testing.T) {
		rule := analysis.Rule{Name: "broken", Query: `sum(` + requests + `{version="{{version}}"}`, Max: ptr(1)}
		_, err := analysis.Evaluate(context.Background(), client, []analysis.Rule{rule}, "v2", "v1")
		var apiErr *analysis.APIError
		if !errors.As(err, &apiErr) || apiErr.Type != "bad_data" || errors.Is(err, analysis.ErrUnreachable) {
			t.Fatalf("Evaluate error = %v; want Prometheus's bad_data", err)
		}
	})
}

func ptr(v float64) *float64 { return &v }
