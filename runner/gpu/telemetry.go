package gpu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/mlci/mlci/internal/atomicfile"
)

// Sample is one telemetry reading of one physical GPU.
type Sample struct {
	Time        time.Time `json:"time"`
	UUID        string    `json:"uuid"`
	Utilization uint32    `json:"utilization"` // percent, 0 if unknown
	MemoryUsed  uint64    `json:"memory_used"` // bytes
	PowerW      float64   `json:"power_w"`     // 0 if unknown
	// EnergyMJ is the GPU's energy counter in millijoules since the driver
	// loaded, nil where the GPU has none (then power is integrated instead).
	EnergyMJ *uint64 `json:"energy_mj"`
}

// Sampler takes one reading of the given GPUs; *Host is one, tests fake it.
type Sampler interface {
	Sample(ctx context.Context, uuids []string) ([]Sample, error)
}

var _ Sampler = (*Host)(nil)

// Sample reads the given GPUs (nil: all). A MIG UUID samples its parent GPU,
// under the parent's UUID: NVML measures utilization and power per physical
// GPU. It returns the samples it could take together with an error naming
// the GPUs it could not read, so one lost GPU does not blind the others.
func (h *Host) Sample(ctx context.Context, uuids []string) ([]Sample, error) {
	release, err := h.use()
	if err != nil {
		return nil, err
	}
	defer release()
	var devs []nvml.Device
	var errs []error
	if uuids == nil {
		for _, d := range h.handles() {
			if d != nil {
				devs = append(devs, d)
			}
		}
	}
	for _, u := range uuids {
		d, _, err := h.lookup(u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		devs = append(devs, d)
	}
	var out []Sample
	seen := map[string]bool{}
	for _, d := range devs {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("sample GPUs: %w", err)
		}
		s, err := sample(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[s.UUID] {
			continue // two MIG devices of one GPU
		}
		seen[s.UUID] = true
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func sample(d nvml.Device) (Sample, error) {
	uuid, ret := d.GetUUID()
	if ret != nvml.SUCCESS {
		return Sample{}, fmt.Errorf("sample a GPU: read its UUID: %w", ret)
	}
	s := Sample{Time: time.Now(), UUID: uuid}
	mem, ret := d.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return Sample{}, fmt.Errorf("sample GPU %s: read memory: %w", uuid, ret)
	}
	s.MemoryUsed = mem.Used
	// The rest is optional; a lost GPU shows in the memory read above.
	if u, ret := d.GetUtilizationRates(); ret == nvml.SUCCESS {
		s.Utilization = u.Gpu
	}
	if p, ret := d.GetPowerUsage(); ret == nvml.SUCCESS {
		s.PowerW = float64(p) / 1000
	}
	if e, ret := d.GetTotalEnergyConsumption(); ret == nvml.SUCCESS {
		s.EnergyMJ = &e
	}
	return s, nil
}

// Summary is what a job did with its GPUs.
type Summary struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	DurationS float64   `json:"duration_s"`
	// PeakMemory is the highest memory used on any one GPU: what a job
	// needs per GPU, which is what a smaller GPU must offer to run it.
	PeakMemory uint64 `json:"peak_memory"`
	// MeanUtilization is the mean over every sample of every GPU.
	MeanUtilization float64 `json:"mean_utilization"`
	// EnergyWh is the sum over the GPUs.
	EnergyWh float64      `json:"energy_wh"`
	GPUs     []GPUSummary `json:"gpus"`
	// SampleErrors counts the readings that failed; telemetry is best
	// effort, so they do not stop the recording.
	SampleErrors int `json:"sample_errors"`
}

// GPUSummary is one GPU's share of a Summary.
type GPUSummary struct {
	UUID            string  `json:"uuid"`
	PeakMemory      uint64  `json:"peak_memory"`
	MeanUtilization float64 `json:"mean_utilization"`
	EnergyWh        float64 `json:"energy_wh"`
	Samples         int     `json:"samples"`
}

// Recording samples GPUs in the background until Stop.
type Recording struct {
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	summary  Summary

	mu    sync.Mutex // guards acc, read by Snapshot while sampling goes on
	acc   *accumulator
	start time.Time
}

// Record samples uuids every interval (a second if interval <= 0) in a new
// goroutine until Stop is called or ctx ends. It keeps running totals, not
// samples, so a long job costs no more memory than a short one.
func Record(ctx context.Context, s Sampler, uuids []string, interval time.Duration) *Recording {
	if interval <= 0 {
		interval = time.Second
	}
	start := time.Now()
	acc := newAccumulator()
	r := &Recording{stop: make(chan struct{}), done: make(chan struct{}), acc: acc, start: start}
	go func() {
		defer close(r.done)
		take := func(ctx context.Context) {
			samples, err := s.Sample(ctx, uuids)
			r.mu.Lock()
			defer r.mu.Unlock()
			if err != nil {
				acc.errors++
			}
			acc.add(samples)
		}
		take(ctx)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				r.summary = r.Snapshot()
				return
			case <-r.stop:
				// One last reading so the energy covers the job's end.
				take(ctx)
				r.summary = r.Snapshot()
				return
			case <-t.C:
				take(ctx)
			}
		}
	}()
	return r
}

// Stop ends the recording, waits for its goroutine and returns the summary.
// Calling it again returns the same summary.
func (r *Recording) Stop() Summary {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	return r.summary
}

// Snapshot returns the summary so far without stopping, so a job's own
// report step can read its GPUs' telemetry while the job still runs.
func (r *Recording) Snapshot() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acc.summary(r.start, time.Now())
}

// accumulator keeps running totals per GPU.
type accumulator struct {
	gpus   map[string]*gpuTotals
	errors int
}

type gpuTotals struct {
	samples     int
	utilSum     float64
	peakMemory  uint64
	first, last *uint64   // energy counter readings
	joules      float64   // power integrated by the trapezoid rule
	prevTime    time.Time // previous sample, for the trapezoid
	prevPowerW  float64
	counterGood bool // the counter never went backwards
}

func newAccumulator() *accumulator { return &accumulator{gpus: map[string]*gpuTotals{}} }

func (a *accumulator) add(samples []Sample) {
	for _, s := range samples {
		g := a.gpus[s.UUID]
		if g == nil {
			g = &gpuTotals{counterGood: true}
			a.gpus[s.UUID] = g
		}
		if g.samples > 0 {
			if dt := s.Time.Sub(g.prevTime).Seconds(); dt > 0 {
				g.joules += (g.prevPowerW + s.PowerW) / 2 * dt
			}
		}
		g.prevTime, g.prevPowerW = s.Time, s.PowerW
		g.samples++
		g.utilSum += float64(s.Utilization)
		g.peakMemory = max(g.peakMemory, s.MemoryUsed)
		if s.EnergyMJ != nil {
			// A counter that goes backwards was reset (driver reload): trust
			// the power integral instead.
			if g.last != nil && *s.EnergyMJ < *g.last {
				g.counterGood = false
			}
			if g.first == nil {
				g.first = ptr(*s.EnergyMJ)
			}
			g.last = ptr(*s.EnergyMJ)
		}
	}
}

func (a *accumulator) summary(start, end time.Time) Summary {
	sum := Summary{Start: start, End: end, DurationS: end.Sub(start).Seconds(), SampleErrors: a.errors, GPUs: []GPUSummary{}}
	var utilSum float64
	var n int
	for uuid, g := range a.gpus {
		wh := g.joules / 3600
		// The counter wins when two readings of it bound the job: it counts
		// every millijoule, where sampled power misses what falls between.
		if g.counterGood && g.first != nil && g.last != nil && *g.last > *g.first {
			wh = float64(*g.last-*g.first) / 3.6e6
		}
		sum.GPUs = append(sum.GPUs, GPUSummary{
			UUID: uuid, PeakMemory: g.peakMemory, MeanUtilization: g.utilSum / float64(g.samples),
			EnergyWh: wh, Samples: g.samples,
		})
		sum.PeakMemory = max(sum.PeakMemory, g.peakMemory)
		sum.EnergyWh += wh
		utilSum += g.utilSum
		n += g.samples
	}
	if n > 0 {
		sum.MeanUtilization = utilSum / float64(n)
	}
	slices.SortFunc(sum.GPUs, func(a, b GPUSummary) int { return strings.Compare(a.UUID, b.UUID) })
	return sum
}

// WriteSummary writes s as indented JSON to path atomically.
func WriteSummary(path string, s Summary) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode GPU telemetry summary: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write GPU telemetry summary: %w", err)
	}
	return nil
}
