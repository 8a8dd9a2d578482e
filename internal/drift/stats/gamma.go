package stats

import "math"

// gammaQ is the regularized upper incomplete gamma function
// Q(a, x) = Γ(a, x)/Γ(a), the chi-squared survival function at 2x with 2a
// degrees of freedom. It uses the power series of P = 1 - Q below x = a+1
// and the Lentz-evaluated continued fraction of Q above, as in Numerical
// Recipes (3rd ed., §6.2) and Cephes' igamc; both converge to a relative
// 1e-15 term, so Q is good to about 1e-14 absolute, and relative where the
// continued fraction is used.
func gammaQ(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x) || a <= 0 || x < 0:
		return math.NaN()
	case x == 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	}
	if x < a+1 {
		return 1 - gammaPSeries(a, x)
	}
	return gammaQFraction(a, x)
}

const gammaEps = 1e-16

// gammaPrefix is x^a e^-x / Γ(a), formed in logs.
func gammaPrefix(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	return math.Exp(a*math.Log(x) - x - lg)
}

// gammaPSeries is P(a, x) = x^a e^-x / Γ(a+1) · Σ x^k / ((a+1)…(a+k)).
func gammaPSeries(a, x float64) float64 {
	term := 1 / a
	sum := term
	for k := 1; k < 10000; k++ {
		term *= x / (a + float64(k))
		sum += term
		if math.Abs(term) < math.Abs(sum)*gammaEps {
			break
		}
	}
	return sum * gammaPrefix(a, x)
}

// gammaQFraction is Q(a, x) from the continued fraction
// Γ(a,x) = e^-x x^a (1/(x+1-a-) 1·(1-a)/(x+3-a-) 2·(2-a)/(x+5-a-) …),
// evaluated with the modified Lentz method.
func gammaQFraction(a, x float64) float64 {
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	f := d
	for i := 1; i < 10000; i++ {
		fi := float64(i)
		an := -fi * (fi - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		f *= delta
		if math.Abs(delta-1) < gammaEps {
			break
		}
	}
	return f * gammaPrefix(a, x)
}
