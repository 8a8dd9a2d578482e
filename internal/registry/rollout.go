package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rolloutPrefix holds a rollout's steps: one annotated tag object per step,
// under refs/mlci/rollouts/MODEL/STAGE/SEQ rather than refs/tags. GTO reads
// every ref under refs/tags and takes any tag its grammar parses as an
// assignment, so a step kept there could make GTO report the canary as the
// stage's holder before it reaches 100%; GTO never reads this namespace.
// The canary takes the stage only through the ordinary assignment tag
// written, atomically with the last step, when its share reaches 100%.
const rolloutPrefix = "refs/mlci/rollouts/"

// Rollout actions, one per kind of step.
const (
	RolloutStart    = "start"
	RolloutAdvance  = "advance"
	RolloutComplete = "complete"
	RolloutRollback = "rollback"
	RolloutAbort    = "abort"
)

// RolloutStep is one recorded step of a canary rollout.
type RolloutStep struct {
	Model string `json:"model"`
	Stage string `json:"stage"`
	// Seq numbers the stage's steps from 1, across rollouts; two runs
	// writing the same step race for the same ref, and one loses.
	Seq    int    `json:"seq"`
	Action string `json:"action"`
	// Canary is the version rolling out; Stable the stage's holder the
	// rest of the traffic goes to ("" when the stage had none).
	Canary string `json:"canary"`
	Stable string `json:"stable,omitempty"`
	// Share is the canary's percent of traffic after this step: 0 after a
	// rollback or an abort, 100 when complete.
	Share float64 `json:"share"`
	// Step is the 1-based index in Steps of Share; 0 once it is over.
	Step  int       `json:"step"`
	Steps []float64 `json:"steps"`
	// Reason says why, in one line; Analysis is the evidence.
	Reason   string          `json:"reason,omitempty"`
	Analysis json.RawMessage `json:"analysis,omitempty"`
	Actor    string          `json:"actor,omitempty"`
	CI       string          `json:"ci,omitempty"`
	Time     time.Time       `json:"time"`
	// Commit is the canary's commit, which the step's tag object points at.
	Commit string `json:"commit"`
	// Tag is the assignment tag a complete step wrote.
	Tag string `json:"tag,omitempty"`
	// Ref is where the step is kept.
	Ref string `json:"ref"`
}

// Over reports whether the step ends its rollout.
func (s RolloutStep) Over() bool {
	switch s.Action {
	case RolloutComplete, RolloutRollback, RolloutAbort:
		return true
	}
	return false
}

// rolloutDir is the ref folder of a model's stage.
func rolloutDir(model, stage string) string {
	return rolloutPrefix + claimName(model) + "/" + claimName(stage) + "/"
}

// FetchRollouts refetches the registry tags and every rollout step from
// remote, so what is read next is the remote's. The tags are replaced:
// actions/checkout fetches them as lightweight ones, which GTO and State
// ignore, and a stale tag set would give a wrong next counter.
func FetchRollouts(ctx context.Context, dir, remote string) error {
	return refetch(ctx, dir, remote, rolloutPrefix+"*")
}

// RolloutSteps lists the recorded steps of model's stage, oldest first.
func RolloutSteps(ctx context.Context, dir, model, stage string) ([]RolloutStep, error) {
	prefix := rolloutDir(model, stage)
	out, err := git(ctx, dir, nil, "for-each-ref", "--format=%(refname)%00%(objecttype)%00%(contents)%00", prefix)
	if err != nil {
		return nil, fmt.Errorf("reading rollout steps in %s: %w", dir, err)
	}
	var steps []RolloutStep
	fields := strings.Split(string(out), "\x00")
	for i := 0; i+3 <= len(fields); i += 3 {
		name := strings.TrimPrefix(fields[i], "\n")
		seq, err := strconv.Atoi(strings.TrimPrefix(name, prefix))
		if err != nil || seq < 1 || fields[i+1] != "tag" {
			continue // not a step mlci wrote
		}
		_, body, _ := strings.Cut(strings.ReplaceAll(fields[i+2], "\r\n", "\n"), "\n\n")
		var s RolloutStep
		if err := json.NewDecoder(strings.NewReader(body)).Decode(&s); err != nil {
			return nil, fmt.Errorf("rollout step %s has no readable record (%v); it was not written by mlci: delete it with git update-ref -d %s", name, err, name)
		}
		if s.Seq != seq || s.Model != model || s.Stage != stage {
			return nil, fmt.Errorf("rollout step %s records %s#%s step %d; it was moved by hand: delete it with git update-ref -d %s", name, s.Model, s.Stage, s.Seq, name)
		}
		s.Ref = name
		steps = append(steps, s)
	}
	slices.SortFunc(steps, func(a, b RolloutStep) int { return a.Seq - b.Seq })
	return steps, nil
}

// stepRef writes s as an annotated tag object and returns the ref to
// create for it.
func stepRef(ctx context.Context, dir string, s *RolloutStep) (ref, error) {
	if s.Seq < 1 || s.Commit == "" {
		return ref{}, fmt.Errorf("rollout step of %s#%s has no sequence number or commit", s.Model, s.Stage)
	}
	tagger, now, err := taggerIdent(ctx, dir)
	if err != nil {
		return ref{}, err
	}
	if s.Time.IsZero() {
		s.Time = now.UTC()
	}
	s.Ref = fmt.Sprintf("%s%06d", rolloutDir(s.Model, s.Stage), s.Seq)
	body, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return ref{}, fmt.Errorf("rollout step: %w", err)
	}
	msg := fmt.Sprintf("Rollout of %s %s to %s: %s at %g%%\n\n%s\n", s.Model, s.Canary, s.Stage, s.Action, s.Share, body)
	name := strings.TrimPrefix(s.Ref, "refs/")
	obj := fmt.Sprintf("object %s\ntype commit\ntag %s\ntagger %s\n\n%s", s.Commit, name, tagger, msg)
	out, err := git(ctx, dir, strings.NewReader(obj), "mktag")
	if err != nil {
		return ref{}, fmt.Errorf("writing rollout step %s: %w", name, err)
	}
	return ref{s.Ref, strings.TrimSpace(string(out))}, nil
}

// ErrStepTaken means another run recorded the same step first.
var ErrStepTaken = errors.New("another run recorded this rollout step first")

// RecordStep publishes s as the next step of its stage. s.Seq must be one
// more than the last step read: when another run has written that step
// since, it fails with ErrStepTaken and writes nothing, so two runs never
// skip or repeat a step.
func RecordStep(ctx context.Context, dir, remote string, s RolloutStep) (RolloutStep, error) {
	r, err := stepRef(ctx, dir, &s)
	if err != nil {
		return s, err
	}
	if err := publishStep(ctx, dir, remote, []ref{r}); err != nil {
		return s, err
	}
	return s, nil
}

// CompleteRollout publishes s, the step that takes the canary to 100%,
// together with the assignment tag that makes it the stage's holder, in
// one atomic push: GTO sees the assignment exactly when the rollout
// records it complete. A lost race for the model's counter (another
// stage's promotion) retries with the next counter; a lost race for the
// step is ErrStepTaken.
func CompleteRollout(ctx context.Context, dir, remote string, s RolloutStep, rec Record, attempts int) (RolloutStep, Tag, error) {
	sr, err := stepRef(ctx, dir, &s)
	if err != nil {
		return s, Tag{}, err
	}
	rec.Version = s.Canary
	var floor Counter
	var lastErr error
	for range max(attempts, 1) {
		t, err := assign(ctx, dir, remote, s.Model, s.Stage, s.Canary, rec, floor, []ref{sr})
		if err == nil {
			s.Tag = t.String()
			return s, t, nil
		}
		if errors.Is(err, ErrStepTaken) || (!errors.Is(err, ErrConflict) && !errors.Is(err, ErrExists)) {
			return s, Tag{}, err
		}
		lastErr, floor = err, t.Counter
	}
	return s, Tag{}, fmt.Errorf("completing the rollout of %s %s to %s: gave up after %d attempts; retry later: %w", s.Model, s.Canary, s.Stage, attempts, lastErr)
}

// publishStep publishes refs, reporting a step ref taken by another run
// as ErrStepTaken. With a remote, the refs are made locally too once the
// remote took them, so the next read here sees the step.
func publishStep(ctx context.Context, dir, remote string, refs []ref) error {
	err := publish(ctx, dir, remote, refs)
	if err != nil {
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrExists) {
			if taken := stepTaken(ctx, dir, remote, refs); taken != "" {
				return refuse(ErrStepTaken, "%s: another run recorded step %s first; read the rollout again (mlci rollout status)", taken, taken[strings.LastIndex(taken, "/")+1:])
			}
		}
		return err
	}
	if remote == "" {
		return nil
	}
	var steps []ref
	for _, r := range refs {
		if strings.HasPrefix(r.name, rolloutPrefix) {
			steps = append(steps, r)
		}
	}
	return createRefs(ctx, dir, steps, true)
}

// stepTaken names the first step ref in refs that exists, in the remote
// when there is one, else here, as another object than ours.
func stepTaken(ctx context.Context, dir, remote string, refs []ref) string {
	for _, r := range refs {
		if !strings.HasPrefix(r.name, rolloutPrefix) {
			continue
		}
		var out []byte
		var err error
		if remote != "" {
			out, err = git(ctx, dir, nil, "ls-remote", remote, r.name)
		} else {
			out, err = git(ctx, dir, nil, "for-each-ref", "--format=%(objectname)\t%(refname)", r.name)
		}
		if err != nil {
			continue
		}
		oid, _, ok := strings.Cut(strings.TrimSpace(string(out)), "\t")
		if ok && oid != r.oid {
			return r.name
		}
	}
	return ""
}
