"""Training steps/s with a model (issue 8): AUCM + PESG and AP + SOAP with an MLP (74 → 128 → 1,
ReLU) on KDD Cup 2004 protein homology, xrisk against LibAUC 2.0.1 / PyTorch, on 1 and 2
threads. Same work per step on both sides: features standardised on the training rows, 128 rows
per step (64 positives, 64 negatives from a dual sampler), the sigmoid of the MLP's logit into the
loss, backward, the optimizer step (PESG lr 0.1; SOAP Adam lr 1e-3; library defaults otherwise).
xrisk: one `xrisk train` epoch (examples/protein/*.toml, 1,579 steps; its timing.jsonl counts the
training steps and their seconds, evaluation excluded); PyTorch: 1,000 steps after 50 warm-up
steps in a fresh process. Each cell: median of 5 runs (min–max), alternating the two sides.

ResNet20 (AUCM + PESG, LibAUC's `resnet20` with a 1-channel first convolution, as xrisk's):
Fashion-MNIST test images embedded in the xrisk binary (the same gzip file read by both
sides), "Shirt" positive, 64 images per step (DualSampler, 20 % positives), PESG lr 0.1;
xrisk: the second of two epochs capped at 20 steps (`--max-steps-per-epoch 20`); PyTorch: 20
steps after 5 warm-up steps. At most 3 runs per cell (a step takes about a second).
NeuMF (SONG, MovieLens-100k; needs `xrisk data fetch movielens-100k`): 64 users × (10
positives + 100 negatives) per step, NeuMF 64/[64], NDCGLoss γ₀ 0.1, SONG adam lr 1e-3;
xrisk: the second of two epochs (14 steps each), its sampler included in the time; PyTorch:
batches assembled before the clock starts (favouring the peer), 30 timed steps after 5.
DenseNet121 (AUCM + PESG, LibAUC's `DenseNet121`, LibAUC's CheXpert model): 3 × 224 × 224
images, 16 per step (DualSampler, 20 % positives), PESG lr 0.1; the images are the embedded
Fashion-MNIST images scaled up to 224 × 224 (nearest neighbour) with the grey value in all three
channels, written once as an IDX file that xrisk reads (`format = "idx"`) and PyTorch loads;
xrisk: the second of two epochs capped at 3 steps; PyTorch: 3 steps after 1 warm-up step.
At most 2 runs per cell (a step takes seconds).
Writes the table between the models markers of BENCHMARKS.md.
"""
import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_block  # noqa: E402
from models_cfg import DENSENET_CFG, NEUMF_CFG, RESNET_CFG, write_densenet_idx  # noqa: E402

CASES = [("AUCM + PESG", "protein_aucm_pesg.toml", "aucm"), ("AP + SOAP", "protein_ap_soap.toml", "ap")]


def child(kind, parquet, threads):
    import numpy as np
    import pandas as pd
    import torch
    import libauc.optimizers as O
    from libauc.losses import AUCMLoss, APLoss
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    df = pd.read_parquet(parquet)
    y = df["target"].to_numpy().astype(np.float32)
    x = df.drop(columns=["EXAMPLE_ID", "BLOCK_ID", "target"]).to_numpy().astype(np.float32)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))
    tr = perm[round(0.3 * len(y)):]
    mu, sd = x[tr].mean(0), x[tr].std(0)
    sd[sd == 0] = 1
    X, Y = torch.tensor((x[tr] - mu) / sd), torch.tensor(y[tr])
    pos, neg = np.flatnonzero(y[tr] == 1), np.flatnonzero(y[tr] == 0)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))
    dev = torch.device("cpu")
    with contextlib.redirect_stdout(io.StringIO()):
        if kind == "aucm":
            loss_fn = AUCMLoss(device=dev)
            opt = O.PESG(model.parameters(), loss_fn=loss_fn, lr=0.1, device=dev, verbose=False)
        else:
            loss_fn = APLoss(data_len=len(tr), device=dev)
            opt = O.SOAP(model.parameters(), lr=1e-3, mode="adam")
    times = 0.0
    for step in range(1050):
        t = time.perf_counter()
        ids = np.concatenate([rng.choice(pos, 64), rng.choice(neg, 64)])
        it = torch.tensor(ids)
        p = torch.sigmoid(model(X[it])).view(-1)
        v = loss_fn(p, Y[it]) if kind == "aucm" else loss_fn(p, Y[it], it)
        opt.zero_grad(); v.backward(); opt.step()
        if step >= 50:
            times += time.perf_counter() - t
    print(json.dumps({"steps_per_second": 1000 / times}))


def load_libauc_file(name, rel):
    """One LibAUC model file alone (libauc.models/__init__ imports its GNNs, not installed)."""
    import importlib.util
    import libauc
    spec = importlib.util.spec_from_file_location(name, os.path.join(os.path.dirname(libauc.__file__), rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def idx_images(path):
    import gzip
    import numpy as np
    raw = gzip.open(path).read()
    n, h, w = (int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(3))
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, h, w).astype(np.float32) / 255.0


def idx_labels(path):
    import gzip
    import numpy as np
    return np.frombuffer(gzip.open(path).read(), np.uint8, offset=8)


def sync(dev):
    import torch
    if dev.type == "cuda":
        torch.cuda.synchronize()


def child_resnet(data_dir, threads, device="cpu", steps=20):
    import numpy as np
    import torch
    import libauc.optimizers as O
    from libauc.losses import AUCMLoss
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.tensor(idx_images(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")))
    y = (idx_labels(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")) == 6).astype(np.float32)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rc = load_libauc_file("libauc_resnet_cifar", "models/resnet_cifar.py")
    model = rc.resnet20(last_activation=None, num_classes=1)
    model.conv1 = torch.nn.Conv2d(1, 16, kernel_size=3, stride=1, padding=1, bias=False)
    dev = torch.device(device)
    model, x = model.to(dev), x.to(dev)
    with contextlib.redirect_stdout(io.StringIO()):
        loss_fn = AUCMLoss(device=dev)
        opt = O.PESG(model.parameters(), loss_fn=loss_fn, lr=0.1, device=dev, verbose=False)
    rng = np.random.default_rng(0)
    Y = torch.tensor(y).to(dev)
    times = 0.0
    for step in range(steps + 5):
        sync(dev)
        t = time.perf_counter()
        ids = torch.tensor(np.concatenate([rng.choice(pos, 12), rng.choice(neg, 52)])).to(dev)
        p = torch.sigmoid(model(x[ids])).view(-1)
        v = loss_fn(p, Y[ids])
        opt.zero_grad(); v.backward(); opt.step()
        sync(dev)
        if step >= 5:
            times += time.perf_counter() - t
    print(json.dumps({"steps_per_second": steps / times}))


def child_densenet(images, labels, threads, device="cpu", steps=3):
    import numpy as np
    import torch
    import libauc.optimizers as O
    from libauc.losses import AUCMLoss
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    raw = open(images, "rb").read()
    x = torch.tensor(np.frombuffer(raw, np.uint8, offset=20).reshape(-1, 3, 224, 224).astype(np.float32) / 255.0)
    y = (np.frombuffer(open(labels, "rb").read(), np.uint8, offset=8) == 6).astype(np.float32)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    dn = load_libauc_file("libauc_densenet", "models/densenet.py")
    model = dn.DenseNet121(num_classes=1)
    dev = torch.device(device)
    model, x = model.to(dev), x.to(dev)
    with contextlib.redirect_stdout(io.StringIO()):
        loss_fn = AUCMLoss(device=dev)
        opt = O.PESG(model.parameters(), loss_fn=loss_fn, lr=0.1, device=dev, verbose=False)
    rng = np.random.default_rng(0)
    Y = torch.tensor(y).to(dev)
    times = 0.0
    for step in range(steps + 1):
        sync(dev)
        t = time.perf_counter()
        ids = torch.tensor(np.concatenate([rng.choice(pos, 3), rng.choice(neg, 13)])).to(dev)
        p = torch.sigmoid(model(x[ids])).view(-1)
        v = loss_fn(p, Y[ids])
        opt.zero_grad(); v.backward(); opt.step()
        sync(dev)
        if step >= 1:
            times += time.perf_counter() - t
    print(json.dumps({"steps_per_second": steps / times}))


def child_neumf(inter, threads, device="cpu"):
    import numpy as np
    import torch
    from libauc.losses import NDCGLoss
    from libauc.optimizers import SONG
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    users, items, per = {}, {}, {}
    with open(inter) as fh:
        cols = [h.split(":")[0] for h in fh.readline().rstrip("\n").split("\t")]
        iu, ii, ir = cols.index("user_id"), cols.index("item_id"), cols.index("rating")
        for line in fh:
            f = line.rstrip("\n").split("\t")
            u = users.setdefault(f[iu], len(users))
            per.setdefault(u, []).append((items.setdefault(f[ii], len(items)), float(f[ir])))
    n_users, n_items = len(users), len(items)
    train = [per[u] for u in range(n_users)]
    offsets = np.cumsum([0] + [len(t) for t in train])
    ideal = np.array([sum((2.0 ** r - 1) / np.log2(j + 2) for j, r in enumerate(sorted([r for _, r in t], reverse=True)))
                      for t in train], dtype=np.float32)
    NeuMF = load_libauc_file("libauc_neumf", "models/neumf.py").NeuMF
    model = NeuMF(n_users, n_items, dropout=0.2, emb_size=64, layers="[64]")
    model.apply(NeuMF.init_weights)
    dev = torch.device(device)
    model = model.to(dev)
    opt = SONG(model.parameters(), lr=1e-3, weight_decay=1e-7, mode="adam")
    loss_fn = NDCGLoss(int(offsets[-1]), n_users, n_items, 10, gamma0=0.1, device=dev)
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(35):
        us = rng.choice(n_users, 64, replace=False)
        items_b, pair_ids, ratings = [], [], []
        for u in us:
            slots = rng.choice(len(train[u]), 10, replace=len(train[u]) < 10)
            rated = {i for i, _ in train[u]}
            negs = [i for i in rng.choice(n_items, 200) if i not in rated][:100]
            while len(negs) < 100:
                negs.append(int(rng.integers(n_items)))
            items_b.append([train[u][k][0] for k in slots] + negs)
            pair_ids.append([offsets[u] + k for k in slots] + [0] * 100)
            ratings.append([train[u][k][1] for k in slots] + [0.0] * 100)
        feed = {"user_id": torch.tensor(us).to(dev), "item_id": torch.tensor(items_b).to(dev), "batch_size": 64}
        batch = {"user_item_id": torch.tensor(pair_ids).to(dev), "user_id": torch.tensor(us).to(dev),
                 "rating": torch.tensor(ratings).to(dev),
                 "num_pos_items": torch.tensor([len(train[u]) for u in us]).to(dev),
                 "ideal_dcg": torch.tensor(ideal[us]).to(dev)}
        batches.append((feed, batch))
    times = 0.0
    for step, (feed, batch) in enumerate(batches):
        sync(dev)
        t = time.perf_counter()
        pred = model(feed)["prediction"]
        loss = loss_fn(pred, batch)
        opt.zero_grad(); loss.backward(); opt.step()
        sync(dev)
        if step >= 5:
            times += time.perf_counter() - t
    print(json.dumps({"steps_per_second": 30 / times}))


if len(sys.argv) > 1 and sys.argv[1] == "--child":
    child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    sys.exit(0)
if len(sys.argv) > 1 and sys.argv[1] == "--child-resnet":
    child_resnet(sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
    sys.exit(0)
if len(sys.argv) > 1 and sys.argv[1] == "--child-densenet":
    child_densenet(sys.argv[2], sys.argv[3], int(sys.argv[4]), *sys.argv[5:6])
    sys.exit(0)
if len(sys.argv) > 1 and sys.argv[1] == "--child-neumf":
    child_neumf(sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
    sys.exit(0)

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--parquet", required=True)
ap.add_argument("--examples", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--images", required=True, help="folder with the embedded t10k-*-ubyte.gz files")
ap.add_argument("--movielens", default=None, help="MovieLens-100k u.inter file (NeuMF rows; skipped if absent)")
args = ap.parse_args()


def xrisk_run(cfg, threads, work, extra=("--epochs", "1")):
    text = open(cfg).read() if os.path.exists(cfg) else cfg
    text = text.replace("[train]\n", f"[train]\nthreads = {threads}\n")
    path = os.path.join(work, "m.toml")
    open(path, "w").write(text)
    out = os.path.join(work, f"run{time.time_ns()}")
    subprocess.run([args.xrisk, "train", "--config", path, "--out", out, "--json", *extra],
                   capture_output=True, text=True, check=True)
    t = json.loads(open(os.path.join(out, "timing.jsonl")).read().strip().splitlines()[-1])
    return t["steps"] / t["seconds"]


def torch_run(kind, threads, *child):
    child = child or ("--child", kind, args.parquet)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), *child, str(threads)],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])["steps_per_second"]




def cell(v):
    v = sorted(v)
    return statistics.median(v), f"{statistics.median(v):,.0f} ({v[0]:,.0f}–{v[-1]:,.0f})"


def cell_d(v, d):
    v = sorted(v)
    return statistics.median(v), f"{statistics.median(v):,.{d}f} ({v[0]:,.{d}f}–{v[-1]:,.{d}f})"


lines = [f"Training steps per second, median of {args.runs} runs (ResNet20: at most 3) (min–max); ratio = "
         "xrisk ÷ peer. MLP 74 → 128 → 1 on protein-kddcup04, 128 rows per step; ResNet20 on 28×28 "
         "Fashion-MNIST, 64 images per step; NeuMF 64/[64] on MovieLens-100k, 64 users × 110 items per "
         "step; DenseNet121 on 3 × 224 × 224 images, 16 per step (at most 2 runs). Protocol in bench/models.py's docstring.", "",
         "| model | loss + optimizer | threads | xrisk steps/s | LibAUC 2.0.1 steps/s | ratio |",
         "|---|---|---|---|---|---|"]
rows = []
for label, cfg, kind in CASES:
    rows.append(("MLP", label, lambda t, w, cfg=cfg: xrisk_run(os.path.join(args.examples, cfg), t, w),
                 lambda t, kind=kind: torch_run(kind, t), args.runs, 0))
rows.append(("ResNet20", "AUCM + PESG",
             lambda t, w: xrisk_run(RESNET_CFG, t, w, ("--max-steps-per-epoch", "20")),
             lambda t: torch_run(None, t, "--child-resnet", args.images), min(args.runs, 3), 2))
if args.movielens and os.path.exists(args.movielens):
    rows.append(("NeuMF", "SONG (NDCG)", lambda t, w: xrisk_run(NEUMF_CFG.format(inter=args.movielens), t, w, ()),
                 lambda t: torch_run(None, t, "--child-neumf", args.movielens), args.runs, 1))
else:
    print("NeuMF rows skipped: xrisk data fetch movielens-100k", file=sys.stderr)
with tempfile.TemporaryDirectory() as work:
    dense = write_densenet_idx(args.images, work)
    rows.append(("DenseNet121", "AUCM + PESG",
                 lambda t, w: xrisk_run(DENSENET_CFG.format(images=dense[0], labels=dense[1]), t, w,
                                        ("--max-steps-per-epoch", "3")),
                 lambda t: torch_run(None, t, "--child-densenet", *dense), min(args.runs, 2), 2))
    for model, label, xr, tr, runs, d in rows:
        for threads in (1, 2):
            xs, ts = [], []
            for _ in range(runs):
                xs.append(xr(threads, work))
                ts.append(tr(threads))
            (xm, xc), (tm, tc) = cell_d(xs, d), cell_d(ts, d)
            print(model, label, threads, xc, tc, file=sys.stderr, flush=True)
            lines.append(f"| {model} | {label} | {threads} | {xc} | {tc} | {xm / tm:.2f}× |")
table = "\n".join(lines)
print(table)
write_block(args.out, "models", "bench/models.sh", "Training steps/s with a model (MLP, ResNet20, NeuMF)", table)
