package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// at returns the time d after an arbitrary fixed start, where every test's
// fake clock begins.
func at(d time.Duration) time.Time {
	return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(d)
}

// fakeClock is only read from the test goroutine: tests call tick directly
// and never Start a Bar that uses it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

// newTestBar returns a Bar started at at(0) on a fake clock, writing to a buffer.
func newTestBar(opts Options) (*Bar, *fakeClock, *bytes.Buffer) {
	clk := &fakeClock{t: at(0)}
	var buf bytes.Buffer
	opts.Out = &buf
	opts.Now = clk.Now
	return New(opts), clk, &buf
}

func TestDetectMode(t *testing.T) {
	env := func(ci string) func(string) string {
		return func(k string) string {
			if k == "CI" {
				return ci
			}
			return ""
		}
	}
	tests := []struct {
		name     string
		quiet    bool
		terminal bool
		getenv   func(string) string
		want     Mode
	}{
		{"quiet wins over everything", true, true, env("true"), Off},
		{"quiet without terminal", true, false, env(""), Off},
		{"CI on a terminal logs", false, true, env("true"), Log},
		{"CI with any non-empty value", false, true, env("0"), Log},
		{"CI without terminal", false, false, env("1"), Log},
		{"terminal", false, true, env(""), Terminal},
		{"no terminal logs", false, false, env(""), Log},
		{"nil getenv on terminal", false, true, nil, Terminal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectMode(tt.quiet, tt.terminal, tt.getenv); got != tt.want {
				t.Errorf("DetectMode(%v, %v) = %v, want %v", tt.quiet, tt.terminal, got, tt.want)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		name string
		n    int64
		want string
	}{
		{"zero", 0, "0 B"},
		{"one", 1, "1 B"},
		{"bytes", 512, "512 B"},
		{"largest bytes", 1023, "1023 B"},
		{"one KiB", kib, "1.0 KiB"},
		{"fraction below ten", 1536, "1.5 KiB"},
		{"rounds up to ten", 10*kib - 1, "10 KiB"},
		{"ten", 10 * kib, "10 KiB"},
		{"no decimal above ten", 380*mib + 300*kib, "380 MiB"},
		{"example total", 832 * mib, "832 MiB"},
		{"rounds up to next unit", 1024*kib - 1, "1.0 MiB"},
		{"GiB below ten", 2 * gib, "2.0 GiB"},
		{"TiB", 3 << 40, "3.0 TiB"},
		{"max int64", 1<<63 - 1, "8.0 EiB"},
		{"negative", -1536, "-1.5 KiB"},
		{"min int64", -1 << 63, "-8.0 EiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Bytes(tt.n); got != tt.want {
				t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestCount(t *testing.T) {
	tests := []struct {
		name string
		n    int64
		want string
	}{
		{"zero", 0, "0"},
		{"one digit", 7, "7"},
		{"three digits", 999, "999"},
		{"four digits", 1000, "1,000"},
		{"six digits", 100000, "100,000"},
		{"seven digits", 1234567, "1,234,567"},
		{"negative", -1234, "-1,234"},
		{"negative short", -12, "-12"},
		{"max int64", 1<<63 - 1, "9,223,372,036,854,775,807"},
		{"min int64", -1 << 63, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Count(tt.n); got != tt.want {
				t.Errorf("Count(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestFormatETA(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"zero", 0, "0s"},
		{"seconds", 3 * time.Second, "3s"},
		{"rounds up", 2*time.Second + time.Millisecond, "3s"},
		{"just under a minute rounds to a minute", 59*time.Second + time.Millisecond, "1m00s"},
		{"minutes", 65 * time.Second, "1m05s"},
		{"hours", time.Hour + 2*time.Minute + 30*time.Second, "1h02m"},
		{"many hours", 100 * time.Hour, "100h00m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatETA(tt.d); got != tt.want {
				t.Errorf("formatETA(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestFormatRate(t *testing.T) {
	tests := []struct {
		name string
		bps  float64
		want string
	}{
		{"zero", 0, "0.0 MB/s"},
		{"decimal megabytes", 95.1e6, "95.1 MB/s"},
		{"rounds", 99614720, "99.6 MB/s"},
		{"large", 2.5e9, "2500.0 MB/s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatRate(tt.bps); got != tt.want {
				t.Errorf("formatRate(%v) = %q, want %q", tt.bps, got, tt.want)
			}
		})
	}
}

// The example state: 45,000 of 100,000 files and 380 of 832 MiB after 4s,
// so 99.6 MB/s and 4.76s to go.
func exampleBar(opts Options) (*Bar, time.Time) {
	opts.Label = "hashing data/images"
	b, _, _ := newTestBar(opts)
	b.SetTotal(100000, 832*mib)
	b.Add(45000, 380*mib)
	return b, at(4 * time.Second)
}

func TestTerminalLineFitsWidth(t *testing.T) {
	const (
		full   = "hashing data/images  45% [=========>          ] 45,000/100,000 files  380 MiB/832 MiB  99.6 MB/s  ETA 5s"
		noBar  = "hashing data/images  45% 45,000/100,000 files  380 MiB/832 MiB  99.6 MB/s  ETA 5s"
		noETA  = "hashing data/images  45% 45,000/100,000 files  380 MiB/832 MiB  99.6 MB/s"
		short  = "hashing data/im...  45% 45,000/100,000 files  380 MiB/832 MiB  99.6 MB/s"
		cutOff = "hashing data/images"
	)
	tests := []struct {
		name  string
		width int
		want  string
	}{
		{"wide shows everything", 200, full},
		{"exactly wide enough", len(full) + 1, full},
		{"one short drops the bar", len(full), noBar},
		{"bar dropped, ETA fits", len(noBar) + 1, noBar},
		{"default width drops bar and ETA", 0, noETA},
		{"80 columns", 80, noETA},
		{"just fits without ETA", len(noETA) + 1, noETA},
		{"shortens the label", len(noETA), short},
		{"tiny width cuts the line", 20, cutOff},
		{"one column", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, now := exampleBar(Options{Mode: Terminal, Width: tt.width})
			got := b.line(now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("line at width %d (-want +got):\n%s", tt.width, diff)
			}
			width := tt.width
			if width == 0 {
				width = 80
			}
			if n := utf8.RuneCountInString(got); n > width-1 && width > 0 {
				t.Errorf("line is %d columns, terminal is %d: must leave the last column free", n, width)
			}
		})
	}
}

func TestLogLine(t *testing.T) {
	b, now := exampleBar(Options{Mode: Log})
	want := "hashing data/images: 45% 45,000/100,000 files, 380 MiB/832 MiB, 99.6 MB/s, ETA 5s"
	if diff := cmp.Diff(want, b.line(now)); diff != "" {
		t.Errorf("log line (-want +got):\n%s", diff)
	}
}

func TestUnknownTotals(t *testing.T) {
	tests := []struct {
		name              string
		mode              Mode
		totalFiles, total int64
		want              string
	}{
		{"terminal, no totals", Terminal, 0, 0,
			"hash  1,234 files  5.0 MiB  2.6 MB/s"},
		{"log, no totals", Log, 0, 0,
			"hash: 1,234 files, 5.0 MiB, 2.6 MB/s"},
		{"terminal, only files total: percent and ETA by files", Terminal, 2000, 0,
			"hash  61% [============>       ] 1,234/2,000 files  5.0 MiB  2.6 MB/s  ETA 2s"},
		{"log, only files total", Log, 2000, 0,
			"hash: 61% 1,234/2,000 files, 5.0 MiB, 2.6 MB/s, ETA 2s"},
		{"terminal, only bytes total", Terminal, 0, 10 * mib,
			"hash  50% [==========>         ] 1,234 files  5.0 MiB/10 MiB  2.6 MB/s  ETA 2s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, _ := newTestBar(Options{Mode: tt.mode, Label: "hash"})
			b.SetTotal(tt.totalFiles, tt.total)
			b.Add(1234, 5*mib)
			if diff := cmp.Diff(tt.want, b.line(at(2*time.Second))); diff != "" {
				t.Errorf("line (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTotalsOvershot(t *testing.T) {
	// Files can grow during the walk; the bar must not pass 100% or show a
	// negative ETA.
	b, _, _ := newTestBar(Options{Mode: Terminal, Label: "hash", Width: 200})
	b.SetTotal(10, 10*mib)
	b.Add(12, 12*mib)
	want := "hash 100% [====================] 12/10 files  12 MiB/10 MiB  6.3 MB/s  ETA 0s"
	if diff := cmp.Diff(want, b.line(at(2*time.Second))); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
}

func TestTerminal(t *testing.T) {
	// State for every case: 4 of 10 files and 4 of 10 MiB done; only the
	// clock moves, so the rate and ETA give away when each line was drawn.
	draw := func(l string) string { return "\r" + l + "\x1b[K" }
	const (
		at1s   = "hash  40% [========>           ] 4/10 files  4.0 MiB/10 MiB  4.2 MB/s  ETA 2s"
		at1100 = "hash  40% [========>           ] 4/10 files  4.0 MiB/10 MiB  3.8 MB/s  ETA 2s"
		at2s   = "hash  40% [========>           ] 4/10 files  4.0 MiB/10 MiB  2.1 MB/s  ETA 3s"
		at3s   = "hash  40% [========>           ] 4/10 files  4.0 MiB/10 MiB  1.4 MB/s  ETA 5s"
		clear  = "\r\x1b[K"
	)
	ms := time.Millisecond
	tests := []struct {
		name  string
		opts  Options
		ticks []time.Duration // tick times after the start
		stop  time.Duration   // if non-zero, Stop at this time
		after []time.Duration // ticks after Stop
		want  string
	}{
		{
			name:  "nothing before delay",
			ticks: []time.Duration{100 * ms, 500 * ms, 999 * ms},
			want:  "",
		},
		{
			name:  "stop before delay prints nothing",
			ticks: []time.Duration{100 * ms, 900 * ms},
			stop:  950 * ms,
			want:  "",
		},
		{
			name:  "draws once delay has passed",
			ticks: []time.Duration{900 * ms, 1000 * ms},
			want:  draw(at1s),
		},
		{
			name:  "redraws about every interval",
			ticks: []time.Duration{1000 * ms, 1010 * ms, 1100 * ms},
			want:  draw(at1s) + draw(at1100),
		},
		{
			name:  "custom delay",
			opts:  Options{Delay: 3 * time.Second},
			ticks: []time.Duration{1000 * ms, 2000 * ms, 3000 * ms},
			want:  draw(at3s),
		},
		{
			name:  "stop clears the line",
			ticks: []time.Duration{1000 * ms},
			stop:  2000 * ms,
			want:  draw(at1s) + clear,
		},
		{
			name:  "keep leaves the final line",
			opts:  Options{Keep: true},
			ticks: []time.Duration{1000 * ms},
			stop:  2000 * ms,
			want:  draw(at1s) + draw(at2s) + "\n",
		},
		{
			name:  "keep before delay prints nothing",
			opts:  Options{Keep: true},
			ticks: []time.Duration{500 * ms},
			stop:  600 * ms,
			want:  "",
		},
		{
			name:  "no drawing after stop",
			ticks: []time.Duration{1000 * ms},
			stop:  1050 * ms,
			after: []time.Duration{2000 * ms, 3000 * ms},
			want:  draw(at1s) + clear,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Mode = Terminal
			opts.Label = "hash"
			b, clk, buf := newTestBar(opts)
			b.SetTotal(10, 10*mib)
			b.Add(4, 4*mib)
			for _, d := range tt.ticks {
				b.tick(at(d))
			}
			if tt.stop != 0 {
				clk.t = at(tt.stop)
				b.Stop()
			}
			for _, d := range tt.after {
				b.tick(at(d))
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLog(t *testing.T) {
	tests := []struct {
		name        string
		logInterval time.Duration
		until       time.Duration // tick every 100ms up to and including this
		want        []string
	}{
		{
			name:  "nothing in the first 10s",
			until: 9900 * time.Millisecond,
			want:  nil,
		},
		{
			name:  "35s gives one line per 10s",
			until: 35 * time.Second,
			want: []string{
				"hash: 28% 100/350 files, 95 MiB/334 MiB, 10.0 MB/s, ETA 25s",
				"hash: 57% 200/350 files, 191 MiB/334 MiB, 10.0 MB/s, ETA 15s",
				"hash: 85% 300/350 files, 286 MiB/334 MiB, 10.0 MB/s, ETA 5s",
			},
		},
		{
			name:        "custom interval",
			logInterval: 15 * time.Second,
			until:       35 * time.Second,
			want: []string{
				"hash: 42% 150/350 files, 143 MiB/334 MiB, 10.0 MB/s, ETA 20s",
				"hash: 85% 300/350 files, 286 MiB/334 MiB, 10.0 MB/s, ETA 5s",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk, buf := newTestBar(Options{Mode: Log, Label: "hash", LogInterval: tt.logInterval})
			b.SetTotal(350, 350e6)
			// One file of 1 MB finishes every 100ms: 10 MB/s.
			for d := 100 * time.Millisecond; d <= tt.until; d += 100 * time.Millisecond {
				b.Add(1, 1e6)
				b.tick(at(d))
			}
			clk.t = at(tt.until)
			b.Stop()

			out := buf.String()
			if strings.ContainsAny(out, "\r\x1b") {
				t.Errorf("log output has a carriage return or escape code: %q", out)
			}
			if out != "" && !strings.HasSuffix(out, "\n") {
				t.Errorf("log output does not end in a newline: %q", out)
			}
			var got []string
			if out != "" {
				got = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("log lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOffPrintsNothing(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"off", Options{Mode: Off, Keep: true}},
		{"unknown mode", Options{Mode: Mode(42)}},
		{"terminal without writer", Options{Mode: Terminal, Keep: true}},
		{"log without writer", Options{Mode: Log}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			clk := &fakeClock{t: at(0)}
			opts := tt.opts
			// Without a writer there is nothing to inspect; those cases
			// check that the Bar falls back to Off instead of panicking.
			if opts.Mode == Off || opts.Mode == Mode(42) {
				opts.Out = &buf
			}
			opts.Now = clk.Now
			b := New(opts)
			b.SetTotal(100, 100*mib)
			b.Start() // a no-op: nothing can tick concurrently with the fake clock
			for d := time.Duration(0); d <= time.Minute; d += 100 * time.Millisecond {
				b.Add(1, mib)
				b.tick(at(d))
			}
			clk.t = at(time.Minute)
			b.Stop()
			if buf.Len() != 0 {
				t.Errorf("wrote %q, want nothing", buf.String())
			}
		})
	}
}

// TestConcurrentAdd runs the real ticker against many adders so -race can
// see the ticker's reads and the adders' writes together.
func TestConcurrentAdd(t *testing.T) {
	const goroutines, perG = 8, 10000
	tests := []struct {
		name string
		opts Options
	}{
		{"terminal", Options{Mode: Terminal, Delay: time.Nanosecond, Interval: time.Millisecond}},
		{"log", Options{Mode: Log, Interval: time.Millisecond, LogInterval: time.Millisecond}},
		{"off", Options{Mode: Off}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			opts := tt.opts
			opts.Out = &buf
			opts.Label = "hash"
			b := New(opts)
			b.Start()
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					for range perG {
						b.Add(1, 3)
					}
				})
			}
			b.SetTotal(goroutines*perG, 3*goroutines*perG)
			wg.Wait()
			b.Stop()

			st := b.snapshot(time.Now())
			if st.files != goroutines*perG || st.bytes != 3*goroutines*perG {
				t.Errorf("sums = %d files, %d bytes; want %d, %d", st.files, st.bytes, goroutines*perG, 3*goroutines*perG)
			}
			// How much was drawn depends on the scheduler; only how the
			// output ends does not.
			if out := buf.String(); tt.opts.Mode == Terminal && out != "" && !strings.HasSuffix(out, "\r\x1b[K") {
				t.Errorf("terminal output does not end by clearing the line: %q", out[max(0, len(out)-100):])
			}
		})
	}
}

func TestAddDoesNotAllocate(t *testing.T) {
	b := New(Options{Mode: Terminal, Out: &bytes.Buffer{}})
	if n := testing.AllocsPerRun(1000, func() { b.Add(1, 4096) }); n != 0 {
		t.Errorf("Add allocates %v times per call, want 0", n)
	}
}

func TestStartStopSafety(t *testing.T) {
	tests := []struct {
		name string
		run  func(b *Bar)
	}{
		{"stop without start", func(b *Bar) { b.Stop() }},
		{"stop twice", func(b *Bar) { b.Start(); b.Stop(); b.Stop() }},
		{"stop twice without start", func(b *Bar) { b.Stop(); b.Stop() }},
		{"start twice", func(b *Bar) { b.Start(); b.Start(); b.Stop() }},
		{"start after stop", func(b *Bar) { b.Stop(); b.Start(); b.Stop() }},
		{"concurrent stops", func(b *Bar) {
			b.Start()
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(b.Stop)
			}
			wg.Wait()
		}},
	}
	modes := []struct {
		name string
		mode Mode
	}{{"off", Off}, {"terminal", Terminal}, {"log", Log}}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				var buf bytes.Buffer
				// A long delay keeps the real ticker from drawing, so the
				// output is known: nothing.
				b := New(Options{Mode: m.mode, Out: &buf, Delay: time.Hour, LogInterval: time.Hour})
				tt.run(b)
				if buf.Len() != 0 {
					t.Errorf("wrote %q, want nothing", buf.String())
				}
			})
		}
	}
}
