#!/usr/bin/python3
"""Writes scipy_cases.json, the reference values for package stats' tests.

Run with Debian's interpreter and its python3-scipy (SciPy 1.10):

    /usr/bin/python3 gen.py

Random inputs come from a seeded numpy generator and are stored as they are.
Large samples are not stored: they are described by a generator spec that
stats_scipy_test.go expands the same way (see expand below), so the JSON
stays small.
"""

import json
import math
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

MASK64 = (1 << 64) - 1


def lcg_uniform(seed, n):
    """Uniform (0,1) values from a 64-bit LCG (Knuth's MMIX constants)."""
    state = seed & MASK64
    out = []
    for _ in range(n):
        state = (6364136223846793005 * state + 1442695040888963407) & MASK64
        out.append(((state >> 11) + 0.5) / 9007199254740992.0)
    return out


def expand(spec):
    """The sample a spec describes; the Go test implements the same."""
    if "values" in spec:
        return [float(v) for v in spec["values"]]
    lo, hi, n = spec["lo"], spec["hi"], spec["n"]
    if spec["gen"] == "lcg":
        us = lcg_uniform(spec["seed"], n)
    elif spec["gen"] == "steps":
        us = [(k + 0.5) / n for k in range(n)]
    else:
        raise ValueError(spec["gen"])
    vals = [lo + (hi - lo) * u for u in us]
    if spec.get("floor"):
        vals = [float(math.floor(v)) for v in vals]
    return vals


def inline(x):
    return {"values": [float(v) for v in x]}


rng = np.random.default_rng(20240601)
ks_cases = []


def ks(name, a, b, method="auto"):
    xa, xb = expand(a), expand(b)
    r = stats.ks_2samp(xa, xb, alternative="two-sided", method=method)
    ks_cases.append({"name": name, "a": a, "b": b, "method": method,
                     "d": float(r.statistic), "p": float(r.pvalue)})


ks("n1-vs-n1", inline([0.0]), inline([1.0]))
ks("n1-vs-n1-equal", inline([2.5]), inline([2.5]))
ks("n1-vs-n2", inline([0.3]), inline([0.1, 0.2]))
ks("n2-vs-n3", inline([1.0, 2.0]), inline([1.5, 2.5, 3.5]))
ks("n3-vs-n3", inline(rng.normal(size=3)), inline(rng.normal(size=3)))
ks("normal-50-vs-60-shift", inline(rng.normal(size=50)), inline(rng.normal(0.5, 1, size=60)))
same = rng.normal(size=100)
ks("identical-100", inline(same), inline(same))
ks("normal-100-vs-100", inline(rng.normal(size=100)), inline(rng.normal(size=100)))
ks("ties-int-200-vs-300", inline(rng.integers(0, 5, size=200)), inline(rng.integers(0, 6, size=300)))
ks("all-ties-constant-same", inline([3.0] * 40), inline([3.0] * 25))
ks("all-ties-constant-differ", inline([3.0] * 40), inline([4.0] * 25))
ks("cauchy-500-vs-700", inline(rng.standard_cauchy(500)), inline(rng.standard_cauchy(700) * 1.2))
ks("unequal-1-vs-10000", inline([0.25]), {"gen": "lcg", "seed": 1, "n": 10000, "lo": 0.0, "hi": 1.0})
ks("unequal-10-vs-10000", inline(rng.uniform(size=10)), {"gen": "lcg", "seed": 2, "n": 10000, "lo": 0.0, "hi": 1.0})
ks("exact-3000-vs-4000", {"gen": "lcg", "seed": 3, "n": 3000, "lo": 0.0, "hi": 1.0},
   {"gen": "lcg", "seed": 4, "n": 4000, "lo": 0.02, "hi": 1.02})
ks("exact-ties-grid-5000-vs-7000", {"gen": "lcg", "seed": 5, "n": 5000, "lo": 0.0, "hi": 20.0, "floor": True},
   {"gen": "lcg", "seed": 6, "n": 7000, "lo": 0.0, "hi": 20.2, "floor": True})
ks("exact-equal-n-tiny-p", inline(rng.normal(size=400)), inline(rng.normal(1.0, 1, size=400)))
ks("exact-unequal-tiny-p", inline(rng.normal(size=300)), inline(rng.normal(1.2, 1, size=500)))
ks("asymp-20k-vs-30k-pelz-good", {"gen": "lcg", "seed": 7, "n": 20000, "lo": 0.0, "hi": 1.0},
   {"gen": "lcg", "seed": 8, "n": 30000, "lo": 0.0, "hi": 1.0})
ks("asymp-20k-vs-30k-shift", {"gen": "lcg", "seed": 9, "n": 20000, "lo": 0.0, "hi": 1.0},
   {"gen": "lcg", "seed": 10, "n": 30000, "lo": 0.03, "hi": 1.03})
ks("asymp-20k-vs-30k-durbin", {"gen": "steps", "n": 20000, "lo": 0.0, "hi": 1.0},
   {"gen": "steps", "n": 30000, "lo": 0.002, "hi": 1.0})
ks("asymp-10001-vs-1", {"gen": "lcg", "seed": 11, "n": 10001, "lo": 0.0, "hi": 1.0}, inline([0.9]))
ks("asymp-10001-vs-50", {"gen": "lcg", "seed": 12, "n": 10001, "lo": 0.0, "hi": 1.0},
   inline(rng.uniform(0.05, 1.05, size=50)))
ks("asymp-10001-vs-200-ties", {"gen": "lcg", "seed": 13, "n": 10001, "lo": 0.0, "hi": 10.0, "floor": True},
   inline(np.floor(rng.uniform(0, 10, size=200))))
ks("forced-asymp-5-vs-7", inline(rng.normal(size=5)), inline(rng.normal(1, 1, size=7)), "asymp")
ks("forced-asymp-100-vs-100", inline(rng.normal(size=100)), inline(rng.normal(0.3, 1, size=100)), "asymp")
ks("forced-asymp-300-vs-400", inline(rng.normal(size=300)), inline(rng.normal(0.1, 1, size=400)), "asymp")
ks("asymp-10001-vs-80-durbin-low", {"gen": "steps", "n": 10001, "lo": 0.0, "hi": 1.0},
   {"gen": "steps", "n": 80, "lo": 0.085, "hi": 1.085})
ks("forced-exact-200-vs-150", inline(rng.normal(size=200)), inline(rng.normal(size=150)), "exact")

chi_cases = []


def chi(name, ref, cur):
    table = np.array([ref, cur], dtype=float)
    stat, p, dof, _ = stats.chi2_contingency(table, correction=False)
    chi_cases.append({"name": name, "ref": [float(v) for v in ref], "cur": [float(v) for v in cur],
                      "stat": float(stat), "p": float(p), "dof": int(dof)})


chi("two-categories", [120, 80], [90, 110])
chi("five-categories", list(rng.integers(50, 200, 5)), list(rng.integers(50, 200, 5)))
probs = rng.dirichlet(np.ones(50))
chi("fifty-categories-same-law", list(rng.multinomial(5000, probs)), list(rng.multinomial(3000, probs)))
chi("fifty-categories-mild-shift", list(rng.multinomial(5000, probs)),
    list(rng.multinomial(3000, rng.dirichlet(probs * 2000))))
chi("identical-rows", [10, 20, 30], [10, 20, 30])
chi("proportional-rows", [10, 20, 30], [100, 200, 300])
chi("zero-in-current", [40, 30, 5], [60, 45, 0])
chi("huge-shift-tiny-p", [100000, 100000, 5], [50000, 150000, 5])
chi("unequal-totals", [5, 3, 2], [5000, 3100, 1900])
chi("many-categories-200", list(rng.integers(20, 60, 200)), list(rng.integers(20, 60, 200)))
chi("fractional-weights", [10.5, 20.25, 3.125], [12.0, 18.5, 6.75])

ws_cases = []


def ws(name, a, b):
    xa, xb = expand(a), expand(b)
    ws_cases.append({"name": name, "a": a, "b": b, "w": float(stats.wasserstein_distance(xa, xb))})


ws("normal-shift", inline(rng.normal(size=200)), inline(rng.normal(0.5, 1, size=300)))
ws("n1-vs-n1", inline([0.0]), inline([3.5]))
ws("identical", inline(same), inline(same))
ws("ties", inline(rng.integers(0, 5, 100)), inline(rng.integers(0, 5, 80)))
ws("cauchy", inline(rng.standard_cauchy(400)), inline(rng.standard_cauchy(300)))
ws("constant-vs-spread", inline([2.0] * 10), inline(rng.normal(2, 1, size=10)))
ws("large-lcg", {"gen": "lcg", "seed": 14, "n": 20000, "lo": 0.0, "hi": 1.0},
   {"gen": "lcg", "seed": 15, "n": 30000, "lo": 0.1, "hi": 1.3})

js_cases = []


def js(name, p, q):
    js_cases.append({"name": name, "p": [float(v) for v in p], "q": [float(v) for v in q],
                     "js": float(distance.jensenshannon(p, q, base=2))})


js("disjoint", [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
js("half", [1.0, 0.0], [0.5, 0.5])
js("same", [1.0, 0.0, 0.0], [1.0, 0.0, 0.0])
js("counts-unnormalized", [10, 20, 30, 40], [40, 30, 20, 10])
js("random-20-bins", list(rng.uniform(0, 1, 20)), list(rng.uniform(0, 1, 20)))
js("with-zeros", [5, 0, 3, 2], [0, 4, 3, 3])


def bh(p):
    """Benjamini-Hochberg as SciPy 1.11's false_discovery_control(method='bh')
    defines it; SciPy 1.10 has no such function."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    ps = p[order]
    m = len(ps)
    ps = ps * (m / np.arange(1, m + 1))
    ps = np.minimum.accumulate(ps[::-1])[::-1]
    out = np.empty(m)
    out[order] = ps
    return np.clip(out, 0, 1)


bh_cases = []
for name, p in [
    ("ascending", [0.01, 0.02, 0.03, 0.04, 0.05]),
    ("unsorted-with-ties", [0.04, 0.001, 0.04, 0.5, 0.2, 0.001]),
    ("random-40", list(rng.uniform(0, 0.2, 40))),
    ("single", [0.3]),
    ("ones-and-zeros", [1.0, 0.0, 1.0, 0.0]),
]:
    bh_cases.append({"name": name, "p": [float(v) for v in p], "q": [float(v) for v in bh(p)]})

out = {
    "scipy_version": scipy.__version__,
    "numpy_version": np.__version__,
    "note": "generated by gen.py; Benjamini-Hochberg values come from gen.py's reimplementation",
    "ks_2samp": ks_cases,
    "chi2_contingency": chi_cases,
    "wasserstein_distance": ws_cases,
    "jensenshannon": js_cases,
    "benjamini_hochberg": bh_cases,
}
with open("scipy_cases.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
n = sum(len(v) for v in out.values() if isinstance(v, list))
print(f"wrote {n} cases with SciPy {scipy.__version__}", file=sys.stderr)
