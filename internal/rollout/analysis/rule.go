package analysis

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mlci/mlci/internal/config"
)

// Rule judges one live metric of the canary, in the gate grammar of
// internal/config: a bound on the canary's value, or a change from the
// stable version's value.
type Rule struct {
	Name string `json:"name"`
	// Query is PromQL with {{version}} where a version's label value goes.
	Query string `json:"query,omitempty"`
	// Success and Total are counters, with {{version}}, whose ratio is a
	// rate judged by a z-test (see the package doc).
	Success string `json:"success,omitempty"`
	Total   string `json:"total,omitempty"`
	// Min and Max bound the canary's value (for a rate, its rate).
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// MaxRise and MaxDrop bound the change from the stable version's
	// value, as an amount or a percent of it.
	MaxRise *config.Threshold `json:"max_rise,omitempty"`
	MaxDrop *config.Threshold `json:"max_drop,omitempty"`
	// Confidence is the rate test's one-sided confidence; 0 means 0.95.
	Confidence float64 `json:"confidence,omitempty"`
	// MinTotal is the least canary total a rate is judged on.
	MinTotal float64 `json:"min_total,omitempty"`
	// WarnOnly rules are reported but never decide the rollout.
	WarnOnly bool `json:"warn_only,omitempty"`
}

// Placeholder is where a query takes a version's label value.
const Placeholder = "{{version}}"

// DefaultConfidence is a rate rule's confidence when it sets none.
const DefaultConfidence = 0.95

// FromConfig converts the rules of a stage's rollout in mlci.yaml, parsed
// and checked by internal/config.
func FromConfig(rules []config.AnalysisRule) []Rule {
	out := make([]Rule, 0, len(rules))
	for _, a := range rules {
		out = append(out, Rule{
			Name: a.Name, Query: a.Query, Success: a.Success, Total: a.Total,
			Min: a.Min, Max: a.Max, MaxRise: a.Rise, MaxDrop: a.Drop,
			Confidence: a.Confidence, MinTotal: a.MinTotal, WarnOnly: a.WarnOnly,
		})
	}
	return out
}

// IsRate says whether the rule is a Success/Total rate.
func (r Rule) IsRate() bool { return r.Success != "" || r.Total != "" }

func (r Rule) confidence() float64 {
	if r.Confidence == 0 {
		return DefaultConfidence
	}
	return r.Confidence
}

// Validate says what is wrong with the rule, if anything, in a line a
// person can act on.
func (r Rule) Validate() error {
	if r.Name == "" {
		return errors.New(`an analysis rule has no name; give it one so the report can say which rule decided`)
	}
	switch {
	case r.Query != "" && r.IsRate():
		return fmt.Errorf("rule %q has both query and success/total; a rule is one or the other", r.Name)
	case r.Query == "" && !r.IsRate():
		return fmt.Errorf("rule %q has no query; set a query, or success and total counters", r.Name)
	case r.IsRate() && (r.Success == "" || r.Total == ""):
		return fmt.Errorf("rule %q: a rate needs both success and total counters", r.Name)
	}
	for _, q := range []struct{ key, text string }{{"query", r.Query}, {"success", r.Success}, {"total", r.Total}} {
		if q.text == "" {
			continue
		}
		if !strings.Contains(q.text, Placeholder) {
			return fmt.Errorf("rule %q: %s %q has no {{version}}; mlci puts the canary's and the stable version's label value there", r.Name, q.key, q.text)
		}
		if _, err := expand(q.text, "v"); err != nil {
			return fmt.Errorf("rule %q: %s %q: %w", r.Name, q.key, q.text, err)
		}
	}
	if r.Min == nil && r.Max == nil && r.MaxDrop == nil && r.MaxRise == nil {
		return fmt.Errorf("rule %q bounds nothing; set min, max, max_drop or max_rise", r.Name)
	}
	for _, b := range []struct {
		key string
		v   *float64
	}{{"min", r.Min}, {"max", r.Max}} {
		switch {
		case b.v == nil:
		case math.IsNaN(*b.v) || math.IsInf(*b.v, 0):
			return fmt.Errorf("rule %q: %s %v is not a finite number", r.Name, b.key, *b.v)
		case r.IsRate() && (*b.v < 0 || *b.v > 1):
			return fmt.Errorf("rule %q: %s %v is outside [0, 1], where a rate lies", r.Name, b.key, *b.v)
		}
	}
	for _, t := range []struct {
		key string
		v   *config.Threshold
	}{{"max_drop", r.MaxDrop}, {"max_rise", r.MaxRise}} {
		if t.v != nil && (t.v.Value < 0 || math.IsNaN(t.v.Value) || math.IsInf(t.v.Value, 0)) {
			return fmt.Errorf("rule %q: %s %v is not a non-negative number", r.Name, t.key, t.v)
		}
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		return fmt.Errorf("rule %q: min %v is above max %v, so it can never pass", r.Name, *r.Min, *r.Max)
	}
	if r.Confidence != 0 && !(r.Confidence > 0 && r.Confidence < 1) {
		return fmt.Errorf("rule %q: confidence %v must be between 0 and 1, e.g. 0.95", r.Name, r.Confidence)
	}
	if r.MinTotal < 0 || math.IsNaN(r.MinTotal) || math.IsInf(r.MinTotal, 0) {
		return fmt.Errorf("rule %q: min_total %v must be 0 or more", r.Name, r.MinTotal)
	}
	return nil
}

// expand puts version into each {{version}} of template. Each placeholder
// must sit inside a PromQL string literal, and the version is escaped for
// the literal's quote, so no version can close the literal and add
// matchers or operators of its own.
func expand(template, version string) (string, error) {
	if !utf8.ValidString(version) {
		return "", fmt.Errorf("version %q is not UTF-8", version)
	}
	for _, r := range version {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("version %q holds a control character; no label value for it is safe to write", version)
		}
	}
	var b strings.Builder
	var quote rune // the open literal's quote, 0 outside one
	for i := 0; i < len(template); {
		if strings.HasPrefix(template[i:], Placeholder) {
			switch quote {
			case 0:
				return "", errors.New(`{{version}} must be inside a quoted label value, e.g. version="{{version}}"`)
			case '`':
				if strings.ContainsRune(version, '`') {
					return "", fmt.Errorf("version %q holds a backquote, which a raw `...` string cannot hold; quote {{version}} with \"", version)
				}
				b.WriteString(version)
			default:
				b.WriteString(escapeLiteral(version, quote))
			}
			i += len(Placeholder)
			continue
		}
		c := template[i]
		b.WriteByte(c)
		i++
		switch {
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = rune(c)
		case quote != 0 && quote != '`' && c == '\\' && i < len(template):
			b.WriteByte(template[i]) // an escaped character never ends the literal
			i++
		case quote != 0 && rune(c) == quote:
			quote = 0
		case quote == 0 && c == '#':
			// A comment runs to the end of the line; a placeholder there
			// would be inert, and quotes there open nothing.
			end := strings.IndexByte(template[i:], '\n')
			if end < 0 {
				end = len(template) - i
			}
			if strings.Contains(template[i:i+end], Placeholder) {
				return "", errors.New("{{version}} is inside a # comment, where it selects nothing")
			}
			b.WriteString(template[i : i+end])
			i += end
		}
	}
	if quote != 0 {
		return "", fmt.Errorf("a %c string literal is not closed", quote)
	}
	return b.String(), nil
}

// escapeLiteral escapes s for the inside of a PromQL string quoted by
// quote: the backslash and the quote itself are the only characters that
// could end or alter the literal, control characters having been refused.
func escapeLiteral(s string, quote rune) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || r == quote {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
