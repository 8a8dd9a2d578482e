"""Reference ROC / precision-recall values for the plots tests.

Run from this folder with scikit-learn installed (made with 1.2.1):
    python3 gen.py > curves.json
The tests read curves.json; they never run Python.
"""
import json

import numpy as np
from sklearn.metrics import (
    auc,
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    roc_curve,
)


def case(name, labels, scores):
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    precision, recall, _ = precision_recall_curve(labels, scores)
    return {
        "name": name,
        "labels": [int(v) for v in labels],
        "scores": [float(v) for v in scores],
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "auc": float(auc(fpr, tpr)),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "average_precision": float(average_precision_score(labels, scores)),
    }


rng = np.random.default_rng(15)
n = 200
labels = rng.integers(0, 2, n)
scores = np.clip(labels * 0.3 + rng.normal(0.4, 0.25, n), 0, 1)

cases = [
    case("sklearn docs example", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
    case("ties across classes", [0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9, 0.5, 0.2]),
    case("perfect", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]),
    case("inverted", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),
    case("all scores tied", [0, 1, 1, 0, 1], [0.3] * 5),
    case("random 200 rounded", labels, np.round(scores, 1)),
    case("random 200", labels, scores),
]

actual = ["cat", "dog", "dog", "bird", "cat", "dog", "bird", "bird"]
predicted = ["cat", "dog", "cat", "bird", "dog", "dog", "cat", "bird"]
cm_labels = sorted(set(actual) | set(predicted))
cm = confusion_matrix(actual, predicted, labels=cm_labels)
cm_norm = confusion_matrix(actual, predicted, labels=cm_labels, normalize="true")

json.dump(
    {
        "curves": cases,
        "confusion": {
            "actual": actual,
            "predicted": predicted,
            "labels": cm_labels,
            "counts": cm.tolist(),
            "normalized": cm_norm.tolist(),
        },
    },
    __import__("sys").stdout,
    indent=1,
)
