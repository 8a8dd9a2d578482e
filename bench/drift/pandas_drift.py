"""The drift benchmark's pandas + SciPy side: the same comparison as
`drift compare`, done the usual notebook way.

    pandas_drift.py prepare ref.csv ref.pkl   # the reference (not timed)
    pandas_drift.py compare ref.pkl cur.csv   # what is timed

Per numeric column: a 10,000-value sample, scipy.stats.ks_2samp (asymptotic,
as the Go side is past 1,000 values), the Wasserstein distance over the
reference's standard deviation, and PSI of every value in the reference's
decile bins. Per categorical column: value counts over the reference's top
100 plus "other", chi2_contingency, PSI and the Jensen-Shannon distance.
Then Benjamini-Hochberg across the columns.
"""
import pickle
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

SAMPLE, TOPK, EPS = 10_000, 100, 1e-4


def psi(r, c):
    r = np.maximum(r / r.sum(), EPS)
    c = np.maximum(c / c.sum(), EPS)
    return float(np.sum((c - r) * np.log(c / r)))


def prepare(src, out):
    df = pd.read_csv(src)
    rng = np.random.default_rng(0)
    ref = {}
    for col in df.columns:
        s = df[col].dropna()
        if pd.api.types.is_numeric_dtype(s):
            x = s.to_numpy()
            sample = np.sort(rng.choice(x, size=min(SAMPLE, len(x)), replace=False))
            edges = np.unique(np.quantile(sample, np.arange(1, 10) / 10, method="lower"))
            counts = np.bincount(np.searchsorted(edges, sample, side="left"), minlength=len(edges) + 1)
            ref[col] = ("numeric", sample, edges, counts.astype(float))
        else:
            vc = s.value_counts()
            top = vc.iloc[:TOPK]
            ref[col] = ("categorical", list(top.index), top.to_numpy(float), float(vc.iloc[TOPK:].sum()))
    with open(out, "wb") as f:
        pickle.dump(ref, f)


def compare(ref_path, cur):
    with open(ref_path, "rb") as f:
        ref = pickle.load(f)
    df = pd.read_csv(cur)
    rng = np.random.default_rng(1)
    rows = []
    for col, r in ref.items():
        s = df[col].dropna()
        if r[0] == "numeric":
            _, rsample, edges, rcounts = r
            x = s.to_numpy()
            sample = np.sort(rng.choice(x, size=min(SAMPLE, len(x)), replace=False))
            ks = stats.ks_2samp(rsample, sample, method="asymp")
            sd = rsample.std()
            w = stats.wasserstein_distance(rsample, sample) / (sd if sd > 0 else 1)
            ccounts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)
            rows.append((col, ks.pvalue, w, psi(rcounts, ccounts.astype(float))))
        else:
            _, values, rcounts, rother = r
            vc = s.value_counts()
            ccounts = vc.reindex(values, fill_value=0).to_numpy(float)
            cother = float(vc.sum() - ccounts.sum())
            rc = np.append(rcounts, rother)
            cc = np.append(ccounts, cother)
            keep = (rc + cc) > 0
            chi2, p, _, _ = stats.chi2_contingency(np.vstack([rc[keep], cc[keep]]), correction=False)
            rows.append((col, p, jensenshannon(rc, cc, base=2), psi(rc, cc)))
    p = np.array([x[1] for x in rows])
    order = np.argsort(p)
    q = np.empty_like(p)
    q[order] = np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    q = np.minimum(q, 1)
    drifted = 0
    for (col, _, dist, ps), qi in zip(rows, q):
        d = qi <= 0.05 and (dist >= 0.1 or ps >= 0.2)
        drifted += d
        print(f"{col:6} q={qi:.3g} dist={dist:.3g} psi={ps:.3g}{'  DRIFT' if d else ''}")
    print(f"{drifted} of {len(rows)} columns drifted")


if __name__ == "__main__":
    {"prepare": prepare, "compare": compare}[sys.argv[1]](*sys.argv[2:])
