package plots

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Curve is a ROC or precision–recall curve with its area.
type Curve struct {
	X, Y []float64
	// Area is the AUC for ROC, the average precision for PR.
	Area float64
}

// thresholdCounts sorts examples by score, highest first, and returns the
// false and true positives counted at each distinct score, as
// scikit-learn's _binary_clf_curve does: tied scores form one threshold.
func thresholdCounts(labels []bool, scores []float64) (fps, tps []float64, err error) {
	if len(labels) != len(scores) {
		return nil, nil, fmt.Errorf("%d labels but %d scores", len(labels), len(scores))
	}
	if len(labels) == 0 {
		return nil, nil, fmt.Errorf("no examples")
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var tp, fp float64
	for k, i := range idx {
		if labels[i] {
			tp++
		} else {
			fp++
		}
		if k == len(idx)-1 || scores[idx[k+1]] != scores[i] {
			tps = append(tps, tp)
			fps = append(fps, fp)
		}
	}
	return fps, tps, nil
}

// ROCCurve is scikit-learn's roc_curve with drop_intermediate=False (a
// point per distinct score, after (0, 0)) and its trapezoidal AUC.
func ROCCurve(labels []bool, scores []float64) (Curve, error) {
	fps, tps, err := thresholdCounts(labels, scores)
	if err != nil {
		return Curve{}, err
	}
	p, n := tps[len(tps)-1], fps[len(fps)-1]
	if p == 0 || n == 0 {
		return Curve{}, fmt.Errorf("ROC needs both classes; the labels have %g positive and %g negative", p, n)
	}
	c := Curve{X: []float64{0}, Y: []float64{0}}
	for i := range tps {
		c.X = append(c.X, fps[i]/n)
		c.Y = append(c.Y, tps[i]/p)
	}
	c.Area = trapezoid(c.X, c.Y)
	return c, nil
}

// PRCurve is scikit-learn's precision_recall_curve (recall falling, ending
// at recall 0 and precision 1) and average_precision_score over it:
// the sum of (R_n - R_{n-1}) P_n.
func PRCurve(labels []bool, scores []float64) (Curve, error) {
	fps, tps, err := thresholdCounts(labels, scores)
	if err != nil {
		return Curve{}, err
	}
	p := tps[len(tps)-1]
	if p == 0 {
		return Curve{}, fmt.Errorf("precision-recall needs positive examples; the labels have none")
	}
	var c Curve
	for i := len(tps) - 1; i >= 0; i-- {
		prec := 0.0
		if tps[i]+fps[i] > 0 {
			prec = tps[i] / (tps[i] + fps[i])
		}
		c.X = append(c.X, tps[i]/p)
		c.Y = append(c.Y, prec)
	}
	c.X = append(c.X, 0)
	c.Y = append(c.Y, 1)
	c.Area = averagePrecision(c.X, c.Y)
	return c, nil
}

// averagePrecision sums (R_n - R_{n-1}) P_n over points in any order.
// Points that share a recall come from thresholds that add only false
// positives; scikit-learn weighs the step to that recall by the first of
// them, the one with the highest precision, and so does this.
func averagePrecision(recall, precision []float64) float64 {
	idx := make([]int, len(recall))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return recall[idx[a]] < recall[idx[b]] })
	ap, prev := 0.0, 0.0
	for k := 0; k < len(idx); {
		r, best := recall[idx[k]], precision[idx[k]]
		for k++; k < len(idx) && recall[idx[k]] == r; k++ {
			best = max(best, precision[idx[k]])
		}
		ap += (r - prev) * best
		prev = r
	}
	return ap
}

// trapezoid is the area under y(x) for x sorted either way, as numpy's
// trapz gives for a monotone curve.
func trapezoid(x, y []float64) float64 {
	a := 0.0
	for i := 1; i < len(x); i++ {
		a += (x[i] - x[i-1]) * (y[i] + y[i-1]) / 2
	}
	if a < 0 {
		return -a
	}
	return a
}

// binaryLabels reads the labels a ROC or PR curve needs: 1/0, -1 for
// negative, or true/false.
func binaryLabels(file, field string, vals []string) ([]bool, error) {
	out := make([]bool, len(vals))
	for i, v := range vals {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "1.0", "true":
			out[i] = true
		case "0", "0.0", "-1", "-1.0", "false":
		default:
			return nil, fmt.Errorf("%s: row %d, field %q: label %q is not binary (want 1/0, 1/-1 or true/false)", file, i+1, field, v)
		}
	}
	return out, nil
}

// ConfusionLabels is the sorted union of the classes seen, numeric order
// when every class is a number, so 2 comes before 10.
func ConfusionLabels(lists ...[]string) []string {
	set := map[string]bool{}
	for _, l := range lists {
		for _, v := range l {
			set[v] = true
		}
	}
	labels := make([]string, 0, len(set))
	for v := range set {
		labels = append(labels, v)
	}
	numeric := true
	nums := map[string]float64{}
	for _, v := range labels {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			numeric = false
			break
		}
		nums[v] = f
	}
	slices.SortFunc(labels, func(a, b string) int {
		if numeric && nums[a] != nums[b] {
			if nums[a] < nums[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return labels
}

// ConfusionCounts counts examples by (actual, predicted) over labels,
// which must hold every class present.
func ConfusionCounts(labels, actual, predicted []string) ([][]int, error) {
	if len(actual) != len(predicted) {
		return nil, fmt.Errorf("%d actual values but %d predicted", len(actual), len(predicted))
	}
	pos := make(map[string]int, len(labels))
	for i, l := range labels {
		pos[l] = i
	}
	m := make([][]int, len(labels))
	for i := range m {
		m[i] = make([]int, len(labels))
	}
	for k := range actual {
		i, ok1 := pos[actual[k]]
		j, ok2 := pos[predicted[k]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("row %d: class not among the labels", k+1)
		}
		m[i][j]++
	}
	return m, nil
}

// NormalizeRows divides each row by its total, so a cell is the share of
// an actual class predicted as each class (DVC's confusion_normalized); a
// class with no examples stays all zero.
func NormalizeRows(counts [][]int) [][]float64 {
	out := make([][]float64, len(counts))
	for i, row := range counts {
		out[i] = make([]float64, len(row))
		total := 0
		for _, c := range row {
			total += c
		}
		if total == 0 {
			continue
		}
		for j, c := range row {
			out[i][j] = float64(c) / float64(total)
		}
	}
	return out
}
