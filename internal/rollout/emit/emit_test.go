package emit

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func digits() Target {
	return Target{
		Model:     "digits",
		Stage:     "production",
		Namespace: "models",
		Stable:    Backend{Version: "v1.2.0", URI: "s3://models/digits/v1.2.0", Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
		Canary:    Backend{Version: "v1.3.0", URI: "s3://models/digits/v1.3.0", Digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222"},
		Percent:   20,
		Format:    "sklearn",
		Gateway:   "gateways/public",
		Port:      8080,
	}
}

func TestRenderGolden(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			got, err := Render(digits(), k)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", string(k)+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Render(%s) differs from %s (-want +got):\n%s", k, golden, diff)
			}
		})
	}
}

// Every step of a rollout, and targets with awkward names, must give
// manifests the engines' published schemas accept.
func TestRenderMatchesPublishedSchemas(t *testing.T) {
	awkward := digits()
	awkward.Model = "Fraud_Detector.v2 (EU)/" + strings.Repeat("x", 80)
	awkward.Stage = "Prod"
	awkward.Namespace = ""
	awkward.Gateway = "public"
	awkward.Port = 0
	targets := map[string]Target{"awkward names": awkward}
	for _, p := range []float64{5, 20, 50, 100} {
		tg := digits()
		tg.Percent = p
		targets[percentString(p)+"%"] = tg
	}
	for name, tg := range targets {
		for _, k := range Kinds() {
			t.Run(name+"/"+string(k), func(t *testing.T) {
				doc, err := Render(tg, k)
				if err != nil {
					t.Fatal(err)
				}
				if err := validate(t, k, doc); err != nil {
					t.Errorf("%s does not match the published schema: %v\n%s", k, err, doc)
				}
			})
		}
	}
}

// The schema check must be able to fail, or the test above proves nothing.
func TestSchemaRefusesBrokenManifests(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		path  []any // to the value to replace
		value any
	}{
		{name: "canary percent as a string", kind: KServe, path: []any{"spec", "predictor", "canaryTrafficPercent"}, value: "20"},
		{name: "misspelt predictor field", kind: KServe, path: []any{"spec", "predictor", "canaryTrafficPercnt"}, value: 20},
		{name: "negative weight", kind: HTTPRoute, path: []any{"spec", "rules", 0, "backendRefs", 1, "weight"}, value: -1},
		{name: "weight above a million", kind: HTTPRoute, path: []any{"spec", "rules", 0, "backendRefs", 0, "weight"}, value: 1000001},
		{name: "port zero", kind: HTTPRoute, path: []any{"spec", "rules", 0, "backendRefs", 0, "port"}, value: 0},
		{name: "weight as a string", kind: ArgoRollouts, path: []any{"spec", "strategy", "canary", "steps", 0, "setWeight"}, value: "20"},
		{name: "pause duration as a list", kind: ArgoRollouts, path: []any{"spec", "strategy", "canary", "steps", 1, "pause", "duration"}, value: []any{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Render(digits(), tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := yaml.Unmarshal(doc, &v); err != nil {
				t.Fatal(err)
			}
			set(t, v, tt.path, tt.value)
			if err := validateValue(t, tt.kind, v); err == nil {
				t.Errorf("a manifest with %v = %#v passed the schema", tt.path, tt.value)
			} else {
				t.Logf("refused: %v", err)
			}
		})
	}
}

// set replaces the value at path in a decoded document, adding the last
// map key if it is missing.
func set(t *testing.T, v any, path []any, value any) {
	t.Helper()
	for i, p := range path {
		last := i == len(path)-1
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, p)
			}
			if last {
				m[p] = value
				return
			}
			v = m[p]
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				t.Fatalf("%v: no item %d", path, p)
			}
			if last {
				l[p] = value
				return
			}
			v = l[p]
		}
	}
}

func TestRenderRefuses(t *testing.T) {
	tests := []struct {
		name   string
		kind   Kind
		change func(*Target)
	}{
		{name: "no model", kind: HTTPRoute, change: func(t *Target) { t.Model = "" }},
		{name: "no canary version", kind: HTTPRoute, change: func(t *Target) { t.Canary.Version = "" }},
		{name: "zero percent", kind: HTTPRoute, change: func(t *Target) { t.Percent = 0 }},
		{name: "above 100 percent", kind: HTTPRoute, change: func(t *Target) { t.Percent = 101 }},
		{name: "finer than a basis point", kind: HTTPRoute, change: func(t *Target) { t.Percent = 12.345 }},
		{name: "port out of range", kind: HTTPRoute, change: func(t *Target) { t.Port = 70000 }},
		{name: "kserve fractional percent", kind: KServe, change: func(t *Target) { t.Percent = 2.5 }},
		{name: "kserve without canary URI", kind: KServe, change: func(t *Target) { t.Canary.URI = "" }},
		{name: "kserve without format", kind: KServe, change: func(t *Target) { t.Format = "" }},
		{name: "argo fractional percent", kind: ArgoRollouts, change: func(t *Target) { t.Percent = 0.5 }},
		{name: "unknown kind", kind: "istio", change: func(*Target) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := digits()
			tt.change(&tg)
			if _, err := Render(tg, tt.kind); err == nil {
				t.Error("Render succeeded")
			}
		})
	}
}

func TestHTTPRouteFractionalShare(t *testing.T) {
	tg := digits()
	tg.Percent = 0.5
	doc, err := Render(tg, HTTPRoute)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"weight: 9950", "weight: 50"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("no %q in\n%s", want, doc)
		}
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := ParseKind("KServe"); err == nil {
		t.Error("ParseKind accepted a name in the wrong case")
	}
}

func TestDNSLabel(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{name: "already a label", in: "digits-production", max: 63, want: "digits-production"},
		{name: "upper case and punctuation", in: "Fraud_Detector.v2 (EU)", max: 63, want: "fraud-detector-v2-eu"},
		{name: "leading digit", in: "3d-seg", max: 63, want: "m-3d-seg"},
		{name: "nothing usable", in: "__", max: 63, want: "m"},
		{name: "cut keeps a hash", in: strings.Repeat("a", 70), max: 20, want: "aaaaaaaaaaa-" + "6bd5e503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dnsLabel(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("dnsLabel(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if len(got) > tt.max {
				t.Errorf("%q is longer than %d", got, tt.max)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy", "rollouts")
	paths, err := Write(dir, digits(), Kinds())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, p := range paths {
		names = append(names, filepath.Base(p))
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Render(digits(), Kinds()[i])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from Render", p)
		}
	}
	want := []string{"digits-production.kserve.yaml", "digits-production.httproute.yaml", "digits-production.argo-rollouts.yaml"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%d entries in %s, want %d: a temporary file was left", len(entries), dir, len(want))
	}
}

func TestWriteRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) string // returns the dir to write to
		target  func(*Target)
		kinds   []Kind
		wantErr error
	}{
		{
			name: "link in the path",
			setup: func(t *testing.T, root string) string {
				if err := os.Symlink(t.TempDir(), filepath.Join(root, "link")); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(root, "link", "rollouts")
			},
			kinds:   Kinds(),
			wantErr: ErrLink,
		},
		{
			name: "link as the folder",
			setup: func(t *testing.T, root string) string {
				link := filepath.Join(root, "rollouts")
				if err := os.Symlink(t.TempDir(), link); err != nil {
					t.Fatal(err)
				}
				return link
			},
			kinds:   Kinds(),
			wantErr: ErrLink,
		},
		{
			name:    "one kind refuses the target",
			setup:   func(t *testing.T, root string) string { return filepath.Join(root, "rollouts") },
			target:  func(t *Target) { t.Percent = 2.5 },
			kinds:   []Kind{HTTPRoute, KServe},
			wantErr: ErrTarget,
		},
		{
			name:    "kind twice",
			setup:   func(t *testing.T, root string) string { return filepath.Join(root, "rollouts") },
			kinds:   []Kind{HTTPRoute, HTTPRoute},
			wantErr: ErrTarget,
		},
		{
			name:    "no kinds",
			setup:   func(t *testing.T, root string) string { return filepath.Join(root, "rollouts") },
			wantErr: ErrTarget,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			dir := tt.setup(t, root)
			tg := digits()
			if tt.target != nil {
				tt.target(&tg)
			}
			paths, err := Write(dir, tg, tt.kinds)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Write: err = %v, want %v", err, tt.wantErr)
			}
			if len(paths) != 0 {
				t.Errorf("Write returned %v", paths)
			}
			// Nothing may have been written, through the link or not.
			filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && d.Type()&os.ModeSymlink == 0 {
					t.Errorf("%s was written", p)
				}
				return nil
			})
		})
	}
}

// Argo's pause duration is x-kubernetes-int-or-string: both forms must pass
// the converted schema, or it would be stricter than the API server.
func TestSchemaAcceptsIntOrString(t *testing.T) {
	for _, d := range []any{"1h", 60} {
		doc, err := Render(digits(), ArgoRollouts)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			t.Fatal(err)
		}
		set(t, v, []any{"spec", "strategy", "canary", "steps", 1, "pause", "duration"}, d)
		if err := validateValue(t, ArgoRollouts, v); err != nil {
			t.Errorf("pause duration %#v refused: %v", d, err)
		}
	}
}
