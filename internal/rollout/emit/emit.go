// Package emit writes a canary rollout's traffic split as KServe, Gateway API
// and Argo Rollouts manifests, the files of a GitOps commit.
package emit

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/mlci/mlci/route"
)

// Kind is an engine whose manifest emit writes.
type Kind string

const (
	// KServe is an InferenceService (serving.kserve.io/v1beta1) whose
	// predictor loads the canary with canaryTrafficPercent; KServe keeps the
	// previous revision as the stable one itself.
	KServe Kind = "kserve"
	// HTTPRoute is a Gateway API HTTPRoute (gateway.networking.k8s.io/v1)
	// that weights a stable and a canary Service.
	HTTPRoute Kind = "httproute"
	// ArgoRollouts is the canary strategy of an Argo Rollouts Rollout
	// (argoproj.io/v1alpha1), to be merged onto the Rollout that owns the pod
	// template.
	ArgoRollouts Kind = "argo-rollouts"
)

// Kinds lists every kind emit writes, in the order they are documented.
func Kinds() []Kind { return []Kind{KServe, HTTPRoute, ArgoRollouts} }

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(Kinds(), k) {
		return k, nil
	}
	return "", fmt.Errorf("unknown serving engine %q: want one of %v", s, Kinds())
}

// Backend is one version of the model as an engine serves it.
type Backend struct {
	Version string // the registry's version, such as "v1.3.0"
	URI     string // where the engine loads the model from, such as "s3://models/digits/v1.3.0"
	Digest  string // the artifact's digest, "alg:hex"; recorded, not enforced
}

// Target is one stage's split: Percent of the traffic to Canary, the rest to
// Stable.
type Target struct {
	Model     string
	Stage     string
	Namespace string // empty leaves the namespace to the GitOps tool
	Stable    Backend
	Canary    Backend
	Percent   float64 // the canary's share, in (0, 100]

	// Format is KServe's model format ("sklearn", "onnx", ...); KServe
	// needs it to pick a serving runtime.
	Format string
	// Gateway is the HTTPRoute's parent Gateway, "name" or
	// "namespace/name"; empty leaves the route unattached for a later patch.
	Gateway string
	// Port is the Services' port the HTTPRoute sends to; 0 means 80.
	Port int
}

// ErrTarget is wrapped by every error about a Target that cannot be written.
var ErrTarget = errors.New("invalid rollout target")

func (t Target) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"model", t.Model}, {"stage", t.Stage},
		{"stable version", t.Stable.Version}, {"canary version", t.Canary.Version},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: no %v", ErrTarget, missing)
	}
	if _, err := route.BasisFromPercent(t.Percent); err != nil {
		return fmt.Errorf("%w: %w", ErrTarget, err)
	}
	if t.Port < 0 || t.Port > 65535 {
		return fmt.Errorf("%w: port %d is not a TCP port", ErrTarget, t.Port)
	}
	return nil
}

// wholePercent is the share for the engines that only take whole percents.
func (t Target) wholePercent(k Kind) (int, error) {
	if t.Percent != math.Trunc(t.Percent) {
		return 0, fmt.Errorf("%w: %s takes whole percents, not %v", ErrTarget, k, t.Percent)
	}
	return int(t.Percent), nil
}

// Render returns the manifest of kind k for t, as YAML.
func Render(t Target, k Kind) ([]byte, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	var doc any
	var err error
	switch k {
	case KServe:
		doc, err = inferenceService(t)
	case HTTPRoute:
		doc, err = httpRoute(t)
	case ArgoRollouts:
		doc, err = argoRollout(t)
	default:
		_, err = ParseKind(string(k))
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Written by mlci for rollout %s at %s %% canary; edits are overwritten.\n",
		route.RolloutID(t.Model, t.Stage, t.Canary.Version), percentString(t.Percent))
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("render %s: %w", k, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render %s: %w", k, err)
	}
	return buf.Bytes(), nil
}

func percentString(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }
