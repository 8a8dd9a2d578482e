package emit

import (
	"fmt"
	"strings"

	"github.com/mlci/mlci/route"
)

// The manifests are built from structs, not maps, so that fields come out
// in the order people expect to read them (apiVersion, kind, metadata,
// spec) and a golden diff stays small.

type typeMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// annotationPrefix is mlci's domain for labels and annotations.
const annotationPrefix = "mlci.dev/"

func metaOf(t Target, name string) objectMeta {
	a := map[string]string{
		annotationPrefix + "rollout-id":     route.RolloutID(t.Model, t.Stage, t.Canary.Version),
		annotationPrefix + "model":          t.Model,
		annotationPrefix + "stage":          t.Stage,
		annotationPrefix + "stable-version": t.Stable.Version,
		annotationPrefix + "canary-version": t.Canary.Version,
		annotationPrefix + "canary-percent": percentString(t.Percent),
	}
	if t.Stable.Digest != "" {
		a[annotationPrefix+"stable-digest"] = t.Stable.Digest
	}
	if t.Canary.Digest != "" {
		a[annotationPrefix+"canary-digest"] = t.Canary.Digest
	}
	return objectMeta{
		Name:      name,
		Namespace: t.Namespace,
		Labels: map[string]string{
			"app.kubernetes.io/managed-by": "mlci",
			"app.kubernetes.io/name":       dnsLabel(t.Model, maxLabel),
			annotationPrefix + "stage":     dnsLabel(t.Stage, maxLabel),
		},
		Annotations: a,
	}
}

type inferenceServiceDoc struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		Predictor struct {
			CanaryTrafficPercent int `yaml:"canaryTrafficPercent"`
			Model                struct {
				ModelFormat struct {
					Name string `yaml:"name"`
				} `yaml:"modelFormat"`
				StorageURI string `yaml:"storageUri"`
			} `yaml:"model"`
		} `yaml:"predictor"`
	} `yaml:"spec"`
}

func inferenceService(t Target) (any, error) {
	p, err := t.wholePercent(KServe)
	if err != nil {
		return nil, err
	}
	if t.Canary.URI == "" || t.Format == "" {
		return nil, fmt.Errorf("%w: kserve needs the canary's URI and the model format", ErrTarget)
	}
	d := inferenceServiceDoc{typeMeta: typeMeta{"serving.kserve.io/v1beta1", "InferenceService"}}
	d.Metadata = metaOf(t, namesOf(t).base)
	d.Spec.Predictor.CanaryTrafficPercent = p
	d.Spec.Predictor.Model.ModelFormat.Name = t.Format
	d.Spec.Predictor.Model.StorageURI = t.Canary.URI
	return d, nil
}

type parentRef struct {
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace,omitempty"`
}

type backendRef struct {
	Name   string `yaml:"name"`
	Port   int    `yaml:"port"`
	Weight int    `yaml:"weight"`
}

type httpRouteDoc struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		ParentRefs []parentRef `yaml:"parentRefs,omitempty"`
		Rules      []struct {
			BackendRefs []backendRef `yaml:"backendRefs"`
		} `yaml:"rules"`
	} `yaml:"spec"`
}

// httpRoute weights the Services in basis points, the finest share a
// rollout has, so the route carries exactly the share route.Split uses.
// The gateway picks per request, not per user: a user may see both
// versions, which route.Split avoids for serving code that uses it.
func httpRoute(t Target) (any, error) {
	canary, err := route.BasisFromPercent(t.Percent)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	port := t.Port
	if port == 0 {
		port = 80
	}
	n := namesOf(t)
	d := httpRouteDoc{typeMeta: typeMeta{"gateway.networking.k8s.io/v1", "HTTPRoute"}}
	d.Metadata = metaOf(t, n.base)
	if t.Gateway != "" {
		ns, name, ok := strings.Cut(t.Gateway, "/")
		if !ok {
			ns, name = "", t.Gateway
		}
		d.Spec.ParentRefs = []parentRef{{Name: name, Namespace: ns}}
	}
	d.Spec.Rules = make([]struct {
		BackendRefs []backendRef `yaml:"backendRefs"`
	}, 1)
	d.Spec.Rules[0].BackendRefs = []backendRef{
		{Name: n.stable, Port: port, Weight: route.Buckets - canary},
		{Name: n.canary, Port: port, Weight: canary},
	}
	return d, nil
}

type podMetadata struct {
	Annotations map[string]string `yaml:"annotations"`
}

type rolloutStep struct {
	SetWeight *int      `yaml:"setWeight,omitempty"`
	Pause     *struct{} `yaml:"pause,omitempty"`
}

type rolloutDoc struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		Strategy struct {
			Canary struct {
				StableService  string        `yaml:"stableService"`
				CanaryService  string        `yaml:"canaryService"`
				StableMetadata podMetadata   `yaml:"stableMetadata"`
				CanaryMetadata podMetadata   `yaml:"canaryMetadata"`
				Steps          []rolloutStep `yaml:"steps"`
			} `yaml:"canary"`
		} `yaml:"strategy"`
	} `yaml:"spec"`
}

// argoRollout sets the weight and then pauses without a duration, so Argo
// holds the share until mlci writes the next step; at 100 % there is
// nothing to hold and the rollout completes.
func argoRollout(t Target) (any, error) {
	p, err := t.wholePercent(ArgoRollouts)
	if err != nil {
		return nil, err
	}
	n := namesOf(t)
	d := rolloutDoc{typeMeta: typeMeta{"argoproj.io/v1alpha1", "Rollout"}}
	d.Metadata = metaOf(t, n.base)
	c := &d.Spec.Strategy.Canary
	c.StableService, c.CanaryService = n.stable, n.canary
	c.StableMetadata.Annotations = map[string]string{annotationPrefix + "version": t.Stable.Version}
	c.CanaryMetadata.Annotations = map[string]string{annotationPrefix + "version": t.Canary.Version}
	c.Steps = []rolloutStep{{SetWeight: &p}}
	if p < 100 {
		c.Steps = append(c.Steps, rolloutStep{Pause: &struct{}{}})
	}
	return d, nil
}
