"""Exact resume through ``state_dict()`` (losses and optimizers), inputs of any float dtype and
device, and the samplers (seeded, replayable, split over ranks)."""
import copy
import io

import numpy as np
import pytest
import torch

from xrisk import losses as L
from xrisk import optimizers as O
from xrisk.sampler import DistributedDualSampler, DualSampler, TriSampler


def _data(n=64, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (torch.arange(n) % 4 == 0).float()
    return x, y


def _run(model, loss, opt, x, y, batches, with_ids):
    out = []
    for ids in batches:
        p = torch.sigmoid(model(x[ids])).reshape(-1)
        v = loss(p, y[ids], torch.tensor(ids)) if with_ids else loss(p, y[ids])
        opt.zero_grad()
        v.backward()
        opt.step()
        out.append(v.item())
    return out


@pytest.mark.parametrize("kind", ["ap", "aucm", "tpauc_cvar"])
def test_resume_from_state_dicts_equals_the_uninterrupted_run(kind):
    x, y = _data()
    rng = np.random.default_rng(1)
    batches = [np.concatenate([rng.choice(np.flatnonzero(y == 1), 4, replace=False),
                               rng.choice(np.flatnonzero(y == 0), 12, replace=False)]) for _ in range(8)]

    def build():
        torch.manual_seed(3)
        model = torch.nn.Linear(5, 1)
        if kind == "ap":
            loss = L.APLoss(data_len=64)
            opt = O.SOAP(model.parameters(), lr=0.01, epoch_decay=0.01)
        elif kind == "aucm":
            loss = L.AUCMLoss(device="cpu")
            opt = O.PESG(model.parameters(), loss_fn=loss, lr=0.1)
        else:
            loss = L.tpAUC_CVaR_loss(data_length=64)
            opt = O.STACO(model.parameters(), lr=0.01)
        return model, loss, opt

    with_ids = kind != "aucm"
    model, loss, opt = build()
    whole = _run(model, loss, opt, x, y, batches, with_ids)

    model, loss, opt = build()
    first = _run(model, loss, opt, x, y, batches[:4], with_ids)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "loss": loss.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    model, loss, opt = build()
    model.load_state_dict(saved["model"])
    loss.load_state_dict(saved["loss"])
    opt.load_state_dict(saved["opt"])
    if kind == "aucm":  # the optimizer steps the loss's a, b, alpha: they are in the loss's state dict
        assert "a" in saved["loss"] and "alpha" in saved["loss"]
    second = _run(model, loss, opt, x, y, batches[4:], with_ids)
    assert first + second == whole


def test_float64_inputs_get_float64_gradients():
    s = torch.rand(8, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 0.0] * 4)
    v = L.APLoss(data_len=8)(s, y, torch.arange(8))
    v.backward()
    assert v.dtype == torch.float64 and s.grad.dtype == torch.float64
    assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_inputs_get_cuda_gradients():
    s = torch.rand(8, device="cuda", requires_grad=True)
    v = L.APLoss(data_len=8)(s, torch.tensor([1.0, 0.0] * 4, device="cuda"), torch.arange(8, device="cuda"))
    v.backward()
    assert v.device.type == "cuda" and s.grad.device.type == "cuda"


def test_dual_sampler_batches_are_seeded_and_replayable():
    labels = (np.arange(100) % 10 == 0).astype(int)
    a = DualSampler(None, 20, labels=labels, sampling_rate=0.25, random_seed=7)
    epochs = [list(a) for _ in range(3)]
    assert len(epochs[0]) == len(a) == a.num_batches * 20
    for ep in epochs:
        for b in range(a.num_batches):
            batch = ep[b * 20:(b + 1) * 20]
            assert all(labels[i] == 1 for i in batch[:5]) and all(labels[i] == 0 for i in batch[5:])
    assert epochs[0] != epochs[1]
    b = DualSampler(None, 20, labels=labels, sampling_rate=0.25, random_seed=7)
    b.set_epoch(2)
    assert list(b) == epochs[2]  # a resumed run sees the same epoch
    b.set_epoch(0)
    assert list(b) == epochs[0]
    c = DualSampler(None, 20, labels=labels, sampling_rate=0.25, random_seed=8)
    assert list(c) != epochs[0]


def test_distributed_dual_sampler_splits_the_global_batches():
    labels = (np.arange(120) % 6 == 0).astype(int)
    whole = list(DualSampler(None, 16, labels=labels, sampling_rate=0.25, random_seed=3))
    parts = [list(DistributedDualSampler(None, 8, labels=labels, sampling_rate=0.25, random_seed=3, rank=r,
                                         num_replicas=2)) for r in range(2)]
    assert parts[0] == whole[0::2] and parts[1] == whole[1::2]


def test_tri_sampler_yields_sample_and_task_pairs():
    rng = np.random.default_rng(0)
    labels = (rng.random((60, 3)) < 0.3).astype(int)
    labels[0] = 1
    labels[1] = 0
    s = TriSampler(None, 8, sampling_rate=0.5, labels=labels, random_seed=1)
    pairs = list(s)
    assert len(pairs) == len(s)
    for k in range(0, len(pairs), 8):
        group = pairs[k:k + 8]
        t = group[0][1]
        assert all(p[1] == t for p in group)
        assert all(labels[i, t] == 1 for i, _ in group[:4]) and all(labels[i, t] == 0 for i, _ in group[4:])
