"""Shared by the tests: the committed LibAUC conformance vectors (``conformance/vectors``, the same
JSON the Rust tests read) and the checker with the Rust tests' tolerance rules
(``conformance/rust/vectors.rs``): a value passes against LibAUC's float32 run within its
tolerance or — where LibAUC's own float32 result is farther than that from its float64 run —
within the float64 tolerance of the float64 run."""
import json
import os

import numpy as np
import pytest
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VECTORS = os.environ.get("XRISK_VECTORS_DIR", os.path.join(ROOT, "conformance", "vectors"))


def load(name):
    with open(os.path.join(VECTORS, name)) as fh:
        return json.load(fh)


def load_f64(name):
    path = os.path.join(VECTORS, "f64", name)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def arr(v):
    return np.asarray(v, dtype=np.float64).reshape(-1)


def host(t):
    """A tensor, array or number as a flat float64 array."""
    if torch.is_tensor(t):
        t = t.detach().cpu().numpy()
    return np.asarray(t, dtype=np.float64).reshape(-1)


class Compat:
    """Compares against LibAUC's f32 run (``rel32·|w| + 1e-6``) and, when given, its float64 run
    (``rel64·|w| + abs64``); collects every failure."""

    def __init__(self, rel32, rel64=2e-6, abs64=1e-7):
        self.rel32, self.rel64, self.abs64 = rel32, rel64, abs64
        self.failures, self.compared, self.excused = [], 0, 0

    def values(self, what, got, want32, want64=None):
        got, w32 = host(got), host(want32)
        w64 = None if want64 is None else host(want64)
        if got.shape != w32.shape or (w64 is not None and w64.shape != w32.shape):
            self.failures.append(f"{what}: {got.size} values, peer has {w32.size}")
            return
        for i in range(got.size):
            self.compared += 1
            g, a = got[i], w32[i]
            if np.isinf(g) and g == a:
                continue
            tol32 = self.rel32 * abs(a) + 1e-6
            if w64 is not None:
                b = w64[i]
                tol64 = self.rel64 * abs(b) + self.abs64
                if abs(g - b) > tol64 or np.isnan(g):
                    self.failures.append(f"{what}[{i}] (f64): got {g:.9g}, reference {b:.9g}")
                    continue
                if abs(g - a) > tol32 and abs(a - b) > self.rel32 * abs(b) + 1e-6:
                    self.excused += 1
                    continue
            if not abs(g - a) <= tol32:
                self.failures.append(f"{what}[{i}]: got {g:.9g}, LibAUC {a:.9g}")

    def check(self):
        assert not self.failures, f"{len(self.failures)} of {self.compared} values differ:\n" + "\n".join(
            self.failures[:30])


@pytest.fixture
def compat():
    return Compat
