"""Ranking side by side on MovieLens-100k (issue 4): xrisk (ListwiseCE, SONG with and without
warm-up, K-SONG prac and theo) and LibAUC 2.0.1 on PyTorch (ListwiseCE, SONG with warm-up),
same protocol (leave-last-out, 100 sampled negatives per test user), same model (NeuMF 64/[64]),
same optimizer settings (SONG, adam, lr 1e-3, weight decay 1e-7), same threads, 3 seeds.
Both sides draw their own random negatives and batches from the same distributions.
Writes the table between the ranking markers of BENCHMARKS.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from libauc.losses import ListwiseCELoss, NDCGLoss
import importlib.util

import libauc

# libauc.models/__init__ imports its GNNs (torch_geometric, not installed): load NeuMF's file alone.
_spec = importlib.util.spec_from_file_location(
    "libauc_neumf", os.path.join(os.path.dirname(libauc.__file__), "models", "neumf.py"))
_neumf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_neumf)
NeuMF = _neumf.NeuMF
from libauc.optimizers import SONG
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fmt, write_block  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--xrisk", required=True)
ap.add_argument("--inter", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--seeds", default="0,1,2")
ap.add_argument("--epochs", type=int, default=20)
ap.add_argument("--warmup", type=int, default=5)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--mslr", default=None, help="folder with msn1.fold1.{train,test}.5k.txt (xrisk rows only)")
args = ap.parse_args()
SEEDS = [int(s) for s in args.seeds.split(",")]
NUM_POS, NUM_NEG, USERS_PER_BATCH, EVAL_NEG, K = 10, 100, 64, 100, 10
torch.set_num_threads(args.threads)


# ---------------- xrisk ----------------
ML_DATA = f"""[data]
format = "movielens"
train = "{args.inter}"
eval_negatives = {EVAL_NEG}
[model]
kind = "neumf"
"""


def xrisk_run(loss_lines, warmup, epochs, seed, data=ML_DATA, sampler=None):
    sampler = sampler or f"batch_size = {USERS_PER_BATCH}\nnum_pos = {NUM_POS}\nnum_neg = {NUM_NEG}"
    cfg = f"""{data}
[loss]
{loss_lines}
[optimizer]
kind = "song"
mode = "adam"
lr = 1e-3
weight_decay = 1e-7
[sampler]
{sampler}
[train]
lr_schedule = "constant"
epochs = {epochs}
warmup_epochs = {warmup}
seed = {seed}
threads = {args.threads}
"""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "run.toml")
        with open(p, "w") as fh:
            fh.write(cfg)
        out = os.path.join(d, "out")
        subprocess.run([args.xrisk, "train", "--config", p, "--out", out, "--json"],
                       check=True, capture_output=True, text=True)
        lines = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
        secs = [json.loads(l)["seconds"] for l in open(os.path.join(out, "timing.jsonl"))]
    last = lines[-1]["test"]
    return {"ndcg5": last["ndcg@5"], "ndcg10": last["ndcg@10"], "ndcg20": last["ndcg@20"],
            "sec": statistics.mean(secs)}


# ---------------- LibAUC / PyTorch ----------------
def load_inter(path):
    users, items, rows = {}, {}, []
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        cols = [h.split(":")[0] for h in header]
        iu, ii, ir, it = (cols.index(c) for c in ["user_id", "item_id", "rating", "timestamp"])
        for line in fh:
            f = line.rstrip("\n").split("\t")
            u = users.setdefault(f[iu], len(users))
            i = items.setdefault(f[ii], len(items))
            rows.append((u, i, float(f[ir]), float(f[it])))
    return len(users), len(items), rows


def split(n_users, n_items, rows, seed):
    rng = np.random.default_rng(seed)
    per = [[] for _ in range(n_users)]
    for u, i, r, t in rows:
        per[u].append((t, i, r))
    train, test = [], []
    for u, lst in enumerate(per):
        lst.sort(key=lambda e: e[0])
        if len(lst) <= 2:
            train.append([(i, r) for _, i, r in lst])
            continue
        rated = {i for _, i, _ in lst}
        free = np.array([i for i in range(n_items) if i not in rated])
        negs = rng.choice(free, min(EVAL_NEG, len(free)), replace=False)
        test.append((u, lst[-1][1], lst[-1][2], negs))
        train.append([(i, r) for _, i, r in lst[:-2]])
    return train, test


def dcg(ratings, k=None):
    r = sorted(ratings, reverse=True)[:k]
    return sum((2.0 ** y - 1) / np.log2(j + 2) for j, y in enumerate(r))


def libauc_run(kind, warmup, epochs, seed, n_users, n_items, rows):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    train, test = split(n_users, n_items, rows, seed)
    offsets = np.cumsum([0] + [len(t) for t in train])
    n_pairs = int(offsets[-1])
    rated = [set(i for i, _ in t) for t in train]
    ideal = np.array([dcg([r for _, r in t]) for t in train], dtype=np.float32)
    model = NeuMF(n_users, n_items, dropout=0.2, emb_size=64, layers="[64]")
    model.apply(NeuMF.init_weights)

    def make_opt():
        return SONG(model.parameters(), lr=1e-3, weight_decay=1e-7, mode="adam")

    def make_loss(phase):
        if phase == "listwise":
            return ListwiseCELoss(n_pairs, NUM_POS, gamma=0.1, device=torch.device("cpu"))
        return NDCGLoss(n_pairs, n_users, n_items, NUM_POS, gamma0=0.1, device=torch.device("cpu"))

    cursor = [0] * n_users
    order = [rng.permutation(len(t)) for t in train]

    def positives(u):
        out = []
        while len(out) < NUM_POS:
            if cursor[u] == len(order[u]):
                order[u] = rng.permutation(len(train[u]))
                cursor[u] = 0
            out.append(int(order[u][cursor[u]]))
            cursor[u] += 1
        return out

    def negatives(u):
        out = []
        while len(out) < NUM_NEG:
            i = int(rng.integers(n_items))
            if i not in rated[u] and i not in out:
                out.append(i)
        return out

    def evaluate():
        model.eval()
        with torch.no_grad():
            us = torch.tensor([t[0] for t in test])
            its = torch.tensor(np.array([[t[1]] + list(t[3]) for t in test]))
            s = model({"user_id": us, "item_id": its, "batch_size": len(test)})["prediction"].numpy()
        model.train()
        rank = (s[:, 1:] > s[:, :1]).sum(1) + 1
        gains = np.array([2.0 ** t[2] - 1 for t in test])
        out = {}
        for k in [5, 10, 20]:
            out[f"ndcg{k}"] = float(np.mean(np.where(rank <= k, gains / np.log2(rank + 1), 0.0) / gains))
        return out

    phases = ["listwise"] * (warmup if kind == "song" else 0) + [kind if kind == "song" else "listwise"] * epochs
    opt, loss_fn, current = make_opt(), None, None
    secs = []
    users_all = np.array([u for u in range(n_users) if len(train[u]) > 0])
    for phase in phases:
        if phase != current:
            if current == "listwise" and phase == "song":
                model.reset_last_layer()
                opt = make_opt()
            loss_fn, current = make_loss(phase), phase
        t0 = time.perf_counter()
        perm = rng.permutation(users_all)
        for b in range(len(perm) // USERS_PER_BATCH):
            us = perm[b * USERS_PER_BATCH:(b + 1) * USERS_PER_BATCH]
            items, pair_ids, ratings = [], [], []
            for u in us:
                slots = positives(u)
                pos_items = [train[u][s][0] for s in slots]
                items.append(pos_items + negatives(u))
                pair_ids.append([offsets[u] + s for s in slots] + [0] * NUM_NEG)
                ratings.append([train[u][s][1] for s in slots] + [0.0] * NUM_NEG)
            feed = {"user_id": torch.tensor(us), "item_id": torch.tensor(items), "batch_size": len(us)}
            pred = model(feed)["prediction"]
            batch = {"user_item_id": torch.tensor(pair_ids), "user_id": torch.tensor(us),
                     "rating": torch.tensor(ratings), "num_pos_items": torch.tensor([len(train[u]) for u in us]),
                     "ideal_dcg": torch.tensor(ideal[us])}
            loss = loss_fn(pred, batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
        secs.append(time.perf_counter() - t0)
    r = evaluate()
    r["sec"] = statistics.mean(secs)
    return r




n_users, n_items, rows = load_inter(args.inter)
X = {
    "ListwiseCE": ('kind = "listwise_ce"\ngamma = 0.1', 0, args.warmup + args.epochs),
    "SONG (no warm-up)": ('kind = "ndcg"\ngamma0 = 0.1', 0, args.warmup + args.epochs),
    "SONG (warm-up)": ('kind = "ndcg"\ngamma0 = 0.1', args.warmup, args.epochs),
    f"K-SONG prac (K = {K})": (f'kind = "ndcg"\ngamma0 = 0.1\ntopk = {K}\ntopk_version = "prac"\neta0 = 0.1', args.warmup, args.epochs),
    f"K-SONG theo (K = {K})": (f'kind = "ndcg"\ngamma0 = 0.1\ntopk = {K}\ntopk_version = "theo"\neta0 = 0.1', args.warmup, args.epochs),
}
rows_out = []
for name, (loss, w, e) in X.items():
    rs = [xrisk_run(loss, w, e, s) for s in SEEDS]
    print(name, rs, file=sys.stderr, flush=True)
    rows_out.append(("xrisk", name, rs))
for name, kind in [("ListwiseCE", "listwise"), ("SONG (warm-up)", "song")]:
    w, e = (0, args.warmup + args.epochs) if kind == "listwise" else (args.warmup, args.epochs)
    rs = [libauc_run(kind, w, e, s, n_users, n_items, rows) for s in SEEDS]
    print("LibAUC", name, rs, file=sys.stderr, flush=True)
    rows_out.append(("LibAUC 2.0.1", name, rs))

mslr_rows = []
if args.mslr:
    data = f"""[data]
format = "svmlight"
train = "{args.mslr}/msn1.fold1.train.5k.txt"
test = "{args.mslr}/msn1.fold1.test.5k.txt"
normalize = "log_standard"
[model]
kind = "mlp"
hidden = [128]
"""
    for name, (loss, w, e) in X.items():
        loss = loss.replace("gamma0 = 0.1", "gamma0 = 0.3").replace(f"topk = {K}", "topk = 5")
        name = name.replace(f"K = {K}", "K = 5")
        rs = [xrisk_run(loss, w, e, s, data=data, sampler="batch_size = 16\nnum_pos = 5\nnum_neg = 20") for s in SEEDS]
        print("MSLR", name, rs, file=sys.stderr, flush=True)
        mslr_rows.append(("xrisk", name, rs))

lines = [
    f"MovieLens-100k ({n_users} users, {n_items} items), leave-last-out: the latest interaction of each user is "
    f"ranked against {EVAL_NEG} sampled items the user never rated. NeuMF (64, [64], dropout 0.2); SONG optimizer, "
    f"adam, lr 1e-3, weight decay 1e-7; {USERS_PER_BATCH} users × ({NUM_POS} positives + {NUM_NEG} negatives) per batch; "
    f"{args.warmup} ListwiseCE warm-up epochs where marked, then {args.epochs} epochs ({args.warmup + args.epochs} "
    f"without warm-up); γ₀ = 0.1; K-SONG η₀ = 0.1. {len(SEEDS)} seeds (mean ± std), {args.threads} threads on both sides; "
    f"test metrics after the last epoch; seconds = mean training time per epoch.",
    "",
    "| implementation | method | NDCG@5 | NDCG@10 | NDCG@20 | s/epoch |",
    "|---|---|---|---|---|---|",
]
for impl, name, rs in rows_out:
    lines.append(f"| {impl} | {name} | {fmt([r['ndcg5'] for r in rs])} | {fmt([r['ndcg10'] for r in rs])} | "
                 f"{fmt([r['ndcg20'] for r in rs])} | {statistics.mean(r['sec'] for r in rs):.2f} |")
def n_queries(path):
    return len({line.split()[1] for line in open(path) if line.strip()})


if mslr_rows:
    q_train = n_queries(f"{args.mslr}/msn1.fold1.train.5k.txt")
    q_test = n_queries(f"{args.mslr}/msn1.fold1.test.5k.txt")
    lines += [
        "",
        f"MSLR-WEB10K subset (rankeval's fold-1 5k-row train and test files: {q_train} + {q_test} queries, "
        "features log-standardised on the training rows (`normalize = \"log_standard\"`), graded labels), MLP [128]; SONG optimizer, adam, lr 1e-3; 16 queries × (5 relevant + 20 other documents) per "
        f"batch; same epochs and warm-up as above; γ₀ = 0.3; K-SONG K = 5, η₀ = 0.1. NDCG over every test query with a "
        "relevant document. xrisk only: LibAUC's NDCGLoss has no per-query list length.",
        "",
        "| implementation | method | NDCG@5 | NDCG@10 | NDCG@20 | s/epoch |",
        "|---|---|---|---|---|---|",
    ]
    for impl, name, rs in mslr_rows:
        lines.append(f"| {impl} | {name} | {fmt([r['ndcg5'] for r in rs])} | {fmt([r['ndcg10'] for r in rs])} | "
                     f"{fmt([r['ndcg20'] for r in rs])} | {statistics.mean(r['sec'] for r in rs):.3f} |")
table = "\n".join(lines)
print(table)
write_block(args.out, "ranking", "bench/ranking.sh", "Ranking (MovieLens-100k, MSLR-WEB10K subset)", table)
