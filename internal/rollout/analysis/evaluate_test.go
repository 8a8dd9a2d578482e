package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/config"
)

// fakeProm answers each query from a table; a query it does not know has
// no series, as in Prometheus.
type fakeProm map[string][]Sample

func (p fakeProm) Query(_ context.Context, q string) ([]Sample, error) {
	return p[q], nil
}

func one1(v float64) []Sample { return []Sample{{Value: v}} }

const (
	latency = `avg(latency{version="{{version}}"})`
	okCount = `sum(ok{version="{{version}}"})`
	allReqs = `sum(requests{version="{{version}}"})`
)

// counts answers the rate queries with each version's successes and total.
func counts(prom fakeProm, version string, success, total float64) fakeProm {
	prom[`sum(ok{version="`+version+`"})`] = one1(success)
	prom[`sum(requests{version="`+version+`"})`] = one1(total)
	return prom
}

func TestEvaluateRule(t *testing.T) {
	amount := func(v float64) *config.Threshold { return &config.Threshold{Value: v} }
	pct := func(v float64) *config.Threshold { return &config.Threshold{Value: v, Percent: true} }
	rate := Rule{Name: "success", Success: okCount, Total: allReqs, MaxDrop: amount(0.01), MinTotal: 100}
	tests := []struct {
		name   string
		rule   Rule
		prom   fakeProm
		want   Outcome
		reason string
	}{
		{name: "query: under max passes", rule: Rule{Name: "latency", Query: latency, Max: f(0.3)},
			prom: fakeProm{`avg(latency{version="v2"})`: one1(0.2), `avg(latency{version="v1"})`: one1(0.25)}, want: Pass, reason: "canary 0.2 keeps max 0.3"},
		{name: "query: over max fails", rule: Rule{Name: "latency", Query: latency, Max: f(0.3)},
			prom: fakeProm{`avg(latency{version="v2"})`: one1(0.4)}, want: Fail, reason: "canary 0.4 breaks max 0.3"},
		{name: "query: a rise past the percent fails", rule: Rule{Name: "latency", Query: latency, MaxRise: pct(10)},
			prom: fakeProm{`avg(latency{version="v2"})`: one1(0.23), `avg(latency{version="v1"})`: one1(0.2)}, want: Fail, reason: "breaks max_rise 10% (limit 0.22)"},
		{name: "query: a drop within the amount passes", rule: Rule{Name: "accuracy", Query: latency, MaxDrop: amount(0.05)},
			prom: fakeProm{`avg(latency{version="v2"})`: one1(0.9), `avg(latency{version="v1"})`: one1(0.92)}, want: Pass},
		{name: "query: no series for the canary", rule: Rule{Name: "latency", Query: latency, Max: f(0.3)},
			prom: fakeProm{}, want: Inconclusive, reason: `query "avg(latency{version=\"v2\"})" returned no series for v2`},
		{name: "query: no stable series for a relative bound", rule: Rule{Name: "latency", Query: latency, MaxRise: amount(1)},
			prom: fakeProm{`avg(latency{version="v2"})`: one1(0.2)}, want: Inconclusive, reason: "need the stable version's value"},
		{name: "query: NaN", rule: Rule{Name: "latency", Query: latency, Max: f(0.3)},
			prom: fakeProm{`avg(latency{version="v2"})`: one1(math.NaN())}, want: Inconclusive, reason: "returned NaN for v2"},
		{name: "query: +Inf", rule: Rule{Name: "latency", Query: latency, Min: f(0)},
			prom: fakeProm{`avg(latency{version="v2"})`: one1(math.Inf(1))}, want: Inconclusive, reason: "returned +Inf"},
		{name: "rate: same rate, enough traffic passes", rule: rate,
			prom: counts(counts(fakeProm{}, "v2", 9900, 10000), "v1", 9900, 10000), want: Pass, reason: "significantly inside max_drop 0.01"},
		{name: "rate: ten times the errors fails", rule: rate,
			prom: counts(counts(fakeProm{}, "v2", 9000, 10000), "v1", 9900, 10000), want: Fail, reason: "canary rate 0.9 (9000/10000) is significantly outside max_drop 0.01 (limit 0.98)"},
		{name: "rate: below min_total waits", rule: rate,
			prom: counts(counts(fakeProm{}, "v2", 0, 50), "v1", 9900, 10000), want: Inconclusive, reason: "has 50 of min_total 100"},
		{name: "rate: no canary traffic waits", rule: Rule{Name: "s", Success: okCount, Total: allReqs, Min: f(0.9)},
			prom: counts(counts(fakeProm{}, "v2", 0, 0), "v1", 9900, 10000), want: Inconclusive, reason: "no traffic yet"},
		{name: "rate: no stable traffic waits", rule: Rule{Name: "s", Success: okCount, Total: allReqs, MaxDrop: amount(0.1)},
			prom: counts(counts(fakeProm{}, "v2", 500, 500), "v1", 0, 0), want: Inconclusive, reason: "stable v1 has no traffic"},
		{name: "rate: no stable traffic is fine for an absolute bound", rule: Rule{Name: "s", Success: okCount, Total: allReqs, Min: f(0.9)},
			prom: counts(counts(fakeProm{}, "v2", 1000, 1000), "v1", 0, 0), want: Pass},
		{name: "rate: no stable series is fine for an absolute bound", rule: Rule{Name: "s", Success: okCount, Total: allReqs, Min: f(0.9)},
			prom: counts(fakeProm{}, "v2", 1000, 1000), want: Pass},
		{name: "rate: no stable series for a relative bound", rule: rate,
			prom: counts(fakeProm{}, "v2", 1000, 1000), want: Inconclusive, reason: "returned no series for v1; max_drop and max_rise need"},
		{name: "rate: successes above the total", rule: rate,
			prom: counts(counts(fakeProm{}, "v2", 200, 100), "v1", 9900, 10000), want: Inconclusive, reason: "success must count a subset of total"},
		{name: "rate: a missing counter", rule: rate,
			prom: counts(fakeProm{}, "v1", 9900, 10000), want: Inconclusive, reason: "returned no series for v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Evaluate(context.Background(), tt.prom, []Rule{tt.rule}, "v2", "v1")
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			res := rep.Results[0]
			if res.Outcome != tt.want || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("%s: %q; want %s with %q", res.Outcome, res.Reason, tt.want, tt.reason)
			}
			if res.Rule != tt.rule.Name || strings.Contains(res.Reason, "\n") {
				t.Errorf("result %+v names another rule or spans lines", res)
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Errorf("the report is not JSON: %v", err)
			}
		})
	}
}

func TestEvaluateOverall(t *testing.T) {
	// Each rule reads its own metric: "pass" is under the max, "fail"
	// over it, and "wait" has no series.
	prom := fakeProm{`max(pass{version="canary"})`: one1(1), `max(fail{version="canary"})`: one1(10)}
	rule := func(name, metric string, warn bool) Rule {
		return Rule{Name: name, Query: `max(` + metric + `{version="{{version}}"})`, Max: f(5), WarnOnly: warn}
	}
	tests := []struct {
		name  string
		rules []Rule
		want  Outcome
	}{
		{name: "no rules pass", want: Pass},
		{name: "all pass", rules: []Rule{rule("a", "pass", false)}, want: Pass},
		{name: "a wait", rules: []Rule{rule("a", "pass", false), rule("b", "wait", false)}, want: Inconclusive},
		{name: "a fail beats a wait", rules: []Rule{rule("a", "wait", false), rule("b", "fail", false)}, want: Fail},
		{name: "a warn-only fail", rules: []Rule{rule("a", "pass", false), rule("b", "fail", true)}, want: Pass},
		{name: "a warn-only wait", rules: []Rule{rule("a", "pass", false), rule("b", "wait", true)}, want: Pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Evaluate(context.Background(), prom, tt.rules, "canary", "stable")
			if err != nil {
				t.Fatal(err)
			}
			if rep.Outcome != tt.want {
				t.Errorf("overall %s; want %s\n%s", rep.Outcome, tt.want, rep.Table())
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	sentinel := errors.New("boom")
	tests := []struct {
		name  string
		rules []Rule
		prom  Querier
		want  string
		is    error
	}{
		{name: "invalid rule", rules: []Rule{{Name: "r", Query: "sum(x)", Max: f(1)}}, prom: fakeProm{}, want: "has no {{version}}"},
		{name: "several series", rules: []Rule{{Name: "r", Query: latency, Max: f(1)}},
			prom: fakeProm{`avg(latency{version="v2"})`: {{Value: 1}, {Value: 2}, {Value: 3}}},
			want: `analysis rule "r": query "avg(latency{version=\"v2\"})" returned 3 series; aggregate it to one, e.g. sum(...)`},
		{name: "querier error", rules: []Rule{{Name: "r", Query: latency, Max: f(1)}},
			prom: QuerierFunc(func(context.Context, string) ([]Sample, error) { return nil, sentinel }), want: "boom", is: sentinel},
		{name: "control character in the version", rules: []Rule{{Name: "r", Query: latency, Max: f(1)}}, prom: fakeProm{}, want: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canary := "v2"
			if tt.name == "control character in the version" {
				canary = "v2\n"
			}
			_, err := Evaluate(context.Background(), tt.prom, tt.rules, canary, "v1")
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("Evaluate error = %v; want %q", err, tt.want)
			}
		})
	}
}

// TestEvaluateOverHTTP runs Evaluate on the client against the API's
// documented answers.
func TestEvaluateOverHTTP(t *testing.T) {
	rule := []Rule{{Name: "latency", Query: latency, Max: f(1)}}
	tests := []struct {
		name    string
		body    string
		want    Outcome
		wantErr string
	}{
		{name: "one series", body: oneSeries, want: Pass},
		{name: "empty vector", body: noSeries, want: Inconclusive},
		{name: "NaN", body: nan, want: Inconclusive},
		{name: "several series", body: threeSeries, wantErr: "returned 3 series; aggregate it"},
		{name: "error status", body: badData, wantErr: `prometheus rejected query "avg(latency{version=\"v2\"})"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := 200
			if strings.Contains(tt.body, `"error"`) {
				status = 400
			}
			rep, err := Evaluate(context.Background(), serve(t, answerWith(status, tt.body)), rule, "v2", "v1")
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Evaluate = %v; want an error with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case rep.Outcome != tt.want:
				t.Errorf("outcome %s; want %s\n%s", rep.Outcome, tt.want, rep.Table())
			}
		})
	}
}

func TestReportTable(t *testing.T) {
	rep := Report{Canary: "v2", Stable: "v1", Outcome: Fail, Results: []Result{
		{Rule: "latency", Outcome: Pass, Canary: f(0.2), Stable: f(0.25), Reason: "canary 0.2 keeps max 0.3 (limit 0.3)"},
		{Rule: "errors", Outcome: Fail, WarnOnly: true, Reason: "no series"},
	}}
	want := "analysis of v2 against v1: fail\n" +
		"  PASS         latency: canary 0.2, stable 0.25: canary 0.2 keeps max 0.3 (limit 0.3)\n" +
		"  FAIL (warn only) errors: canary -, stable -: no series\n"
	if got := rep.Table(); got != want {
		t.Errorf("Table:\n%s\nwant:\n%s", got, want)
	}
}

func TestReportWhy(t *testing.T) {
	results := []Result{
		{Rule: "latency", Outcome: Pass, Reason: "ok"},
		{Rule: "errors", Outcome: Fail, Reason: "too many"},
		{Rule: "cost", Outcome: Fail, WarnOnly: true, Reason: "warned"},
		{Rule: "traffic", Outcome: Inconclusive, Reason: "waiting"},
	}
	tests := []struct {
		name    string
		outcome Outcome
		results []Result
		want    string
	}{
		{name: "the failing rules", outcome: Fail, results: results, want: "errors: too many"},
		{name: "the waiting rules", outcome: Inconclusive, results: results, want: "traffic: waiting"},
		{name: "all passing rules", outcome: Pass, results: results[:1], want: "latency: ok"},
		{name: "no rules", outcome: Pass, want: "no analysis rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Report{Outcome: tt.outcome, Results: tt.results}).Why(); got != tt.want {
				t.Errorf("Why = %q; want %q", got, tt.want)
			}
		})
	}
}
