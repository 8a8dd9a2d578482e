"""Derive the expected answers in derived.json by running DVC's own code.

DVC's tests do not cover every rule mlci follows (lists, null and booleans
in metrics, rounding of small numbers), so for those cases this script runs
the functions that define the rule, read from a DVC checkout:

    python3 derive.py /path/to/dvc.git 9f901e57a20889bd08f91479cd326c3b7f80d037 > derived.json

It uses only the standard library. Inputs are JSON, which DVC parses with
json.loads(text) or {} (dvc/utils/serialize/_json.py). flatten_dict is not
installed here: flatten() below does what dvc/utils/flatten.py asks of it,
flatten_dict.flatten(d, reducer="dot") (nested mappings joined with ".",
empty mappings dropped, lists left whole).
"""

import ast
import json
import logging
import subprocess
import sys
import types

GIT_DIR, COMMIT = sys.argv[1], sys.argv[2]


def source(path):
    return subprocess.run(
        ["git", "--git-dir", GIT_DIR, "show", f"{COMMIT}:{path}"],
        check=True, capture_output=True, text=True,
    ).stdout


def functions(path, names, env):
    """Execs the named top-level functions of a DVC module into env."""
    text = source(path)
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            exec(ast.get_source_segment(text, node), env)
    return env


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


env = {"logger": logging.getLogger("dvc"), "flatten": flatten}
env.update(__import__("collections").__dict__)
functions("dvc/repo/metrics/show.py", {"_extract_metrics"}, env)
functions("dvc/utils/diff.py", {"_parse", "_diff_vals", "_flatten", "_diff_dicts", "_diff", "diff", "format_dict"}, env)
env["abc"] = __import__("collections.abc").abc
env.update(Any=__import__("typing").Any, Optional=__import__("typing").Optional)
functions("dvc/compare.py", {"with_value", "_normalize_float", "_format_field"}, env)


def load(kind, text):
    """What dvc metrics show / dvc params show hold for one file."""
    val = json.loads(text) or {}  # parse_json
    if kind == "metrics":
        val = env["_extract_metrics"](val, "m.json")
        val = val or {}  # _read_metric
    return val


def shown(kind, text):
    """The flattened row dvc metrics show prints (compare.metrics_table)."""
    data = env["format_dict"]({"f": {"data": load(kind, text)}})["f"]["data"]
    return flatten(data) if isinstance(data, dict) else {"": data}


def diff(kind, old, new, with_unchanged):
    """dvc metrics diff / dvc params diff (repo/metrics/diff.py: _diff)."""
    o = {p: {"data": load(kind, t)} for p, t in old.items()}
    n = {p: {"data": load(kind, t)} for p, t in new.items()}
    return env["diff"](env["format_dict"](o), env["format_dict"](n), with_unchanged=with_unchanged)


def table(res, precision):
    """compare.diff_table's cells: Path, Metric, old, new, Change."""
    rows = []
    for path, d in res.items():
        for item, change in sorted(d.items()):
            cells = [path, item]
            for v in (change.get("old"), change.get("new"), change.get("diff")):
                cells.append(env["_format_field"](env["with_value"](v, "-"), precision, precision is not None))
            rows.append(cells)
    return rows


SHOW = [
    ("metrics lists are dropped", "metrics", "m.json",
     '{"acc": 0.9, "loss": [0.5, 0.4], "epochs": [{"lr": 0.01}], "nested": {"curve": [1, 2]}}'),
    ("metrics null is dropped, booleans and strings kept", "metrics", "m.json",
     '{"acc": 0.9, "skipped": null, "ok": true, "name": "run-1"}'),
    ("metrics top-level list gives nothing", "metrics", "m.json", '[{"acc": 1}, {"acc": 2}]'),
    ("metrics single number", "metrics", "m.json", "0.75"),
    ("metrics single string", "metrics", "m.json", '"good"'),
    ("params list of mixed values is one value", "params", "p.json",
     '{"layers": [64, 32], "opts": [{"lr": 0.1, "nesterov": true}, null, "x\'y", 1.0, 1e-05, -0.0, "tab\\there"]}'),
    ("params null and false kept", "params", "p.json", '{"seed": null, "flag": false}'),
    ("params top-level list", "params", "p.json", "[1, 2]"),
]

DIFF = [
    ("metrics booleans count as numbers; 1 equals 1.0", "metrics", False,
     {"m.json": '{"ok": false, "acc": 1}'}, {"m.json": '{"ok": true, "acc": 1.0}'}),
    ("metrics lists do not diff", "metrics", False,
     {"m.json": '{"acc": 0.5, "loss": [0.3]}'}, {"m.json": '{"acc": 0.5, "loss": [0.2]}'}),
    ("metrics null is missing", "metrics", False,
     {"m.json": '{"acc": null}'}, {"m.json": '{"acc": 0.5}'}),
    ("params null to a number", "params", False,
     {"p.json": '{"seed": null}'}, {"p.json": '{"seed": 1}'}),
    ("params booleans", "params", False,
     {"p.json": '{"flag": true}'}, {"p.json": '{"flag": false}'}),
    ("metrics integers and floats", "metrics", True,
     {"m.json": '{"a": 0, "b": 1.5, "c": 2, "d": 0.1}'}, {"m.json": '{"a": 0.0, "b": 1.5, "c": 3, "d": 0.30000000000000004}'}),
    ("metrics rounding to 5 decimals", "metrics", False,
     {"m.json": '{"lr": 1.5e-05, "tiny": 1e-07, "big": 123456.789123, "neg": -0.000001, "huge": 1e16, "large": 1e15}'},
     {"m.json": '{"lr": 2.5e-05, "tiny": 2e-07, "big": 123456.789129, "neg": -0.000002, "huge": 2e16, "large": 2e15}'}),
    ("metrics single value file", "metrics", False, {"m.json": "0.9"}, {"m.json": "0.95"}),
    ("metrics file deleted", "metrics", False, {"m.json": '{"acc": 0.9, "n": 3}'}, {}),
]

FORMAT = [
    ("1e-07", 5), ("-1e-07", 5), ("1.5e-05", 5), ("0.00012", 5), ("123456.789", 5), ("1e16", 5),
    ("1e15", 5), ("0.1", None), ("1e-07", None), ("true", 5), ("false", None), ("2.5", 0),
]

out = {"source": f"iterative/dvc@{COMMIT}", "show": [], "diff": [], "format": []}
for name, kind, path, text in SHOW:
    out["show"].append({"name": name, "kind": kind, "path": path, "content": text, "want": shown(kind, text)})
for name, kind, all_, old, new in DIFF:
    res = diff(kind, old, new, all_)
    case = {"name": name, "kind": kind, "all": all_, "old": old, "new": new, "want": res}
    case["table"] = table(res, 5 if kind == "metrics" else None)
    out["diff"].append(case)
for text, precision in FORMAT:
    v = json.loads(text)
    out["format"].append({"value": text, "precision": precision,
                          "want": env["_format_field"](v, precision, precision is not None)})
json.dump(out, sys.stdout, indent=1)
print()
