"""What the loss generators share: the command line `gen_X.py [OUT_DIR] [--seed S] [--f64]`, the
working precision, and where the vectors go.

Inputs are always drawn as float32 (numpy), so a `--f64` run sees exactly the values of the
float32 run; with `--f64` LibAUC's own code runs in float64 (torch's default dtype, the loss's
scalars cast) and the file goes to `vectors/f64/NAME`, the reference the kernels are checked
against at a tighter tolerance. `--seed` draws other inputs (conformance/check_seeds.sh); the
default seed of each generator writes the committed vectors.
"""
import argparse
import json
import os

import numpy as np
import torch


class Run:
    def __init__(self, default_seed, name):
        ap = argparse.ArgumentParser(description=__doc__)
        ap.add_argument("out_dir", nargs="?", default=os.path.dirname(os.path.abspath(__file__)),
                        help="folder that holds vectors/ (default: conformance/)")
        ap.add_argument("--seed", type=int, default=default_seed, help=f"input seed (default {default_seed})")
        ap.add_argument("--f64", action="store_true", help="run LibAUC in float64 and write vectors/f64/")
        a = ap.parse_args()
        torch.set_num_threads(1)
        self.f64 = a.f64
        self.dtype = torch.float64 if a.f64 else torch.float32
        torch.set_default_dtype(self.dtype)
        self.rng = np.random.default_rng(a.seed)
        self.seed = a.seed
        self.default_seed = default_seed
        self.path = os.path.join(a.out_dir, "vectors", *(["f64"] if a.f64 else []), name)

    def T(self, x, **kw):
        """A float tensor of `x` in the working precision."""
        return torch.tensor(np.asarray(x), dtype=self.dtype, **kw)

    def cast(self, obj, *names):
        """Recasts the named tensor attributes of `obj` (LibAUC creates some scalars as float32
        whatever the default dtype) to the working precision, keeping their gradient flag."""
        for n in names:
            t = getattr(obj, n)
            new = t.detach().to(self.dtype)
            if isinstance(t, torch.nn.Parameter):
                new = torch.nn.Parameter(new, requires_grad=t.requires_grad)
            else:
                new.requires_grad_(t.requires_grad)
            setattr(obj, n, new)

    def write(self, doc):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if self.f64:
            doc = {**doc, "precision": "float64"}
        if self.seed != self.default_seed:
            doc = {**doc, "seed": self.seed}
        with open(self.path, "w") as fh:
            json.dump(doc, fh, indent=1)
        return self.path
