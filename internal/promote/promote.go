// Package promote is mlci's promotion policy: whether a registered version
// may enter a stage, by the stage's requires: in mlci.yaml, and which version
// a rollback returns to.
//
// It sits beside internal/registry rather than inside it: registry reads and
// writes GTO's tags as GTO does and imports no package of ours, while these
// rules are mlci's own and join the registry's state with config's
// requirements. Keeping them out of internal/cli lets every front end that
// moves a version (promote, the release after a merge, rollouts) apply the
// same rules.
package promote

import (
	"fmt"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/registry"
)

// UnmetError is a requirement of a stage that a version does not meet.
// Callers branch on it (a failed check, not a usage error) with errors.As.
type UnmetError struct {
	Model, Version, Stage string
	Requirement           config.Requirement
	// Reason says what is missing and, where there is one, what to run.
	Reason string
}

func (e *UnmetError) Error() string {
	return fmt.Sprintf("%s %s cannot enter %s: %s", e.Model, e.Version, e.Stage, e.Reason)
}

// Check returns an *UnmetError for the first of st's requirements that v,
// a version of m, does not meet, in the order mlci.yaml lists them.
// Approval always passes here: the forge holds the deployment until its
// reviewers approve, and the tag records the promotion once the job runs.
func Check(m *registry.Model, v *registry.Version, st config.Stage) error {
	for _, r := range st.Requires {
		if reason := unmet(m, v, r); reason != "" {
			return &UnmetError{Model: m.Name, Version: v.Version, Stage: st.Name, Requirement: r, Reason: reason}
		}
	}
	return nil
}

// unmet says why v does not meet r, or "" when it does.
func unmet(m *registry.Model, v *registry.Version, r config.Requirement) string {
	switch r.Kind {
	case config.RequireGates:
		if v.Record != nil && v.Record.Gate == "pass" {
			return ""
		}
		gate := "no gate verdict"
		if v.Record != nil && v.Record.Gate != "" {
			gate = "gates " + v.Record.Gate
		}
		return "it requires passing gates, and its registration recorded " + gate
	case config.RequireStage:
		// Holding the stage now, not having held it once: a version that
		// was rolled back out of it no longer has that stage's backing.
		if a := m.Stages[r.Stage]; a != nil && a.Version == v.Version {
			return ""
		}
		return fmt.Sprintf("it must hold %s first; run mlci promote %s --to %s --version %s", r.Stage, m.Name, r.Stage, v.Version)
	case config.RequireDataCheck:
		if v.Record != nil && len(v.Record.DataRoots) > 0 {
			return ""
		}
		return "it requires a data check, and its registration recorded no locked datasets"
	case config.RequireApproval:
		return ""
	}
	// config.Parse refuses other kinds; one built by hand fails closed
	// rather than let a version through on a rule nobody checks.
	return fmt.Sprintf("it requires %q, which mlci does not know", r.String())
}

// PreviousHolder is the version a rollback of stage returns to: the latest
// assigned to the stage, other than its current holder, that is still
// registered. It is "" when there is none, or no one holds the stage.
// Rolling back does not check the stage's requirements again: the version
// met them when it was assigned.
func PreviousHolder(m *registry.Model, stage string) string {
	cur := m.Stages[stage]
	if cur == nil {
		return ""
	}
	var prev string
	for _, e := range m.History {
		if e.Kind != registry.KindAssignment || e.Stage != stage || e.Version == cur.Version {
			continue
		}
		for _, v := range m.Versions {
			if v.Version == e.Version {
				prev = v.Version
			}
		}
	}
	return prev
}
