package lease

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAcquireChoice(t *testing.T) {
	twoIslands := []Candidate{
		gpu(0, "A"), gpu(1, "A"), gpu(2, "A"), gpu(3, "A"),
		gpu(4, "B"), gpu(5, "B"), gpu(6, "B"), gpu(7, "B"),
	}
	migHost := []Candidate{gpu(0, ""), mig(0, "a"), mig(0, "b"), gpu(1, "")}
	mixed := []Candidate{gpu(0, ""), gpu(1, ""), gpu(2, ""), gpu(3, "")}
	mixed[0].MemoryTotal, mixed[0].Model = 40*gib, "NVIDIA A100-SXM4-40GB"
	mixed[1].Model = "NVIDIA A100-SXM4-80GB"
	sick := gpus(4)
	sick[0].Healthy, sick[0].Reason = false, "uncorrected ECC errors"
	sick[1].Busy, sick[1].Reason = true, "pid 4242 not from a CI job"
	sickMIG := []Candidate{gpu(0, ""), mig(0, "a"), mig(0, "b"), gpu(1, "")}
	sickMIG[1].Healthy = false
	busyMIG := []Candidate{gpu(0, ""), mig(0, "a"), gpu(1, "")}
	busyMIG[1].Busy = true

	tests := []struct {
		name        string
		cands       []Candidate
		leased      map[string][]string
		quarantined map[string]string
		count       int
		minMemory   uint64
		model       string
		want        []string
		wantErr     error
	}{
		{name: "no topology: lowest indexes", cands: gpus(8), count: 2, want: []string{"GPU-0", "GPU-1"}},
		{name: "no topology: skips leased", cands: gpus(8), leased: map[string][]string{"j": {"GPU-0", "GPU-2"}}, count: 2, want: []string{"GPU-1", "GPU-3"}},
		{name: "both islands fit: best fit takes the fuller one", cands: twoIslands, leased: map[string][]string{"j": {"GPU-4", "GPU-5"}}, count: 2, want: []string{"GPU-6", "GPU-7"}},
		{name: "one GPU goes to the fullest island", cands: twoIslands, leased: map[string][]string{"j": {"GPU-0", "GPU-1", "GPU-2"}}, count: 1, want: []string{"GPU-3"}},
		{name: "only the later island fits", cands: twoIslands, leased: map[string][]string{"j": {"GPU-0", "GPU-3"}}, count: 3, want: []string{"GPU-4", "GPU-5", "GPU-6"}},
		{name: "equal islands: lowest index wins", cands: twoIslands, count: 4, want: []string{"GPU-0", "GPU-1", "GPU-2", "GPU-3"}},
		{name: "no island fits: lowest indexes across islands", cands: twoIslands, leased: map[string][]string{"j": {"GPU-0", "GPU-1", "GPU-4", "GPU-5"}}, count: 3, want: []string{"GPU-2", "GPU-3", "GPU-6"}},
		{name: "a known island beats unknown topology", cands: []Candidate{gpu(0, ""), gpu(1, ""), gpu(2, "A"), gpu(3, "A")}, count: 2, want: []string{"GPU-2", "GPU-3"}},
		{name: "MIG devices before their whole GPU", cands: migHost, count: 2, want: []string{"MIG-0a", "MIG-0b"}},
		{name: "leased MIG device blocks its GPU", cands: migHost, leased: map[string][]string{"j": {"MIG-0a"}}, count: 2, want: []string{"MIG-0b", "GPU-1"}},
		{name: "leased GPU blocks its MIG devices", cands: migHost, leased: map[string][]string{"j": {"GPU-0"}}, count: 1, want: []string{"GPU-1"}},
		{name: "quarantined GPU blocks its MIG devices", cands: migHost, quarantined: map[string]string{"GPU-0": "XID 79"}, count: 1, want: []string{"GPU-1"}},
		{name: "busy MIG device blocks its GPU", cands: busyMIG, count: 1, want: []string{"GPU-1"}},
		{name: "unhealthy MIG device blocks its GPU, not its sibling", cands: sickMIG, count: 2, want: []string{"MIG-0b", "GPU-1"}},
		{name: "GPU and its MIG devices count once", cands: migHost[:3], count: 3, wantErr: ErrUnsatisfiable},
		{name: "memory filter", cands: mixed, count: 1, minMemory: 80 * gib, want: []string{"GPU-1"}},
		{name: "model filter is a case-insensitive substring", cands: mixed, count: 2, model: "a100", want: []string{"GPU-0", "GPU-1"}},
		{name: "model and memory filters together", cands: mixed, count: 1, model: "A100", minMemory: 80 * gib, want: []string{"GPU-1"}},
		{name: "unhealthy, busy and quarantined never chosen", cands: sick, quarantined: map[string]string{"GPU-2": "flaky"}, count: 1, want: []string{"GPU-3"}},
		{name: "busy counts as possible later: timeout, not unsatisfiable", cands: sick, count: 3, wantErr: ErrTimeout},
		{name: "unhealthy and quarantined do not count", cands: sick, quarantined: map[string]string{"GPU-2": "flaky"}, count: 3, wantErr: ErrUnsatisfiable},
		{name: "too few large enough", cands: mixed, count: 4, minMemory: 80 * gib, wantErr: ErrUnsatisfiable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			seed(t, s, tt.leased)
			quarantine(t, s, tt.quarantined)
			l, err := s.Acquire(context.Background(), Request{
				Job:        "job",
				Count:      tt.count,
				MinMemory:  tt.minMemory,
				Model:      tt.model,
				Owner:      Self(),
				Candidates: inventory(tt.cands),
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Acquire error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, l.IDs); diff != "" {
				t.Errorf("Acquire IDs (-want +got):\n%s", diff)
			}
		})
	}
}
