package plots

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
)

// ReadFunc returns a file of one revision; an error wrapping
// fs.ErrNotExist means the revision has no such file.
type ReadFunc func(path string) ([]byte, error)

// DefaultMaxPoints bounds a series when Options leaves it zero: enough for
// a curve's shape at report width, small enough for a comment.
const DefaultMaxPoints = 1000

// Options tune Build.
type Options struct {
	// MaxPoints is the most points a line, scatter or curve series keeps;
	// 0 means DefaultMaxPoints.
	MaxPoints int
}

// Build reads each definition's files at head and, when base is not nil,
// at base, and returns a figure per plot (a confusion definition with
// several y files gives one figure per file). Image definitions are
// skipped. A file missing at base leaves its series head only, with a
// note; one missing at head is an error.
func Build(defs []Definition, head, base ReadFunc, opts Options) ([]Figure, error) {
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = DefaultMaxPoints
	}
	// Parsing dominates a large plot, so definitions are built side by
	// side, as many at once as there are CPUs to parse on, which also
	// bounds the raw files held at once. Reads stay one at a time: the
	// ReadFuncs need not be safe for concurrent use, and reading is cheap.
	head, base = serialized(head), serialized(base)
	type result struct {
		figs []Figure
		err  error
	}
	results := make([]result, len(defs))
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, d := range defs {
		if d.Image {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			results[i].figs, results[i].err = build(d, head, base, opts)
		})
	}
	wg.Wait()
	// Figures and the first error follow the definitions' order, so the
	// output does not depend on which build finished first.
	var figs []Figure
	for i, r := range results {
		if r.err != nil {
			return nil, fmt.Errorf("plot %q: %w", defs[i].ID, r.err)
		}
		figs = append(figs, r.figs...)
	}
	return figs, nil
}

// serialized wraps read so that concurrent calls run one at a time.
func serialized(read ReadFunc) ReadFunc {
	if read == nil {
		return nil
	}
	var mu sync.Mutex
	return func(path string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return read(path)
	}
}

// pair is the x and y columns of one series at one revision.
type pair struct{ x, y *column }

// sideData is one revision's columns for every series of a definition;
// missing[i] is set where a file of series i is absent.
type sideData struct {
	pairs   []pair
	missing []string
}

func build(d Definition, head, base ReadFunc, opts Options) ([]Figure, error) {
	h, err := load(d, head)
	if err != nil {
		return nil, err
	}
	for i, m := range h.missing {
		if m != "" {
			return nil, fmt.Errorf("head has no %s (for y %q)", m, d.Y[i].Field)
		}
	}
	// A bare path's y is the file's last field: name it as read.
	d.Y = slices.Clone(d.Y)
	for i := range d.Y {
		d.Y[i].Field = h.pairs[i].y.field
	}
	var b *sideData
	if base != nil {
		if b, err = load(d, base); err != nil {
			return nil, fmt.Errorf("base: %w", err)
		}
	}
	if d.Kind == Confusion {
		return confusionFigures(d, h, b)
	}
	f := Figure{ID: d.ID, Kind: d.Kind, Title: d.Title, XLabel: d.XLabel, YLabel: d.YLabel}
	if f.Title == "" {
		f.Title = d.ID
	}
	// DVC users draw ROC and PR with linear or simple over precomputed
	// fpr/tpr or recall/precision; show them as curves with their area.
	if d.Kind == Line {
		switch {
		case allFields(d.X, "fpr") && allFields(d.Y, "tpr"):
			f.Kind = ROC
		case allFields(d.X, "recall") && allFields(d.Y, "precision"):
			f.Kind = PR
		}
	}
	// Computed curves read label and score, which name neither axis.
	switch {
	case d.Kind == ROC:
		f.XLabel, f.YLabel = or(f.XLabel, "false positive rate"), or(f.YLabel, "true positive rate")
	case d.Kind == PR:
		f.XLabel, f.YLabel = or(f.XLabel, "recall"), or(f.YLabel, "precision")
	}
	f.XLabel, f.YLabel = defaultLabels(d, f.XLabel, f.YLabel)
	sides := []struct {
		side Side
		data *sideData
	}{{Base, b}, {Head, h}}
	for _, s := range sides {
		if s.data == nil {
			continue
		}
		for i, p := range s.data.pairs {
			if s.data.missing[i] != "" {
				f.Notes = append(f.Notes, fmt.Sprintf("base has no %s: %s shown for head only", s.data.missing[i], seriesName(d, i)))
				continue
			}
			ser, note, err := series(d, f.Kind, i, p, opts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.side, err)
			}
			ser.Side = s.side
			if note != "" {
				f.Notes = append(f.Notes, string(s.side)+" "+note)
			}
			f.Series = append(f.Series, ser)
		}
	}
	return []Figure{f}, nil
}

// load reads the columns every series of d needs from one revision,
// each file once.
func load(d Definition, read ReadFunc) (*sideData, error) {
	sd := &sideData{pairs: make([]pair, len(d.Y)), missing: make([]string, len(d.Y))}
	xText, yText := false, false
	switch d.Kind {
	case Confusion:
		xText, yText = true, true
	case Bar:
		yText = true
	case ROC, PR:
		xText = true
	}
	byFile := map[string][]*column{}
	var order []string
	want := func(file, field string, text bool) *column {
		if _, ok := byFile[file]; !ok {
			order = append(order, file)
		}
		c := &column{field: field, text: text}
		byFile[file] = append(byFile[file], c)
		return c
	}
	for i := range d.Y {
		sd.pairs[i].y = want(d.Y[i].File, d.Y[i].Field, yText)
		if d.X[i].Field != "" {
			sd.pairs[i].x = want(d.X[i].File, d.X[i].Field, xText)
		}
	}
	absent := map[string]bool{}
	for _, file := range order {
		data, err := read(file)
		if errors.Is(err, fs.ErrNotExist) {
			absent[file] = true
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := readColumns(file, data, byFile[file]); err != nil {
			return nil, err
		}
	}
	for i := range d.Y {
		switch {
		case absent[d.Y[i].File]:
			sd.missing[i] = d.Y[i].File
		case d.X[i].Field != "" && absent[d.X[i].File]:
			sd.missing[i] = d.X[i].File
		}
	}
	return sd, nil
}

// series turns one pair of columns into a series of the figure's kind,
// downsampled to opts.MaxPoints; the note says when it was.
func series(d Definition, kind Kind, i int, p pair, opts Options) (Series, string, error) {
	s := Series{Name: seriesName(d, i)}
	if p.x != nil && p.x.len() != p.y.len() {
		return s, "", fmt.Errorf("x %s:%s has %d rows but y %s:%s has %d",
			d.X[i].File, p.x.field, p.x.len(), d.Y[i].File, p.y.field, p.y.len())
	}
	switch kind {
	case Bar:
		vals := p.x.nums
		cats := append([]string(nil), p.y.strs...)
		if d.Sorted {
			idx := make([]int, len(vals))
			for k := range idx {
				idx[k] = k
			}
			sort.SliceStable(idx, func(a, b int) bool { return vals[idx[a]] > vals[idx[b]] })
			sv, sc := make([]float64, len(idx)), make([]string, len(idx))
			for k, j := range idx {
				sv[k], sc[k] = vals[j], cats[j]
			}
			vals, cats = sv, sc
		}
		s.X, s.Y, s.Categories, s.Points = steps(len(vals)), vals, cats, len(vals)
		return s, "", nil
	case ROC, PR:
		if p.x.text {
			labels, err := binaryLabels(d.X[i].File, p.x.field, p.x.strs)
			if err != nil {
				return s, "", err
			}
			curve := ROCCurve
			if kind == PR {
				curve = PRCurve
			}
			c, err := curve(labels, p.y.nums)
			if err != nil {
				return s, "", fmt.Errorf("%s: %w", d.Y[i].File, err)
			}
			s.X, s.Y = c.X, c.Y
			s.Summary = summary(kind, c.Area)
			break
		}
		// Precomputed points, drawn by a DVC template.
		s.X, s.Y = p.x.nums, p.y.nums
		if kind == ROC {
			s.Summary = summary(kind, trapezoid(s.X, s.Y))
		} else {
			s.Summary = summary(kind, averagePrecision(s.X, s.Y))
		}
	default:
		s.Y = p.y.nums
		if p.x != nil {
			s.X = p.x.nums
		} else {
			s.X = steps(len(s.Y))
		}
	}
	s.Points = len(s.X)
	if s.Points <= opts.MaxPoints {
		return s, "", nil
	}
	if kind == Scatter {
		s.X, s.Y = stride(s.X, s.Y, opts.MaxPoints)
	} else {
		s.X, s.Y = LTTB(s.X, s.Y, opts.MaxPoints)
	}
	return s, fmt.Sprintf("%s: %d points downsampled to %d", s.Name, s.Points, len(s.X)), nil
}

func summary(kind Kind, area float64) string {
	if kind == ROC {
		return "AUC " + strconv.FormatFloat(area, 'f', 3, 64)
	}
	return "AP " + strconv.FormatFloat(area, 'f', 3, 64)
}

func confusionFigures(d Definition, h, b *sideData) ([]Figure, error) {
	var figs []Figure
	for i := range d.Y {
		f := Figure{ID: d.ID, Kind: Confusion, Title: d.Title, XLabel: d.XLabel, YLabel: d.YLabel}
		if len(d.Y) > 1 {
			// One matrix per y file: DVC draws them side by side.
			f.ID = d.ID + ": " + d.Y[i].File
		}
		if f.Title == "" {
			f.Title = f.ID
		}
		if f.XLabel == "" {
			f.XLabel = d.X[i].Field
		}
		if f.YLabel == "" {
			f.YLabel = d.Y[i].Field
		}
		hp := h.pairs[i]
		if hp.x.len() != hp.y.len() {
			return nil, fmt.Errorf("head: actual %s:%s has %d rows but predicted %s:%s has %d",
				d.X[i].File, hp.x.field, hp.x.len(), d.Y[i].File, hp.y.field, hp.y.len())
		}
		lists := [][]string{hp.x.strs, hp.y.strs}
		var bp *pair
		if b != nil {
			if b.missing[i] != "" {
				f.Notes = append(f.Notes, fmt.Sprintf("base has no %s: head only", b.missing[i]))
			} else {
				bp = &b.pairs[i]
				if bp.x.len() != bp.y.len() {
					return nil, fmt.Errorf("base: actual %s:%s has %d rows but predicted %s:%s has %d",
						d.X[i].File, bp.x.field, bp.x.len(), d.Y[i].File, bp.y.field, bp.y.len())
				}
				lists = append(lists, bp.x.strs, bp.y.strs)
			}
		}
		// Both matrices share one label order so cells line up.
		m := &Matrix{Labels: ConfusionLabels(lists...), Normalized: d.Normalized}
		var err error
		if m.Head, err = ConfusionCounts(m.Labels, hp.x.strs, hp.y.strs); err != nil {
			return nil, err
		}
		if bp != nil {
			if m.Base, err = ConfusionCounts(m.Labels, bp.x.strs, bp.y.strs); err != nil {
				return nil, err
			}
		}
		f.Matrix = m
		figs = append(figs, f)
	}
	return figs, nil
}

// defaultLabels follows DVC: an axis takes its field's name when every
// series uses the same one, else "x" or "y"; no x field is DVC's step.
func defaultLabels(d Definition, x, y string) (string, string) {
	xf, xSame := common(d.X)
	yf, ySame := common(d.Y)
	if d.Kind == Bar {
		// Bars run along the categories (DVC's y) and rise to the values
		// (DVC's x).
		xf, xSame, yf, ySame = yf, ySame, xf, xSame
	}
	if x == "" {
		switch {
		case !xSame:
			x = "x"
		case xf == "":
			x = "step"
		default:
			x = xf
		}
	}
	if y == "" {
		y = "y"
		if ySame && yf != "" {
			y = yf
		}
	}
	return x, y
}

func common(refs []Ref) (string, bool) {
	for _, r := range refs[1:] {
		if r.Field != refs[0].Field {
			return "", false
		}
	}
	return refs[0].Field, true
}

func allFields(refs []Ref, field string) bool {
	f, same := common(refs)
	return same && f == field
}

// seriesName tells the series of one definition apart with as little as
// does it: the field, the file, or both.
func seriesName(d Definition, i int) string {
	files, fields := map[string]bool{}, map[string]bool{}
	for _, r := range d.Y {
		files[r.File] = true
		fields[r.Field] = true
	}
	switch {
	case len(files) == 1 && d.Y[i].Field != "":
		return d.Y[i].Field
	case len(files) == 1:
		return d.Y[i].File
	case len(fields) == 1:
		return d.Y[i].File
	default:
		return d.Y[i].File + ": " + d.Y[i].Field
	}
}

func steps(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i)
	}
	return s
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
