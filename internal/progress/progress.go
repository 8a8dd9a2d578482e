// Package progress reports how far long work (such as hashing a dataset) has got:
// a line redrawn in place on a terminal, an occasional plain line in CI logs, or nothing.
package progress

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Mode selects how progress is shown.
type Mode int

const (
	// Off prints nothing: for -q/--quiet, or machine-readable output on a
	// non-terminal stderr where extra lines would only be noise.
	Off Mode = iota
	// Terminal redraws one line in place on an interactive terminal.
	Terminal
	// Log prints an occasional full line, for CI logs that cannot redraw.
	Log
)

// Defaults used when the corresponding Options field is zero.
const (
	defaultWidth       = 80
	defaultDelay       = time.Second
	defaultInterval    = 100 * time.Millisecond
	defaultLogInterval = 10 * time.Second
	barWidth           = 20
)

// Options configures a Bar. The zero value of every field except Out and
// Mode has a sensible default.
type Options struct {
	Mode  Mode
	Out   io.Writer // where lines go (stderr in the CLI); nil behaves like Off
	Label string    // e.g. "hashing data/images"
	Width int       // terminal width, 0 = 80

	// Delay keeps fast commands silent in Terminal mode: nothing is drawn
	// until the work has run this long. 0 = 1s.
	Delay time.Duration
	// Interval is the Terminal-mode redraw period. 0 = 100ms.
	Interval time.Duration
	// LogInterval is the shortest gap between Log-mode lines, and also the
	// wait before the first one. 0 = 10s.
	LogInterval time.Duration

	// Keep leaves the final line on screen at Stop (Terminal mode) instead
	// of clearing it. It only applies if the bar was ever drawn, so fast
	// commands stay silent either way.
	Keep bool

	// Now replaces time.Now so tests can drive a fake clock. nil = time.Now.
	Now func() time.Time
}

// DetectMode picks the mode for a CLI. CI wins over isTerminal because CI
// runners often attach a pseudo-terminal whose log cannot show redraws.
// A nil getenv reads nothing (every variable empty).
func DetectMode(quiet, isTerminal bool, getenv func(string) string) Mode {
	switch {
	case quiet:
		return Off
	case getenv != nil && getenv("CI") != "":
		return Log
	case isTerminal:
		return Terminal
	default:
		return Log
	}
}

// Bar reports progress of one piece of work. Add and SetTotal may be called
// from any goroutine; Start and Stop bracket the work.
type Bar struct {
	// files and bytes sit together because every Add touches both; keeping
	// them on one cache line costs one line transfer per Add, not two.
	files      atomic.Int64
	bytes      atomic.Int64
	totalFiles atomic.Int64
	totalBytes atomic.Int64

	opts Options // defaults filled in by New; read-only afterwards

	stopOnce sync.Once

	// mu guards the drawing state below. Only the ticker goroutine, Start
	// and Stop take it, never Add, so it is off the hot path.
	mu       sync.Mutex
	start    time.Time // when the work began; rate and delays count from here
	started  bool
	stopped  bool
	drawn    bool      // Terminal: a line is on screen and must be cleared
	lastDraw time.Time // Terminal: time of the last redraw
	lastLog  time.Time // Log: time of the last line (start before the first)
	stop     chan struct{}
	done     chan struct{}
}

// New returns a Bar configured by opts, with zero fields replaced by their
// defaults. The clock starts now and restarts at Start.
func New(opts Options) *Bar {
	if opts.Out == nil || (opts.Mode != Terminal && opts.Mode != Log) {
		opts.Mode = Off
	}
	if opts.Width <= 0 {
		opts.Width = defaultWidth
	}
	if opts.Delay <= 0 {
		opts.Delay = defaultDelay
	}
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	if opts.LogInterval <= 0 {
		opts.LogInterval = defaultLogInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Bar{opts: opts}
	b.start = b.now()
	b.lastLog = b.start
	return b
}

func (b *Bar) now() time.Time { return b.opts.Now() }

// SetTotal records the expected totals; zero means unknown. It may be called
// at any time, e.g. once a directory walk has counted the files.
func (b *Bar) SetTotal(files, bytes int64) {
	b.totalFiles.Store(files)
	b.totalBytes.Store(bytes)
}

// Add records finished work. It is called per file from many goroutines, so
// it is two atomic adds: no lock, no allocation.
func (b *Bar) Add(files, bytes int64) {
	b.files.Add(files)
	b.bytes.Add(bytes)
}

// Start restarts the clock and starts the background goroutine that draws.
// It is a no-op in Off mode, after Stop, or if already started.
func (b *Bar) Start() {
	if b.opts.Mode == Off {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.stopped {
		return
	}
	b.started = true
	b.start = b.now()
	b.lastLog = b.start
	b.stop = make(chan struct{})
	b.done = make(chan struct{})

	// Log mode also ticks at Interval rather than LogInterval: tick only
	// prints once LogInterval has fully passed, so a coarse ticker that fires
	// a hair early would skip a whole period; a fine one drifts by at most
	// one Interval per line.
	period := min(b.opts.Interval, b.opts.LogInterval)
	go b.run(period, b.stop, b.done)
}

func (b *Bar) run(period time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.tick(b.now())
		}
	}
}

// Stop stops and waits for the background goroutine, then in Terminal mode
// clears the line (or, with Keep, leaves the final line and ends it) so the
// command's own output starts on a clean line. Safe to call more than once,
// concurrently, or without Start.
func (b *Bar) Stop() {
	b.stopOnce.Do(func() {
		b.mu.Lock()
		b.stopped = true
		stop, done := b.stop, b.done
		b.mu.Unlock()
		if stop != nil {
			close(stop)
			<-done
		}

		b.mu.Lock()
		defer b.mu.Unlock()
		if b.opts.Mode != Terminal || !b.drawn {
			return
		}
		b.drawn = false
		if b.opts.Keep {
			b.write("\r" + b.line(b.now()) + "\x1b[K\n")
		} else {
			b.write("\r\x1b[K")
		}
	})
}

// tick is called by the ticker (and by tests with a fake clock) and decides
// whether to draw at time now.
func (b *Bar) tick(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	switch b.opts.Mode {
	case Terminal:
		if now.Sub(b.start) < b.opts.Delay {
			return
		}
		// Half an interval rather than a full one: ticker jitter would
		// otherwise make every other tick look early and halve the rate.
		if b.drawn && now.Sub(b.lastDraw) < b.opts.Interval/2 {
			return
		}
		b.drawn = true
		b.lastDraw = now
		b.write("\r" + b.line(now) + "\x1b[K")
	case Log:
		if now.Sub(b.lastLog) < b.opts.LogInterval {
			return
		}
		b.lastLog = now
		b.write(b.line(now) + "\n")
	}
}

// write sends s to Out. Errors are ignored: progress is advisory, and a
// broken stderr must not fail the work being reported on.
func (b *Bar) write(s string) {
	_, _ = io.WriteString(b.opts.Out, s)
}

// stats is a snapshot of the counters at one instant.
type stats struct {
	files, bytes           int64
	totalFiles, totalBytes int64
	elapsed                time.Duration
}

func (b *Bar) snapshot(now time.Time) stats {
	return stats{
		files:      b.files.Load(),
		bytes:      b.bytes.Load(),
		totalFiles: b.totalFiles.Load(),
		totalBytes: b.totalBytes.Load(),
		elapsed:    now.Sub(b.start),
	}
}

// line renders the progress line for time now in the Bar's mode, without
// the carriage return and erase codes that Terminal mode adds around it.
func (b *Bar) line(now time.Time) string {
	st := b.snapshot(now)
	if b.opts.Mode == Log {
		return logLine(b.opts.Label, st)
	}
	return fitLine(b.opts.Label, st, b.opts.Width)
}

// percent is progress in whole percent, by bytes when their total is known
// (bytes track hashing time better than file counts), else by files.
func (s stats) percent() (int, bool) {
	switch {
	case s.totalBytes > 0:
		return pct(s.bytes, s.totalBytes), true
	case s.totalFiles > 0:
		return pct(s.files, s.totalFiles), true
	}
	return 0, false
}

// pct rounds down so 100% appears only when the work is done, and clamps
// because totals may be estimates that the work overshoots.
func pct(done, total int64) int {
	if done <= 0 {
		return 0
	}
	// Integer arithmetic where it cannot overflow: float64 could turn
	// exactly 45% into 44.999... and round it down.
	p := int64(float64(done) / float64(total) * 100)
	if done <= math.MaxInt64/100 {
		p = done * 100 / total
	}
	return int(min(p, 100))
}

// rate is bytes per second since the start.
func (s stats) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.bytes) / s.elapsed.Seconds()
}

// eta estimates the time left from the byte rate when the byte total is
// known, else from the file rate. It reports false when there is no basis.
func (s stats) eta() (time.Duration, bool) {
	done, total := s.bytes, s.totalBytes
	if total <= 0 {
		done, total = s.files, s.totalFiles
	}
	if total <= 0 {
		return 0, false
	}
	if done >= total {
		return 0, true
	}
	if done <= 0 || s.elapsed <= 0 {
		return 0, false
	}
	perSec := float64(done) / s.elapsed.Seconds()
	secs := float64(total-done) / perSec
	// Cap so the conversion below cannot overflow; a century is "never".
	secs = min(secs, 100*365*24*3600)
	return time.Duration(secs * float64(time.Second)), true
}

func (s stats) counts() string {
	c := Count(s.files)
	if s.totalFiles > 0 {
		c += "/" + Count(s.totalFiles)
	}
	return c + " files"
}

func (s stats) sizes() string {
	c := Bytes(s.bytes)
	if s.totalBytes > 0 {
		c += "/" + Bytes(s.totalBytes)
	}
	return c
}

func formatRate(bytesPerSec float64) string {
	return strconv.FormatFloat(bytesPerSec/1e6, 'f', 1, 64) + " MB/s"
}

// logLine is the Log-mode line: plain text a CI log shows as is.
func logLine(label string, s stats) string {
	var sb strings.Builder
	if label != "" {
		sb.WriteString(label)
		sb.WriteString(": ")
	}
	if p, ok := s.percent(); ok {
		fmt.Fprintf(&sb, "%d%% ", p)
	}
	sb.WriteString(s.counts())
	sb.WriteString(", ")
	sb.WriteString(s.sizes())
	sb.WriteString(", ")
	sb.WriteString(formatRate(s.rate()))
	if d, ok := s.eta(); ok {
		sb.WriteString(", ETA ")
		sb.WriteString(formatETA(d))
	}
	return sb.String()
}

// termLine is the Terminal-mode line with the optional parts chosen.
// The percent is padded to three digits so the bar does not jump sideways
// as it goes from 9% to 10% to 100%.
func termLine(label string, s stats, showBar, showETA bool) string {
	var sb strings.Builder
	sb.WriteString(label)
	if p, ok := s.percent(); ok {
		if label != "" {
			sb.WriteString(" ")
		}
		fmt.Fprintf(&sb, "%3d%%", p)
		if showBar {
			sb.WriteString(" [")
			sb.WriteString(bar(p))
			sb.WriteString("]")
		}
		sb.WriteString(" ")
	} else if label != "" {
		sb.WriteString("  ")
	}
	sb.WriteString(s.counts())
	sb.WriteString("  ")
	sb.WriteString(s.sizes())
	sb.WriteString("  ")
	sb.WriteString(formatRate(s.rate()))
	if showETA {
		if d, ok := s.eta(); ok {
			sb.WriteString("  ETA ")
			sb.WriteString(formatETA(d))
		}
	}
	return sb.String()
}

// fitLine returns the Terminal line for a terminal width columns wide,
// counting a rune as a column (labels are mostly ASCII paths). It
// uses at most width-1 columns: writing the last column makes some
// terminals wrap at once, and every redraw would then start a new line.
// It drops the bar first (the percent still says the same), then the ETA,
// then shortens the label, and as a last resort cuts the line.
func fitLine(label string, s stats, width int) string {
	limit := max(width-1, 0)
	for _, opt := range [...]struct{ bar, eta bool }{{true, true}, {false, true}, {false, false}} {
		if l := termLine(label, s, opt.bar, opt.eta); utf8.RuneCountInString(l) <= limit {
			return l
		}
	}
	// Measure what the label must share the line with: the rest of the line,
	// and the separator, found as what a one-column label adds beyond itself.
	rest := utf8.RuneCountInString(termLine("", s, false, false))
	sep := utf8.RuneCountInString(termLine("x", s, false, false)) - rest - 1
	const ellipsis = "..."
	if room := limit - rest - sep; label != "" && room > len(ellipsis) {
		short := truncate(label, room-len(ellipsis)) + ellipsis
		if l := termLine(short, s, false, false); utf8.RuneCountInString(l) <= limit {
			return l
		}
	}
	return truncate(termLine(label, s, false, false), limit)
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// bar draws the bar's inside, barWidth columns: "=========>          ".
func bar(p int) string {
	filled := p * barWidth / 100
	if filled >= barWidth {
		return strings.Repeat("=", barWidth)
	}
	return strings.Repeat("=", filled) + ">" + strings.Repeat(" ", barWidth-filled-1)
}

// formatETA writes d as "3s", "1m05s" or "1h02m". It rounds up so the ETA
// shows 0s only when the work is done.
func formatETA(d time.Duration) string {
	secs := int64(math.Ceil(d.Seconds()))
	switch {
	case secs < 60:
		return fmt.Sprintf("%ds", secs)
	case secs < 3600:
		return fmt.Sprintf("%dm%02ds", secs/60, secs%60)
	default:
		return fmt.Sprintf("%dh%02dm", secs/3600, secs%3600/60)
	}
}

// Bytes formats n in IEC units for people: "0 B", "512 B", "1.5 KiB",
// "380 MiB", "2.0 GiB". One decimal below 10 of a unit, where it matters,
// none above, where it would be noise.
func Bytes(n int64) string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign = "-"
		// Two's-complement negation in uint64 is exact even for MinInt64.
		u = -u
	}
	if u < 1024 {
		return sign + strconv.FormatUint(u, 10) + " B"
	}
	units := [...]string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(u) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	// 9.95 and up would print as "10.0"; show it as "10" like other values
	// of ten and above.
	if v < 9.95 {
		return sign + strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
	}
	r := math.Round(v)
	// 1023.6 KiB would print as "1024 KiB"; promote it to "1.0 MiB".
	if r >= 1024 && i < len(units)-1 {
		return sign + "1.0 " + units[i+1]
	}
	return sign + strconv.FormatFloat(r, 'f', 0, 64) + " " + units[i]
}

// Count formats n with thousands separators: "100,000".
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var sb strings.Builder
	sb.Grow(len(sign) + len(s) + len(s)/3)
	sb.WriteString(sign)
	head := len(s) % 3
	if head == 0 {
		head = 3
	}
	sb.WriteString(s[:head])
	for i := head; i < len(s); i += 3 {
		sb.WriteByte(',')
		sb.WriteString(s[i : i+3])
	}
	return sb.String()
}
