"""xrisk's Python package against LibAUC 2.0.1 in the same PyTorch process (issue 21).

Part A — every loss of LibAUC 2.0.1 with its paired optimizer: the loss forward + backward +
optimizer step on a "model" that is the outputs themselves (a parameter tensor: scores ``[B]``,
``[B, T]`` for multi-label, ``[B, L]`` for ranking, features ``[B, 32]`` for contrastive, logits
``[B, 20]`` for the entropic loss), N = 100,000 samples of state, batch 64, 256 and 1024. Part B —
a whole training step with a model: an MLP 784 → 128 → 1 (batch 128) and ResNet20 on 28×28 images
(batch 64), AUCM + PESG; the models are the same torch modules on both sides, so the difference is
the loss and the optimizer. Part C — AUROC and AP of 10⁶ and 10⁷ scores, xrisk.metrics against
scikit-learn.

Protocol: both libraries are imported into one process; for every cell the two sides run
alternately in blocks (``--blocks`` blocks of ``--steps`` steps after a warm-up), on the same
inputs and ids, with ``torch.set_num_threads(threads)``; a cell reports the median step time of
each side; ``--threads`` lists the thread counts (each in its own process). LibAUC's PESG uses
its own momentum form, so xrisk's PESG runs with ``compat_2_0_1=True`` here (the same arithmetic);
everything else runs with each library's defaults. Writes the tables between the python markers of
BENCHMARKS.md.
"""
import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

N = 100_000


def quiet():
    return contextlib.redirect_stdout(io.StringIO())


def _scores(lib, name, batch, dev):
    """(parameters, loss, optimizer, one step) for loss ``name`` of library ``lib``."""
    import numpy as np
    import torch
    L = __import__(f"{lib}.losses", fromlist=["x"])
    O = __import__(f"{lib}.optimizers", fromlist=["x"])
    torch.manual_seed(7)
    rng = np.random.default_rng(11)
    y = torch.tensor([1.0 if i % 2 == 0 else 0.0 for i in range(batch)])
    idx = lambda: torch.tensor(rng.integers(0, N, size=batch))  # noqa: E731
    z = torch.nn.Parameter(torch.randn(batch))
    kw = {"compat_2_0_1": True} if lib == "xrisk" else {}
    with quiet():
        if name == "AUCM + PESG":
            loss = L.AUCMLoss(device=dev)
            opt = O.PESG([z], loss_fn=loss, lr=0.01, device=dev, verbose=False, **kw)
            return opt, lambda: loss(torch.sigmoid(z), y)
        if name == "CompositionalAUC + PDSCA":
            loss = L.CompositionalAUCLoss(device=dev)
            opt = O.PDSCA([z], loss_fn=loss, lr=0.01, device=dev, verbose=False)
            return opt, lambda: loss(torch.sigmoid(z), y)
        stateful = {
            "AP + SOAP": (lambda: L.APLoss(data_len=N, device=dev), O.SOAP),
            "pAUC_CVaR + SOPA": (lambda: L.pAUC_CVaR_Loss(data_len=N, pos_len=N, device=dev), O.SOPA),
            "pAUC_DRO + SOPAs": (lambda: L.pAUC_DRO_Loss(data_len=N, device=dev), O.SOPAs),
            "tpAUC_KL + SOTAs": (lambda: L.tpAUC_KL_Loss(data_len=N, device=dev), O.SOTAs),
        }
        if name in stateful:
            make, opt_cls = stateful[name]
            loss = make()
            opt = opt_cls([z], lr=0.01, device=dev)
            return opt, lambda: loss(torch.sigmoid(z), y, idx())
        if name == "tpAUC_CVaR + STACO":
            if lib == "xrisk":
                loss = L.tpAUC_CVaR_loss(data_length=N, device=dev)
            else:
                from libauc.losses.auc import tpAUC_CVaR_loss
                loss = tpAUC_CVaR_loss(data_length=N, device=dev)
            opt = O.STACO([z], lr=0.01, device=dev)
            return opt, lambda: loss(torch.sigmoid(z), y, idx())
        if name == "PairwiseAUC + Adam":
            loss = L.PairwiseAUCLoss()
            opt = O.Adam([z], lr=0.01, device=dev, verbose=False)
            return opt, lambda: loss(torch.sigmoid(z), y)
        if name == "CE + SGD":
            loss = L.CrossEntropyLoss()
            opt = O.SGD([z], lr=0.01, device=dev, verbose=False)
            return opt, lambda: loss(z, y)
        if name == "Focal + SGD":
            loss = L.FocalLoss(device=dev)
            opt = O.SGD([z], lr=0.01, device=dev, verbose=False)
            return opt, lambda: loss(z, y)
    raise KeyError(name)


def _tasks(lib, name, batch, dev, T=10):
    import numpy as np
    import torch
    L = __import__(f"{lib}.losses", fromlist=["x"])
    O = __import__(f"{lib}.optimizers", fromlist=["x"])
    torch.manual_seed(7)
    rng = np.random.default_rng(11)
    z = torch.nn.Parameter(torch.randn(batch, T))
    y = torch.tensor((np.arange(batch)[:, None] + np.arange(T)[None, :]) % 2 == 0, dtype=torch.float32)
    kw = {"compat_2_0_1": True} if lib == "xrisk" else {}
    with quiet():
        if name == "MultiLabelAUCM + PESG":
            loss = L.MultiLabelAUCMLoss(num_labels=T, device=dev)
            opt = O.PESG([z], loss_fn=loss, lr=0.01, device=dev, verbose=False, **kw)
            return opt, lambda: loss(torch.sigmoid(z), y)
        if name == "mAP + SOAP":
            loss = L.meanAveragePrecisionLoss(data_len=N, num_labels=T, device=dev)
        else:
            loss = L.MultiLabelpAUCLoss(mode="1w", num_labels=T, data_len=N, device=dev)
        opt = O.SOAP([z], lr=0.01, device=dev, verbose=False)
        return opt, lambda: loss(torch.sigmoid(z), y, torch.tensor(rng.integers(0, N, size=batch)))


def _ranking(lib, name, batch, dev, P=10, NEG=90):
    """``batch`` is the number of scores: ``batch / (P + NEG)`` queries of P + NEG items."""
    import numpy as np
    import torch
    L = __import__(f"{lib}.losses", fromlist=["x"])
    O = __import__(f"{lib}.optimizers", fromlist=["x"])
    torch.manual_seed(7)
    rng = np.random.default_rng(11)
    width = P + NEG
    q = max(1, batch // width)
    users = 1000
    z = torch.nn.Parameter(torch.randn(q, width))

    def make_batch():
        u = torch.tensor(rng.integers(0, users, size=q))
        pair = torch.tensor(rng.integers(0, N, size=(q, width)))
        return {"user_id": u, "user_item_id": pair, "rating": torch.ones(q, width) * 3.0,
                "num_pos_items": torch.full((q,), float(P)), "ideal_dcg": torch.full((q,), 20.0)}

    with quiet():
        if name == "ListwiseCE + SONG":
            loss = L.ListwiseCELoss(N, P, 0.1, device=dev)
        elif name == "NDCG (SONG) + SONG":
            loss = L.NDCGLoss(N, users, 2000, P, device=dev)
        else:
            loss = L.NDCGLoss(N, users, 2000, P, topk=5, topk_version="theo", device=dev)
        opt = O.SONG([z], lr=0.01, device=dev)
    return opt, lambda: loss(z, make_batch())


def _contrastive(lib, name, batch, dev, D=32):
    import numpy as np
    import torch
    import torch.nn.functional as F
    L = __import__(f"{lib}.losses", fromlist=["x"])
    O = __import__(f"{lib}.optimizers", fromlist=["x"])
    torch.manual_seed(7)
    rng = np.random.default_rng(11)
    h1, h2 = torch.nn.Parameter(torch.randn(batch, D)), torch.nn.Parameter(torch.randn(batch, D))
    ids = lambda: torch.tensor(rng.choice(N, size=batch, replace=False))  # noqa: E731
    with quiet():
        if name == "GCLoss_v1 (SogCLR) + SogCLR":
            loss = L.GCLoss_v1(N=N, device=dev)
            opt = O.SogCLR([h1, h2], lr=0.1, device=dev)
            return opt, lambda: loss(h1, h2, ids())
        loss = L.GCLoss_v2(N=N, device=dev)
        opt = O.SogCLR([h1, h2], lr=0.1, mode="adamw", device=dev)
        return opt, lambda: loss(F.normalize(h1, dim=1), F.normalize(h2, dim=1), ids())[0]


def _other(lib, name, batch, dev):
    import numpy as np
    import torch
    L = __import__(f"{lib}.losses", fromlist=["x"])
    O = __import__(f"{lib}.optimizers", fromlist=["x"])
    torch.manual_seed(7)
    rng = np.random.default_rng(11)
    with quiet():
        if name == "MIDAM (softmax) + MIDAM":
            z = torch.nn.Parameter(torch.randn(batch) * 0.1)
            y = torch.tensor([1.0 if i % 2 == 0 else 0.0 for i in range(batch)])
            loss = L.MIDAMLoss(mode="softmax", data_len=N, device=dev)
            opt = O.MIDAM([z], loss_fn=loss, lr=0.01, momentum=0.1, device=dev)
            return opt, lambda: loss(y_pred=torch.exp(z / 0.1), y_true=y, index=torch.tensor(
                rng.choice(N, size=batch, replace=False)))
        K = 20
        z = torch.nn.Parameter(torch.randn(batch, K))
        loss = L.EntLossClassification(data_size=N)
        opt = O.SCENT([z], lr=0.01)
        return opt, lambda: loss(z, torch.tensor(rng.choice(N, size=batch, replace=False)))["loss"]


GROUPS = [
    (_scores, ["AUCM + PESG", "CompositionalAUC + PDSCA", "AP + SOAP", "pAUC_CVaR + SOPA", "pAUC_DRO + SOPAs",
               "tpAUC_KL + SOTAs", "tpAUC_CVaR + STACO", "PairwiseAUC + Adam", "CE + SGD", "Focal + SGD"]),
    (_tasks, ["MultiLabelAUCM + PESG", "mAP + SOAP", "MultiLabelpAUC (1w) + SOAP"]),
    (_ranking, ["ListwiseCE + SONG", "NDCG (SONG) + SONG", "top-K NDCG (K-SONG) + SONG"]),
    (_contrastive, ["GCLoss_v1 (SogCLR) + SogCLR", "GCLoss_v2 + SogCLR (adamw)"]),
    (_other, ["MIDAM (softmax) + MIDAM", "EntLossClassification + SCENT"]),
]


def _step(opt, forward):
    v = forward()
    opt.zero_grad()
    v.backward()
    opt.step()


def alternate(make_a, make_b, steps, blocks, warmup=5):
    """Median seconds per step of two (optimizer, forward) pairs run in alternating blocks."""
    pa, pb = make_a(), make_b()
    for _ in range(warmup):
        _step(*pa)
        _step(*pb)
    ta, tb = [], []
    for _ in range(blocks):
        for pair, out in ((pa, ta), (pb, tb)):
            for _ in range(steps):
                t = time.perf_counter()
                _step(*pair)
                out.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def _model_pair(lib, which, dev, seed=7):
    import numpy as np
    import torch
    import xrisk.models as xm
    L = __import__(f"{lib}.losses", fromlist=["x"])
    O = __import__(f"{lib}.optimizers", fromlist=["x"])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if which == "MLP":
        model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))
        batch, shape = 128, (784,)
    else:
        model = xm.resnet20(in_channels=1)
        batch, shape = 64, (1, 28, 28)
    x = torch.randn(batch, *shape)
    y = torch.tensor([1.0 if i % 4 == 0 else 0.0 for i in range(batch)])
    kw = {"compat_2_0_1": True} if lib == "xrisk" else {}
    with quiet():
        loss = L.AUCMLoss(device=dev)
        opt = O.PESG(model.parameters(), loss_fn=loss, lr=0.1, device=dev, verbose=False, **kw)
    return opt, lambda: loss(torch.sigmoid(model(x)), y)


def child(threads, steps, blocks, parts):
    import torch
    torch.set_num_threads(threads)
    dev = torch.device("cpu")
    out = {"threads": threads, "losses": [], "models": []}
    if "losses" in parts:
        for maker, names in GROUPS:
            for name in names:
                for batch in (64, 256, 1024):
                    tx, tl = alternate(lambda: maker("xrisk", name, batch, dev),
                                       lambda: maker("libauc", name, batch, dev), steps, blocks)
                    out["losses"].append({"loss": name, "batch": batch, "xrisk": tx, "libauc": tl})
                    print(f"[{threads} thr] {name} B={batch}: xrisk {tx * 1e6:.0f} µs, LibAUC {tl * 1e6:.0f} µs "
                          f"({tl / tx:.1f}×)", file=sys.stderr, flush=True)
    if "models" in parts:
        for which, n in (("MLP", steps), ("ResNet20", max(3, steps // 10))):
            tx, tl = alternate(lambda: _model_pair("xrisk", which, dev), lambda: _model_pair("libauc", which, dev), n,
                               blocks, warmup=2)
            out["models"].append({"model": which, "xrisk": tx, "libauc": tl})
            print(f"[{threads} thr] {which}: xrisk {1 / tx:.1f} steps/s, LibAUC {1 / tl:.1f} ({tl / tx:.2f}×)",
                  file=sys.stderr, flush=True)
    print(json.dumps(out))


def metrics_cells(repeat):
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score
    import xrisk.metrics as xmet
    rows = []
    rng = np.random.default_rng(7)
    for n in (1_000_000, 10_000_000):
        y = (rng.random(n) < 0.1).astype(np.float64)
        s = np.round(rng.normal(size=n) + y, 4)
        for name, ours, peer in (("AUROC", xmet.auc_roc_score, roc_auc_score),
                                 ("AP", xmet.auc_prc_score, average_precision_score)):
            tx, tp = [], []
            for _ in range(repeat):
                t = time.perf_counter()
                vx = ours(y, s)
                tx.append(time.perf_counter() - t)
                t = time.perf_counter()
                vp = peer(y, s)
                tp.append(time.perf_counter() - t)
            assert abs(vx - vp) < 1e-9, (name, vx, vp)
            rows.append((n, name, statistics.median(tx), statistics.median(tp)))
            print(f"{name} n={n}: xrisk {rows[-1][2]:.4f}s sklearn {rows[-1][3]:.4f}s", file=sys.stderr, flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=20, help="steps per block")
    ap.add_argument("--blocks", type=int, default=5, help="alternating blocks per side")
    ap.add_argument("--parts", default="losses,models,metrics")
    ap.add_argument("--child", nargs=2, metavar=("THREADS", "PARTS"))
    a = ap.parse_args()
    if a.child:
        child(int(a.child[0]), a.steps, a.blocks, a.child[1].split(","))
        return
    parts = a.parts.split(",")
    results = []
    for t in [int(x) for x in a.threads.split(",")]:
        if "losses" in parts or "models" in parts:
            p = subprocess.run([sys.executable, __file__, "--out", a.out, "--steps", str(a.steps), "--blocks",
                                str(a.blocks), "--child", str(t), ",".join(parts)], check=True,
                               stdout=subprocess.PIPE, text=True)
            results.append(json.loads(p.stdout.strip().splitlines()[-1]))
    import torch
    import libauc
    import xrisk
    lines = [f"LibAUC {libauc.__version__} and xrisk {xrisk.__version__} (Python package) in one PyTorch "
             f"{torch.__version__} process on CPU, alternating blocks of {a.steps} steps ({a.blocks} blocks per "
             "side); µs per step, the median; speed-up = LibAUC ÷ xrisk. Protocol in bench/python.py's docstring.", ""]
    if "losses" in parts:
        lines += ["Part A — the loss forward + backward + optimizer step, N = 100,000 (batch = scores per step; ranking: "
                  "queries of 100 items).", "",
                  "| loss + optimizer | batch | threads | xrisk µs | LibAUC µs | speed-up |", "|---|---|---|---|---|---|"]
        by = {}
        for r in results:
            for c in r["losses"]:
                by.setdefault((c["loss"], c["batch"]), {})[r["threads"]] = c
        for (loss, batch), per in by.items():
            for t, c in sorted(per.items()):
                lines.append(f"| {loss} | {batch} | {t} | {c['xrisk'] * 1e6:,.0f} | {c['libauc'] * 1e6:,.0f} | "
                             f"{c['libauc'] / c['xrisk']:.1f}× |")
    if "models" in parts:
        lines += ["", "Part B — a whole training step with a model (AUCM + PESG; the same torch model on both sides): "
                  "steps per second.", "",
                  "| model | threads | xrisk steps/s | LibAUC steps/s | ratio |", "|---|---|---|---|---|"]
        for r in results:
            for c in r["models"]:
                lines.append(f"| {c['model']} | {r['threads']} | {1 / c['xrisk']:,.1f} | {1 / c['libauc']:,.1f} | "
                             f"{c['libauc'] / c['xrisk']:.2f}× |")
    if "metrics" in parts:
        import sklearn
        rows = metrics_cells(5)
        lines += ["", f"Part C — metrics from Python: xrisk.metrics vs scikit-learn {sklearn.__version__} (values equal "
                  "to 1e-9), seconds per call, median of 5; 10 % positives, scores with 4 decimals.", "",
                  "| scores | metric | xrisk s | scikit-learn s | speed-up |", "|---|---|---|---|---|"]
        for n, name, tx, tp in rows:
            lines.append(f"| {n:,} | {name} | {tx:.4f} | {tp:.4f} | {tp / tx:.1f}× |")
    table = "\n".join(lines)
    print(table)
    from common import write_block
    write_block(a.out, "python", "bench/python.sh", "From PyTorch: the Python package vs LibAUC", table)


if __name__ == "__main__":
    main()
