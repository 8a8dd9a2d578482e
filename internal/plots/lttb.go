package plots

import "math"

// LTTB downsamples a curve to at most n points with
// largest-triangle-three-buckets (Steinarsson, 2013): the first and last
// points stay, and each bucket between keeps the point that spans the
// largest triangle with its neighbours, so peaks and dips survive where
// taking every k-th point would step over them. x must be sorted.
func LTTB(x, y []float64, n int) ([]float64, []float64) {
	if n >= len(x) || n < 3 {
		return x, y
	}
	ox := make([]float64, 0, n)
	oy := make([]float64, 0, n)
	ox, oy = append(ox, x[0]), append(oy, y[0])
	// The points between first and last are split into n-2 buckets.
	every := float64(len(x)-2) / float64(n-2)
	a := 0
	for b := 0; b < n-2; b++ {
		// The average of the next bucket is the third triangle corner.
		nextStart := int(math.Floor(float64(b+1)*every)) + 1
		nextEnd := min(int(math.Floor(float64(b+2)*every))+1, len(x))
		if b == n-3 {
			nextStart, nextEnd = len(x)-1, len(x)
		}
		var avgX, avgY float64
		for i := nextStart; i < nextEnd; i++ {
			avgX += x[i]
			avgY += y[i]
		}
		cnt := float64(nextEnd - nextStart)
		avgX, avgY = avgX/cnt, avgY/cnt

		start := int(math.Floor(float64(b)*every)) + 1
		end := int(math.Floor(float64(b+1)*every)) + 1
		best, bestArea := start, -1.0
		for i := start; i < end; i++ {
			area := math.Abs((x[a]-avgX)*(y[i]-y[a]) - (x[a]-x[i])*(avgY-y[a]))
			if area > bestArea {
				best, bestArea = i, area
			}
		}
		ox, oy = append(ox, x[best]), append(oy, y[best])
		a = best
	}
	ox, oy = append(ox, x[len(x)-1]), append(oy, y[len(y)-1])
	return ox, oy
}

// stride keeps n points evenly spaced by index, first and last included:
// for scatter plots, whose points have no order for LTTB to follow.
func stride(x, y []float64, n int) ([]float64, []float64) {
	if n >= len(x) || n < 2 {
		return x, y
	}
	ox := make([]float64, n)
	oy := make([]float64, n)
	for k := range n {
		i := k * (len(x) - 1) / (n - 1)
		ox[k], oy[k] = x[i], y[i]
	}
	return ox, oy
}
