// Package rollout is the canary policy of a stage: which share a version
// under rollout has, and what the next step is given the analysis of live
// metrics and the time since the last step.
//
// It decides; it does not write. The steps are recorded by
// internal/registry (refs/mlci/rollouts, outside GTO's tags), the metrics
// judged by internal/rollout/analysis, and the traffic split for serving
// engines written by internal/rollout/emit. Keeping the decision pure lets
// it be tested on every path without git or Prometheus.
package rollout

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/registry"
)

// State is where a stage's rollout stands.
type State struct {
	Model string `json:"model"`
	Stage string `json:"stage"`
	// Active is set while a canary shares the stage's traffic.
	Active bool `json:"active"`
	// Canary and Stable are the versions of the latest rollout.
	Canary string `json:"canary,omitempty"`
	Stable string `json:"stable,omitempty"`
	// Share is the canary's percent now; Step its 1-based index in Steps.
	Share float64   `json:"share"`
	Step  int       `json:"step"`
	Steps []float64 `json:"steps,omitempty"`
	// Last is the stage's latest step, nil when it never had a rollout.
	Last *registry.RolloutStep `json:"last,omitempty"`
	// History is the steps of the latest rollout, oldest first.
	History []registry.RolloutStep `json:"history,omitempty"`
}

// Current reads a stage's state from its recorded steps, oldest first.
func Current(model, stage string, steps []registry.RolloutStep) State {
	st := State{Model: model, Stage: stage}
	if len(steps) == 0 {
		return st
	}
	last := steps[len(steps)-1]
	st.Last = &last
	first := len(steps) - 1
	for first > 0 && steps[first].Action != registry.RolloutStart {
		first--
	}
	st.History = steps[first:]
	st.Canary, st.Stable, st.Steps = last.Canary, last.Stable, last.Steps
	st.Share, st.Step = last.Share, last.Step
	st.Active = !last.Over()
	return st
}

// NextSeq is the sequence number the stage's next step must take.
func (s State) NextSeq() int {
	if s.Last == nil {
		return 1
	}
	return s.Last.Seq + 1
}

// Describe is the one-line form: "v1.2.0 (80%) ← v1.3.0 (20%, step 2/4)".
func (s State) Describe() string {
	if !s.Active {
		return ""
	}
	return fmt.Sprintf("%s (%s) ← %s (%s, step %d/%d)", s.Stable, Percent(100-s.Share), s.Canary, Percent(s.Share), s.Step, len(s.Steps))
}

// Percent writes a share as people write it: 20%, 2.5%.
func Percent(p float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", p), "0"), ".") + "%"
}

// ErrRunning means the stage already has a canary.
var ErrRunning = errors.New("a rollout is running")

// Start checks that canary may start rolling out into a stage whose
// holder is stable and returns its first step; the caller records it. The
// stage's promotion requirements are checked by the caller, as promote
// does.
func Start(s State, r *config.Rollout, canary, stable string) (registry.RolloutStep, error) {
	switch {
	case r == nil:
		return registry.RolloutStep{}, fmt.Errorf("stage %s of %s has no rollout: in mlci.yaml; add one (steps: [5, 20, 50, 100]) or use mlci promote", s.Stage, s.Model)
	case s.Active:
		return registry.RolloutStep{}, fmt.Errorf("%w: %s to %s is at %s; run mlci rollout advance, or mlci rollout abort %s --stage %s first",
			ErrRunning, s.Canary, s.Stage, Percent(s.Share), s.Model, s.Stage)
	case stable == "":
		return registry.RolloutStep{}, fmt.Errorf("no version holds %s of %s yet, so there is no stable version to share traffic with; promote the first one with mlci promote %s --to %s",
			s.Stage, s.Model, s.Model, s.Stage)
	case stable == canary:
		return registry.RolloutStep{}, fmt.Errorf("%s %s already holds %s", s.Model, canary, s.Stage)
	}
	return registry.RolloutStep{
		Model: s.Model, Stage: s.Stage, Seq: s.NextSeq(), Action: registry.RolloutStart,
		Canary: canary, Stable: stable, Share: r.Steps[0], Step: 1, Steps: r.Steps,
		Reason: fmt.Sprintf("started at %s", Percent(r.Steps[0])),
	}, nil
}

// Verdict is the analysis's overall outcome.
type Verdict string

// The verdicts an analysis reaches.
const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
)

// Decision is what advance does next.
type Decision struct {
	// Step is the step to record; nil means wait, recording nothing.
	Step *registry.RolloutStep
	// Reason says why, in one line.
	Reason string
	// NotBefore is when a wait for min_interval ends.
	NotBefore time.Time
}

// Advance decides the next step of an active rollout: a failed analysis
// rolls back at once, whatever the interval; an inconclusive one waits; a
// passed one widens to the next step once interval has passed since the
// last, and completes when that step is 100%. The steps are those recorded
// at the start, so editing mlci.yaml mid-rollout cannot skip one.
func Advance(s State, v Verdict, why string, interval time.Duration, now time.Time) (Decision, error) {
	if !s.Active {
		return Decision{}, fmt.Errorf("no rollout of %s to %s is running; start one with mlci rollout start %s --to %s", s.Model, s.Stage, s.Model, s.Stage)
	}
	next := *s.Last
	next.Seq, next.Analysis, next.Actor, next.CI, next.Time, next.Ref, next.Tag = s.NextSeq(), nil, "", "", time.Time{}, "", ""
	switch v {
	case Fail:
		next.Action, next.Share, next.Step = registry.RolloutRollback, 0, 0
		next.Reason = "analysis failed at " + Percent(s.Share) + ": " + why
		return Decision{Step: &next, Reason: next.Reason}, nil
	case Inconclusive:
		return Decision{Reason: "analysis inconclusive at " + Percent(s.Share) + ", waiting: " + why}, nil
	case Pass:
	default:
		return Decision{}, fmt.Errorf("unknown analysis verdict %q", v)
	}
	if at := s.Last.Time.Add(interval); now.Before(at) {
		return Decision{NotBefore: at, Reason: fmt.Sprintf("analysis passed at %s; min_interval %s since the last step ends at %s", Percent(s.Share), interval, at.UTC().Format(time.RFC3339))}, nil
	}
	if s.Step >= len(s.Steps) {
		return Decision{}, fmt.Errorf("rollout of %s to %s is at step %d of %d and not complete; its record is damaged: abort it", s.Canary, s.Stage, s.Step, len(s.Steps))
	}
	next.Step = s.Step + 1
	next.Share = s.Steps[s.Step]
	next.Action = registry.RolloutAdvance
	if next.Share >= 100 {
		next.Action = registry.RolloutComplete
	}
	next.Reason = fmt.Sprintf("analysis passed at %s: %s → %s", Percent(s.Share), Percent(s.Share), Percent(next.Share))
	if why != "" {
		next.Reason += " (" + why + ")"
	}
	return Decision{Step: &next, Reason: next.Reason}, nil
}

// Abort returns the step that ends an active rollout by hand; the stable
// version keeps the stage.
func Abort(s State, why string) (registry.RolloutStep, error) {
	if !s.Active {
		return registry.RolloutStep{}, fmt.Errorf("no rollout of %s to %s is running", s.Model, s.Stage)
	}
	next := *s.Last
	next.Seq, next.Analysis, next.Actor, next.CI, next.Time, next.Ref, next.Tag = s.NextSeq(), nil, "", "", time.Time{}, "", ""
	next.Action, next.Share, next.Step = registry.RolloutAbort, 0, 0
	next.Reason = "aborted at " + Percent(s.Share)
	if why != "" {
		next.Reason += ": " + why
	}
	return next, nil
}
