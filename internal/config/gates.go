package config

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Gate is one rule under gates:. Every rule names a metric (a flattened key,
// glob allowed) and its direction; the thresholds it sets decide its kind.
type Gate struct {
	Name   string `yaml:"name"`
	Metric string `yaml:"metric"`
	// File limits the rule to one metrics file; empty means any.
	File string `yaml:"file"`
	Goal string `yaml:"goal"`
	// Min and Max bound the head value.
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// MaxDrop and MaxRise bound the change from the baseline, as an amount
	// ("0.01") or a percent of the base value ("0.5%").
	MaxDrop string `yaml:"max_drop"`
	MaxRise string `yaml:"max_rise"`
	// MissingBase says how a relative rule (max_drop, max_rise,
	// per_example) is judged when the baseline has no value to compare
	// with: "fail" (the default, so a missing baseline is never taken for
	// no regression), "warn" (reported, not fatal: for the change that
	// introduces a metric) or "pass".
	MissingBase string      `yaml:"missing_base"`
	WarnOnly    bool        `yaml:"warn_only"`
	PerExample  *PerExample `yaml:"per_example"`

	// Line is where the rule starts in the config, for annotations.
	Line int `yaml:"-"`
	// Drop and Rise are MaxDrop and MaxRise parsed.
	Drop *Threshold `yaml:"-"`
	Rise *Threshold `yaml:"-"`
}

// PerExample makes a gate noise-aware: the change is judged by a paired
// bootstrap interval over per-example scores instead of one number.
type PerExample struct {
	// Head is the scores file in the work tree; Base the baseline's, which
	// defaults to Head read at the baseline revision.
	Head string `yaml:"head"`
	Base string `yaml:"base"`
	// ID and Score name the id column (default "id") and the score column.
	ID    string `yaml:"id"`
	Score string `yaml:"score"`
	// Confidence defaults to 0.95 and Resamples to 10,000.
	Confidence float64 `yaml:"confidence"`
	Resamples  int     `yaml:"resamples"`
}

// Goals a gate may name.
const (
	Maximize = "maximize"
	Minimize = "minimize"
)

// What a relative rule does when the baseline lacks its value.
const (
	MissingFail = "fail"
	MissingWarn = "warn"
	MissingPass = "pass"
)

// Threshold is a tolerance as an amount or a percent of the base value.
type Threshold struct {
	Value   float64
	Percent bool
}

// parseDropRise parses a rule's max_drop and max_rise, either of which may
// be empty; errors point at the key under p and name the rule as who.
func parseDropRise(drop, rise, p, who string, at func(p, msg string, args ...any) error) (*Threshold, *Threshold, error) {
	var out [2]*Threshold
	for i, th := range []struct{ key, text string }{{"max_drop", drop}, {"max_rise", rise}} {
		if th.text == "" {
			continue
		}
		t, err := ParseThreshold(th.text)
		if err != nil {
			return nil, nil, at(p+"."+th.key, "%s: %v", who, err)
		}
		out[i] = &t
	}
	return out[0], out[1], nil
}

// ParseThreshold reads "0.01" or "0.5%".
func ParseThreshold(s string) (Threshold, error) {
	t := Threshold{}
	text := strings.TrimSpace(s)
	if strings.HasSuffix(text, "%") {
		t.Percent = true
		text = strings.TrimSpace(strings.TrimSuffix(text, "%"))
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return t, fmt.Errorf("threshold %q is not a non-negative number or percent; write e.g. 0.01 or \"0.5%%\"", s)
	}
	t.Value = v
	return t, nil
}

// Of returns the threshold as an amount for a base value.
func (t Threshold) Of(base float64) float64 {
	if t.Percent {
		return math.Abs(base) * t.Value / 100
	}
	return t.Value
}

func (t Threshold) String() string {
	v := strconv.FormatFloat(t.Value, 'g', -1, 64)
	if t.Percent {
		return v + "%"
	}
	return v
}

func (c *Config) checkGates(pos map[string]*yaml.Node, at func(p, msg string, args ...any) error) error {
	names := map[string]int{}
	for i := range c.Gates {
		g := &c.Gates[i]
		p := fmt.Sprintf("gates[%d]", i)
		if n := pos[p]; n != nil {
			g.Line = n.Line
		}
		if g.Name == "" {
			return at(p, `%s has no name; add "name:" so verdicts can say which rule failed`, p)
		}
		if j, ok := names[g.Name]; ok {
			return at(p, "gate name %q is used twice (lines %d and %d); give each rule a unique name", g.Name, c.Gates[j].Line, g.Line)
		}
		names[g.Name] = i
		if g.Metric == "" {
			return at(p, `gate %q has no metric; set "metric:" to a flattened key such as eval.accuracy`, g.Name)
		}
		if _, err := path.Match(g.Metric, ""); err != nil {
			return at(p+".metric", "gate %q: metric pattern %q is malformed: %v", g.Name, g.Metric, err)
		}
		switch g.Goal {
		case Maximize, Minimize:
		case "":
			return at(p, `gate %q has no goal; set "goal: maximize" or "goal: minimize"`, g.Name)
		default:
			return at(p+".goal", "gate %q: goal %q is not maximize or minimize", g.Name, g.Goal)
		}
		var err error
		if g.Drop, g.Rise, err = parseDropRise(g.MaxDrop, g.MaxRise, p, fmt.Sprintf("gate %q", g.Name), at); err != nil {
			return err
		}
		if g.Goal == Maximize && g.Rise != nil {
			return at(p+".max_rise", "gate %q maximizes %s, so a rise is never a regression; use max_drop", g.Name, g.Metric)
		}
		if g.Goal == Minimize && g.Drop != nil {
			return at(p+".max_drop", "gate %q minimizes %s, so a drop is never a regression; use max_rise", g.Name, g.Metric)
		}
		if g.Min != nil && g.Max != nil && *g.Min > *g.Max {
			return at(p, "gate %q: min %v is above max %v, so it can never pass", g.Name, *g.Min, *g.Max)
		}
		switch g.MissingBase {
		case "", MissingFail, MissingWarn, MissingPass:
		default:
			return at(p+".missing_base", `gate %q: missing_base %q must be "fail" (the default), "warn" or "pass"`, g.Name, g.MissingBase)
		}
		if pe := g.PerExample; pe != nil {
			if pe.Head == "" || pe.Score == "" {
				return at(p+".per_example", `gate %q: per_example needs "head:" (the scores file) and "score:" (its score column)`, g.Name)
			}
			if pe.ID == "" {
				pe.ID = "id"
			}
			switch {
			case pe.Confidence == 0:
				pe.Confidence = 0.95
			case pe.Confidence <= 0 || pe.Confidence >= 1:
				return at(p+".per_example.confidence", "gate %q: confidence %v must be between 0 and 1, e.g. 0.95", g.Name, pe.Confidence)
			}
			switch {
			case pe.Resamples == 0:
				pe.Resamples = 10000
			case pe.Resamples < 100 || pe.Resamples > 1000000:
				return at(p+".per_example.resamples", "gate %q: resamples %d must be between 100 and 1,000,000", g.Name, pe.Resamples)
			}
		}
	}
	return nil
}
