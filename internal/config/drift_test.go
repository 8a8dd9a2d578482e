package config

import (
	"strings"
	"testing"
)

func TestDriftConfig(t *testing.T) {
	src := `drift:
  alpha: 0.01
  min_psi: 0.25
  max_drifted_share: 0.3
  columns:
    age: {max_psi: 0.1}
    user_id: {ignore: true}
models:
  - name: churn
    artifact: model.bin
    profile: {data: [data/train.csv], target: churned, prediction: score, exclude: [id]}
    refit: {paths: [mlci.lock, metrics.json], base: main}
`
	c, err := Parse("mlci.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Drift == nil || c.Drift.Alpha != 0.01 || *c.Drift.Columns["age"].MaxPSI != 0.1 || !c.Drift.Columns["user_id"].Ignore {
		t.Errorf("drift = %+v", c.Drift)
	}
	m := c.Models[0]
	if m.Profile == nil || m.Profile.Target != "churned" || len(m.Profile.Exclude) != 1 || m.Refit == nil || m.Refit.Base != "main" {
		t.Errorf("model = %+v", m)
	}
}

func TestDriftConfigErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"alpha of 1", "drift: {alpha: 1}", "alpha 1 is out of range"},
		{"negative psi", "drift: {min_psi: -1}", "min_psi -1 is out of range"},
		{"share over 1", "drift: {max_drifted_share: 1.5}", "max_drifted_share 1.5"},
		{"negative column psi", "drift: {columns: {a: {max_psi: -0.1}}}", `column "a": max_psi -0.1`},
		{"profile without data", "models: [{name: m, artifact: a, profile: {target: y}}]", "profile has no data"},
		{"profile data outside", "models: [{name: m, artifact: a, profile: {data: [../x.csv]}}]", `profile data "../x.csv" must be a file inside the project`},
		{"profile format", "models: [{name: m, artifact: a, profile: {data: [x], format: xlsx}}]", `profile format "xlsx"`},
		{"refit outside", "models: [{name: m, artifact: a, refit: {paths: [/etc/passwd]}}]", "must be inside the project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("mlci.yaml", []byte(tt.src+"\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "mlci.yaml:") {
				t.Errorf("err = %v, want mlci.yaml:… containing %q", err, tt.want)
			}
		})
	}
}
