package dockertest

import "testing"

func TestOwned(t *testing.T) {
	id := RunID()
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"this run's test label", map[string]string{LabelTest: id}, true},
		{"a job named with the run's ID", map[string]string{"mlci.job": "gitlab:it-" + id + "-101.test:101"}, true},
		{"a digest holding the run's ID", map[string]string{"mlci.digest": "sha256:" + id + "00"}, true},
		{"another run's", map[string]string{LabelTest: "0123456789ab", "mlci.runner": "1"}, false},
		{"the ID under another prefix", map[string]string{"com.example": id}, false},
		{"no labels", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Owned(tt.labels); got != tt.want {
				t.Errorf("Owned(%v) = %v, want %v", tt.labels, got, tt.want)
			}
		})
	}
}
