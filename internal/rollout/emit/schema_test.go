package emit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// crdSources says where each kind's published schema is kept (see
// testdata/crd/README.md) and which served version the manifests use.
var crdSources = map[Kind]struct{ file, version string }{
	KServe:       {"inferenceservice-v1beta1.schema.json", "v1beta1"},
	HTTPRoute:    {"gateway.networking.k8s.io_httproutes.yaml", "v1"},
	ArgoRollouts: {"rollout-crd.yaml", "v1alpha1"},
}

var (
	schemasOnce sync.Once
	schemas     map[Kind]*jsonschema.Schema
	schemasErr  error
)

// crdSchema returns the JSON Schema of kind's CRD, compiled once: the three
// files hold about 1.7 MB of schema.
func crdSchema(t *testing.T, k Kind) *jsonschema.Schema {
	t.Helper()
	schemasOnce.Do(func() {
		schemas = map[Kind]*jsonschema.Schema{}
		for _, k := range Kinds() {
			s, err := compileCRD(k)
			if err != nil {
				schemasErr = fmt.Errorf("%s: %w", k, err)
				return
			}
			schemas[k] = s
		}
	})
	if schemasErr != nil {
		t.Fatal(schemasErr)
	}
	return schemas[k]
}

func compileCRD(k Kind) (*jsonschema.Schema, error) {
	src := crdSources[k]
	data, err := os.ReadFile(filepath.Join("testdata", "crd", src.file))
	if err != nil {
		return nil, err
	}
	var openAPI any
	if strings.HasSuffix(src.file, ".json") {
		if err := json.Unmarshal(data, &openAPI); err != nil {
			return nil, err
		}
	} else {
		if openAPI, err = servedSchema(data, src.version); err != nil {
			return nil, err
		}
	}
	s := toJSONSchema(openAPI).(map[string]any)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	// Through JSON once more so the compiler sees the numbers it expects.
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	url := "mem:///" + src.file + ".json"
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// servedSchema returns the openAPIV3Schema of a served version of a CRD.
func servedSchema(crd []byte, version string) (any, error) {
	var doc struct {
		Spec struct {
			Versions []struct {
				Name   string `yaml:"name"`
				Served bool   `yaml:"served"`
				Schema struct {
					OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
				} `yaml:"schema"`
			} `yaml:"versions"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(crd, &doc); err != nil {
		return nil, err
	}
	for _, v := range doc.Spec.Versions {
		if v.Name == version && v.Served {
			return jsonRoundTrip(v.Schema.OpenAPIV3Schema)
		}
	}
	return nil, fmt.Errorf("no served version %s", version)
}

// jsonRoundTrip turns what YAML decoded into what JSON would have: float64
// numbers and map[string]any objects.
func jsonRoundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}

// toJSONSchema turns a Kubernetes structural schema (OpenAPI v3 with
// x-kubernetes extensions) into JSON Schema 2020-12, stricter than the API
// server in one way: an object with declared properties and no
// x-kubernetes-preserve-unknown-fields refuses other fields, where the API
// server would prune them (or refuse them under strict field validation,
// kubectl's default). A misspelt field is the mistake worth catching.
// CEL rules (x-kubernetes-validations) are not checked.
func toJSONSchema(n any) any {
	m, ok := n.(map[string]any)
	if !ok {
		return n
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case k == "properties" || k == "patternProperties":
			props := map[string]any{}
			for name, s := range v.(map[string]any) {
				props[name] = toJSONSchema(s)
			}
			out[k] = props
		case k == "items" || k == "additionalProperties" || k == "not":
			out[k] = toJSONSchema(v)
		case k == "allOf" || k == "anyOf" || k == "oneOf":
			var list []any
			for _, s := range v.([]any) {
				list = append(list, toJSONSchema(s))
			}
			out[k] = list
		case k == "nullable" || strings.HasPrefix(k, "x-kubernetes-"):
			// Handled below, from m.
		default:
			// Values (default, enum, example) are copied as they are.
			out[k] = v
		}
	}
	typ, hasType := m["type"].(string)
	if m["x-kubernetes-int-or-string"] == true && !hasType {
		out["type"] = []any{"integer", "string"}
	}
	if m["nullable"] == true && hasType {
		out["type"] = []any{typ, "null"}
	}
	_, hasProps := m["properties"]
	_, hasAdditional := m["additionalProperties"]
	if hasProps && !hasAdditional && m["x-kubernetes-preserve-unknown-fields"] != true {
		out["additionalProperties"] = false
	}
	return out
}

// validate checks a rendered YAML document against kind's CRD schema.
func validate(t *testing.T, k Kind, doc []byte) error {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		t.Fatalf("rendered %s is not YAML: %v", k, err)
	}
	return validateValue(t, k, v)
}

func validateValue(t *testing.T, k Kind, v any) error {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return crdSchema(t, k).Validate(inst)
}
