package registry

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMessageRoundTrip(t *testing.T) {
	assign := Tag{Artifact: "churn", Stage: "prod", Counter: "3", Kind: KindAssignment}
	reg := Tag{Artifact: "churn", Version: "v1.0.0", Kind: KindRegistration}
	full := Record{
		Artifact: "blake3:abc", Path: "models/churn.pkl",
		Metrics:   map[string]float64{"auc": 0.91, "loss": 0.2},
		DataRoots: map[string]string{"train": "blake3:def"},
		Gate:      "pass", RunID: "42", Actor: "octocat", CI: "github",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Version: "v1.0.0",
	}
	tests := []struct {
		name     string
		tag      Tag
		rec      Record
		headline string
		want     Record
	}{
		{"assignment", assign, full, "Assigning stage prod to artifact churn version v1.0.0", full},
		{"registration", reg, Record{Version: "v1.0.0"}, "Registering artifact churn version v1.0.0", Record{Version: "v1.0.0"}},
		{"non-finite metrics dropped", reg, Record{Metrics: map[string]float64{"a": 1, "b": math.NaN(), "c": math.Inf(1)}},
			"Registering artifact churn version v1.0.0", Record{Metrics: map[string]float64{"a": 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := FormatMessage(tt.tag, tt.rec)
			first, _, _ := strings.Cut(msg, "\n")
			if first != tt.headline {
				t.Errorf("first line = %q, want %q", first, tt.headline)
			}
			if !strings.Contains(msg, "\n\n{") {
				t.Errorf("no blank line before the JSON:\n%s", msg)
			}
			got, ok := ParseMessage(msg)
			if !ok {
				t.Fatalf("ParseMessage failed on:\n%s", msg)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessageJSONNames(t *testing.T) {
	msg := FormatMessage(Tag{Artifact: "m", Version: "v1.0.0", Kind: KindRegistration},
		Record{Artifact: "d", DataRoots: map[string]string{"x": "y"}, RunID: "1"})
	for _, k := range []string{`"artifact_digest"`, `"data_roots"`, `"run_id"`} {
		if !strings.Contains(msg, k) {
			t.Errorf("message lacks %s:\n%s", k, msg)
		}
	}
}

func TestParseMessageWithoutRecord(t *testing.T) {
	tests := []struct {
		name string
		msg  string
	}{
		{"gto default", "Registering artifact churn version v1.0.0\n"},
		{"gto with body", "Assigning stage prod to artifact churn version v1.0.0\n\nby hand"},
		{"broken json", "Registering artifact m version v1.0.0\n\n{not json"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, ok := ParseMessage(tt.msg); ok {
				t.Errorf("ParseMessage(%q) = %+v, true; want false", tt.msg, r)
			}
		})
	}
}

func TestNextVersion(t *testing.T) {
	tests := []struct {
		name, cur, bump, want string
		wantErr               bool
	}{
		{"first", "", "minor", "v0.0.1", false},
		{"patch", "v1.2.3", "patch", "v1.2.4", false},
		{"minor", "v1.2.3", "minor", "v1.3.0", false},
		{"major", "v1.2.3", "major", "v2.0.0", false},
		{"drops prerelease", "v1.2.3-rc.1", "minor", "v1.3.0", false},
		{"bad bump", "v1.2.3", "huge", "", true},
		{"bad version", "1.2.3", "patch", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextVersion(tt.cur, tt.bump)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("NextVersion(%q, %q) = %q, %v; want %q, error %v", tt.cur, tt.bump, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCompareSemver(t *testing.T) {
	// Ascending per semver.org's precedence example, plus build metadata.
	order := []string{"v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta", "v1.0.0-beta", "v1.0.0-beta.2",
		"v1.0.0-beta.11", "v1.0.0-rc.1", "v1.0.0", "v1.0.1", "v1.10.0", "v2.0.0"}
	for i := 1; i < len(order); i++ {
		if c := compareSemver(order[i-1], order[i]); c >= 0 {
			t.Errorf("compareSemver(%s, %s) = %d, want < 0", order[i-1], order[i], c)
		}
	}
	if c := compareSemver("v1.0.0+a", "v1.0.0+b"); c != 0 {
		t.Errorf("build metadata changed order: %d", c)
	}
}
