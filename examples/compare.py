#!/usr/bin/env python3
"""Compares the metrics.jsonl of two examples/run_all.sh folders, example by example: identical
bytes, or the largest relative difference of any number (and which field); exits 1 when a run is
in one folder only or its lines differ in number or keys. Usage: compare.py BEFORE AFTER [--tol T]
(with --tol, exit 1 also when a difference exceeds T; with --last, also prints the last epoch's
test metrics before → after for every run that differs)."""
import argparse
import json
import math
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("before")
ap.add_argument("after")
ap.add_argument("--tol", type=float)
ap.add_argument("--last", action="store_true")
a = ap.parse_args()


def runs(root):
    out = {}
    for d, _, files in os.walk(root):
        if "metrics.jsonl" in files:
            out[os.path.relpath(d, root)] = os.path.join(d, "metrics.jsonl")
    return out


def numbers(v, path=""):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return {path: v}
    if isinstance(v, (int, float)):
        return {path: float(v)}
    items = v.items() if isinstance(v, dict) else enumerate(v)
    out = {}
    for k, x in items:
        out.update(numbers(x, f"{path}.{k}" if path else str(k)))
    return out


b, c = runs(a.before), runs(a.after)
bad = False
identical = 0
for name in sorted(set(b) | set(c)):
    if name not in b or name not in c:
        print(f"{name}: only in {'after' if name in c else 'before'}")
        bad = True
        continue
    tb, tc = open(b[name], "rb").read(), open(c[name], "rb").read()
    if tb == tc:
        identical += 1
        print(f"{name}: identical")
        continue
    lb, lc = [json.loads(x) for x in tb.splitlines()], [json.loads(x) for x in tc.splitlines()]
    if len(lb) != len(lc):
        print(f"{name}: {len(lb)} lines before, {len(lc)} after")
        bad = True
        continue
    worst, where = 0.0, ""
    for i, (x, y) in enumerate(zip(lb, lc)):
        nx, ny = numbers(x), numbers(y)
        if nx.keys() != ny.keys():
            print(f"{name}: line {i + 1} keys differ: {sorted(set(nx) ^ set(ny))}")
            bad = True
            break
        for k in nx:
            p, q = nx[k], ny[k]
            if k.startswith("seconds") or k.endswith("seconds") or "time" in k:
                continue
            if isinstance(p, float) and isinstance(q, float):
                if math.isnan(p) and math.isnan(q):
                    continue
                d = abs(p - q) / max(abs(p), 1e-12)
                if d > worst:
                    worst, where = d, f"line {i + 1} {k}: {p} → {q}"
            elif p != q:
                worst, where = math.inf, f"line {i + 1} {k}: {p} → {q}"
    print(f"{name}: largest relative difference {worst:.2e} ({where})")
    if a.last:
        tx, ty = numbers(lb[-1].get("test", {})), numbers(lc[-1].get("test", {}))
        for k in tx:
            if isinstance(tx[k], float) and isinstance(ty.get(k), float) and tx[k] != ty[k]:
                print(f"    last epoch test {k}: {tx[k]:.4f} → {ty[k]:.4f}")
    if a.tol is not None and worst > a.tol:
        bad = True
print(f"{identical} of {len(set(b) | set(c))} identical")
sys.exit(1 if bad else 0)
