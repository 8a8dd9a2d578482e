package gpu

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/runner/gpu/gputest"
)

// script is a fake Sampler that replays batches of samples, one per call,
// then answers nothing; drained closes once every batch has been handed out,
// so tests wait on it rather than on the clock.
type script struct {
	mu      sync.Mutex
	batches []batch
	drained chan struct{}
}

type batch struct {
	samples []Sample
	err     error
}

func newScript(batches ...batch) *script {
	return &script{batches: batches, drained: make(chan struct{})}
}

func (s *script) Sample(ctx context.Context, uuids []string) ([]Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.batches) == 0 {
		return nil, nil
	}
	b := s.batches[0]
	s.batches = s.batches[1:]
	if len(s.batches) == 0 {
		close(s.drained)
	}
	return b.samples, b.err
}

func TestRecord(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	mj := func(v uint64) *uint64 { return &v }
	const a, b = "GPU-a", "GPU-b"
	tests := []struct {
		name    string
		batches []batch
		want    Summary
	}{
		{
			name: "energy counter",
			batches: []batch{
				{samples: []Sample{
					{Time: at(0), UUID: a, Utilization: 10, MemoryUsed: 1 << 30, PowerW: 100, EnergyMJ: mj(5_000_000)},
					{Time: at(0), UUID: b, Utilization: 50, MemoryUsed: 9 << 30, PowerW: 300, EnergyMJ: mj(1_000)},
				}},
				{samples: []Sample{
					{Time: at(10), UUID: a, Utilization: 30, MemoryUsed: 4 << 30, PowerW: 200, EnergyMJ: mj(5_000_000 + 1_800_000)},
					{Time: at(10), UUID: b, Utilization: 70, MemoryUsed: 2 << 30, PowerW: 300, EnergyMJ: mj(1_000 + 3_600_000)},
				}},
				{samples: []Sample{
					{Time: at(20), UUID: a, Utilization: 50, MemoryUsed: 2 << 30, PowerW: 100, EnergyMJ: mj(5_000_000 + 3_600_000)},
				}},
			},
			want: Summary{
				PeakMemory: 9 << 30, MeanUtilization: (10 + 30 + 50 + 50 + 70) / 5.0, EnergyWh: 1 + 1,
				GPUs: []GPUSummary{
					{UUID: a, PeakMemory: 4 << 30, MeanUtilization: 30, EnergyWh: 1, Samples: 3},
					{UUID: b, PeakMemory: 9 << 30, MeanUtilization: 60, EnergyWh: 1, Samples: 2},
				},
			},
		},
		{
			name: "power integrated without a counter",
			batches: []batch{
				{samples: []Sample{{Time: at(0), UUID: a, PowerW: 100}}},
				{samples: []Sample{{Time: at(36), UUID: a, PowerW: 300}}},
				{samples: []Sample{{Time: at(72), UUID: a, PowerW: 300}}},
			},
			// (100+300)/2*36 + 300*36 = 7200+10800 J = 5 Wh
			want: Summary{EnergyWh: 5, GPUs: []GPUSummary{{UUID: a, EnergyWh: 5, Samples: 3}}},
		},
		{
			name: "counter reset falls back to power",
			batches: []batch{
				{samples: []Sample{{Time: at(0), UUID: a, PowerW: 200, EnergyMJ: mj(9_000_000)}}},
				{samples: []Sample{{Time: at(18), UUID: a, PowerW: 200, EnergyMJ: mj(10)}}},
			},
			want: Summary{EnergyWh: 1, GPUs: []GPUSummary{{UUID: a, EnergyWh: 1, Samples: 2}}},
		},
		{
			name: "errors counted, partial samples kept",
			batches: []batch{
				{samples: []Sample{{Time: at(0), UUID: a, Utilization: 40, MemoryUsed: 3}}},
				{samples: []Sample{{Time: at(1), UUID: a, Utilization: 60, MemoryUsed: 5}}, err: errors.New("GPU-b is lost")},
				{err: errors.New("NVML gone")},
			},
			want: Summary{PeakMemory: 5, MeanUtilization: 50, SampleErrors: 2,
				GPUs: []GPUSummary{{UUID: a, PeakMemory: 5, MeanUtilization: 50, Samples: 2}}},
		},
		{
			name:    "nothing sampled",
			batches: []batch{{}},
			want:    Summary{GPUs: []GPUSummary{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(tt.batches...)
			rec := Record(t.Context(), s, []string{a, b}, time.Millisecond)
			<-s.drained
			got := rec.Stop()
			if again := rec.Stop(); !cmp.Equal(again, got) {
				t.Errorf("second Stop = %+v, want %+v", again, got)
			}
			if got.End.Before(got.Start) || got.DurationS != got.End.Sub(got.Start).Seconds() {
				t.Errorf("start %v end %v duration %v", got.Start, got.End, got.DurationS)
			}
			opts := cmp.Options{
				cmpopts.IgnoreFields(Summary{}, "Start", "End", "DurationS"),
				cmpopts.EquateApprox(0, 1e-9),
			}
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s := newScript(batch{samples: []Sample{{UUID: "GPU-a", Utilization: 7}}})
	rec := Record(ctx, s, nil, time.Hour)
	<-s.drained
	cancel()
	if got := rec.Stop(); len(got.GPUs) != 1 || got.GPUs[0].MeanUtilization != 7 {
		t.Errorf("summary = %+v", got)
	}
}

func TestHostSample(t *testing.T) {
	srv := gputest.NewServer(t, 4)
	srv.SetUtilization(1, 55, 10)
	srv.SetPower(1, 250_500)
	srv.SetMemoryUsed(1, 7<<30)
	srv.EnableMIG(2, 2)
	h := open(t, srv)

	t.Run("all", func(t *testing.T) {
		got, err := h.Sample(t.Context(), nil)
		if err != nil || len(got) != 4 {
			t.Fatalf("Sample = %d samples, %v", len(got), err)
		}
		g := got[1]
		if g.UUID != gputest.UUID(1) || g.Utilization != 55 || g.PowerW != 250.5 || g.MemoryUsed != 7<<30 ||
			g.EnergyMJ == nil || g.Time.IsZero() {
			t.Errorf("sample = %+v", g)
		}
	})
	t.Run("MIG devices sample their GPU once", func(t *testing.T) {
		got, err := h.Sample(t.Context(), []string{gputest.MIGUUID(2, 0), gputest.MIGUUID(2, 1), gputest.UUID(0)})
		if err != nil || len(got) != 2 || got[0].UUID != gputest.UUID(2) || got[1].UUID != gputest.UUID(0) {
			t.Errorf("Sample = %+v, %v", got, err)
		}
	})
	t.Run("no energy counter", func(t *testing.T) {
		srv := gputest.NewServer(t, 1)
		srv.Device(0).GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
		got, err := open(t, srv).Sample(t.Context(), nil)
		if err != nil || len(got) != 1 || got[0].EnergyMJ != nil || got[0].PowerW != 60 {
			t.Errorf("Sample = %+v, %v", got, err)
		}
	})
	t.Run("lost and unknown GPUs do not hide the others", func(t *testing.T) {
		srv := gputest.NewServer(t, 3)
		srv.LoseGPU(1)
		got, err := open(t, srv).Sample(t.Context(), []string{gputest.UUID(0), gputest.UUID(1), "GPU-nope", gputest.UUID(2)})
		if len(got) != 2 || got[0].UUID != gputest.UUID(0) || got[1].UUID != gputest.UUID(2) {
			t.Errorf("samples = %+v", got)
		}
		if !errors.Is(err, nvml.ERROR_GPU_IS_LOST) || !strings.Contains(err.Error(), "GPU-nope") {
			t.Errorf("err = %v, want the lost and the unknown GPU", err)
		}
	})
}

// With gputest each counter read adds one second of the current power, so
// the energy recorded is known however many samples the clock allowed.
func TestRecordHost(t *testing.T) {
	srv := gputest.NewServer(t, 2)
	srv.SetPower(0, 360_000)
	srv.SetUtilization(0, 80, 0)
	h := open(t, srv)
	rec := Record(t.Context(), h, []string{gputest.UUID(0)}, time.Hour)
	got := rec.Stop()
	if len(got.GPUs) != 1 {
		t.Fatalf("summary = %+v", got)
	}
	g := got.GPUs[0]
	// An hour-long interval: the first sample and the one Stop takes.
	if g.UUID != gputest.UUID(0) || g.Samples != 2 || g.MeanUtilization != 80 {
		t.Errorf("GPU summary = %+v", g)
	}
	if want := 360.0 * float64(g.Samples-1) / 3600; g.EnergyWh != want {
		t.Errorf("energy = %v Wh, want %v", g.EnergyWh, want)
	}
}

// A snapshot during the job sees the samples so far and does not stop the
// recording.
func TestRecordSnapshot(t *testing.T) {
	srv := gputest.NewServer(t, 1)
	srv.SetUtilization(0, 50, 0)
	h := open(t, srv)
	rec := Record(t.Context(), h, []string{gputest.UUID(0)}, time.Hour)
	var snap Summary
	for snap = rec.Snapshot(); len(snap.GPUs) == 0; snap = rec.Snapshot() {
		time.Sleep(time.Millisecond) // the first sample is taken at once
	}
	if snap.GPUs[0].Samples != 1 || snap.MeanUtilization != 50 {
		t.Errorf("snapshot = %+v", snap)
	}
	srv.SetUtilization(0, 100, 0)
	got := rec.Stop()
	if got.GPUs[0].Samples != 2 || got.MeanUtilization != 75 {
		t.Errorf("after Stop = %+v; want 2 samples with mean 75", got)
	}
}

func TestWriteSummary(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := Summary{
		Start: t0, End: t0.Add(90 * time.Second), DurationS: 90, PeakMemory: 3 << 30, MeanUtilization: 42.5, EnergyWh: 1.25,
		GPUs: []GPUSummary{{UUID: gputest.UUID(0), PeakMemory: 3 << 30, MeanUtilization: 42.5, EnergyWh: 1.25, Samples: 90}},
	}
	path := filepath.Join(t.TempDir(), "gpu-summary.json")
	if err := WriteSummary(path, s); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.json", data)
	var back Summary
	if err := json.Unmarshal(data, &back); err != nil || !cmp.Equal(back, s) {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, s)
	}
}
