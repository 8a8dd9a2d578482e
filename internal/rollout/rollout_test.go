package rollout

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/registry"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func running(step int) State {
	steps := []float64{5, 20, 50, 100}
	h := []registry.RolloutStep{{Model: "m", Stage: "prod", Seq: 3, Action: registry.RolloutAbort, Canary: "v1.1.0", Stable: "v1.0.0"}}
	for i := 1; i <= step; i++ {
		a := registry.RolloutAdvance
		switch {
		case i == 1:
			a = registry.RolloutStart
		case steps[i-1] == 100:
			a = registry.RolloutComplete
		}
		h = append(h, registry.RolloutStep{Model: "m", Stage: "prod", Seq: 3 + i, Action: a, Canary: "v1.2.0", Stable: "v1.0.0",
			Share: steps[i-1], Step: i, Steps: steps, Time: t0})
	}
	return Current("m", "prod", h)
}

func TestCurrent(t *testing.T) {
	s := running(2)
	if !s.Active || s.Canary != "v1.2.0" || s.Share != 20 || s.Step != 2 || len(s.History) != 2 || s.NextSeq() != 6 {
		t.Fatalf("state = %+v", s)
	}
	if got, want := s.Describe(), "v1.0.0 (80%) ← v1.2.0 (20%, step 2/4)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if s := Current("m", "prod", nil); s.Active || s.NextSeq() != 1 || s.Describe() != "" {
		t.Errorf("no steps: %+v", s)
	}
}

func TestStart(t *testing.T) {
	r := &config.Rollout{Steps: []float64{2.5, 100}}
	tests := []struct {
		name           string
		s              State
		r              *config.Rollout
		canary, stable string
		want           string
	}{
		{"no rollout configured", State{Model: "m", Stage: "prod"}, nil, "v2", "v1", "has no rollout"},
		{"one running", running(1), r, "v2", "v1", "a rollout is running: v1.2.0 to prod is at 5%"},
		{"empty stage", State{Model: "m", Stage: "prod"}, r, "v2", "", "no version holds prod"},
		{"already holder", State{Model: "m", Stage: "prod"}, r, "v1", "v1", "already holds prod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(tt.s, tt.r, tt.canary, tt.stable)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	st, err := Start(Current("m", "prod", running(4).History), r, "v2", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Seq != 8 || st.Share != 2.5 || st.Step != 1 || st.Action != registry.RolloutStart {
		t.Errorf("first step = %+v", st)
	}
	if _, err := Start(running(1), r, "v2", "v1"); !errors.Is(err, ErrRunning) {
		t.Errorf("start while running: %v, want ErrRunning", err)
	}
}

func TestAdvance(t *testing.T) {
	tests := []struct {
		name       string
		s          State
		v          Verdict
		now        time.Time
		action     string // "" = wait
		share      float64
		reasonPart string
	}{
		{"pass widens", running(1), Pass, t0.Add(time.Hour), registry.RolloutAdvance, 20, "5% → 20%"},
		{"pass completes at 100", running(3), Pass, t0.Add(time.Hour), registry.RolloutComplete, 100, "50% → 100%"},
		{"pass too soon waits", running(1), Pass, t0.Add(10 * time.Minute), "", 0, "min_interval 30m0s"},
		{"interval just over", running(1), Pass, t0.Add(30 * time.Minute), registry.RolloutAdvance, 20, ""},
		{"fail rolls back at once", running(2), Fail, t0.Add(time.Minute), registry.RolloutRollback, 0, "analysis failed at 20%: errors high"},
		{"inconclusive waits", running(2), Inconclusive, t0.Add(time.Hour), "", 0, "inconclusive at 20%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Advance(tt.s, tt.v, "errors high", 30*time.Minute, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(d.Reason, tt.reasonPart) {
				t.Errorf("reason %q, want %q in it", d.Reason, tt.reasonPart)
			}
			if tt.action == "" {
				if d.Step != nil {
					t.Errorf("want a wait, got step %+v", d.Step)
				}
				return
			}
			if d.Step == nil || d.Step.Action != tt.action || d.Step.Share != tt.share || d.Step.Seq != tt.s.NextSeq() || d.Step.Canary != "v1.2.0" {
				t.Errorf("step = %+v, want %s at %v", d.Step, tt.action, tt.share)
			}
		})
	}
	if _, err := Advance(Current("m", "prod", nil), Pass, "", 0, t0); err == nil || !strings.Contains(err.Error(), "no rollout of m to prod is running") {
		t.Errorf("advance with none running: %v", err)
	}
}

func TestAbort(t *testing.T) {
	s, err := Abort(running(2), "bad feedback")
	if err != nil || s.Action != registry.RolloutAbort || s.Share != 0 || s.Reason != "aborted at 20%: bad feedback" {
		t.Errorf("abort = %+v, %v", s, err)
	}
	if _, err := Abort(Current("m", "prod", nil), ""); err == nil {
		t.Error("abort with none running succeeded")
	}
}

func TestPercent(t *testing.T) {
	for in, want := range map[float64]string{20: "20%", 2.5: "2.5%", 0.25: "0.25%", 100: "100%", 0: "0%"} {
		if got := Percent(in); got != want {
			t.Errorf("Percent(%v) = %q, want %q", in, got, want)
		}
	}
}
