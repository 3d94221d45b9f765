"""``torch.distributed``: the losses gather scores, labels and ids across the processes (with
gradient, as LibAUC 2.0's), so two ``gloo`` processes on loopback, each with half of every global
batch and their gradients averaged (what DistributedDataParallel does), end with the same
parameters and loss state as one process on the global batches."""
import datetime
import os
import socket
import tempfile

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

STEPS, HALF = 6, 8


def _batches():
    rng = np.random.default_rng(5)
    y = (np.arange(64) % 4 == 0).astype(np.float32)
    out = []
    for _ in range(STEPS):
        pos = rng.choice(np.flatnonzero(y == 1), 4, replace=False)
        neg = rng.choice(np.flatnonzero(y == 0), 12, replace=False)
        ids = np.concatenate([pos[:2], neg[:6], pos[2:], neg[6:]])  # rank 0's half, then rank 1's
        out.append(ids)
    return y, out


def _train(kind, rank=0, world=1):
    from xrisk import losses as L
    from xrisk import optimizers as O
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x_all = torch.randn(64, 5, generator=g)
    y_all, batches = _batches()
    y_all = torch.tensor(y_all)
    model = torch.nn.Linear(5, 1)
    loss = L.APLoss(data_len=64) if kind == "ap" else L.pAUC_DRO_Loss(data_len=64)
    opt = O.SOAP(model.parameters(), lr=0.05) if kind == "ap" else O.SOPAs(model.parameters(), lr=0.05)
    values = []
    for ids in batches:
        mine = ids if world == 1 else ids[rank * HALF:(rank + 1) * HALF]
        idx = torch.tensor(mine)
        v = loss(torch.sigmoid(model(x_all[idx])).reshape(-1), y_all[idx], idx)
        opt.zero_grad()
        v.backward()
        if world > 1:
            for p in model.parameters():
                dist.all_reduce(p.grad)
                p.grad.div_(world)
        opt.step()
        values.append(v.item())
    state = loss.state_dict()["_extra_state"]
    return [p.detach().clone() for p in model.parameters()], values, state


def _worker(rank, world, port, kind, out):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=120))
    try:
        params, values, state = _train(kind, rank, world)
        # Whole or absent: the test reads only a results file that was completely written.
        path = os.path.join(out, f"rank{rank}.pt")
        torch.save({"params": params, "values": values, "state": state}, path + ".tmp")
        os.replace(path + ".tmp", path)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
@pytest.mark.parametrize("kind", ["ap", "pauc_dro"])
def test_two_gloo_processes_equal_one_process_on_the_global_batch(kind):
    params, values, state = _train(kind)
    with tempfile.TemporaryDirectory() as out:
        ctx = mp.spawn(_worker, args=(2, _free_port(), kind, out), nprocs=2, join=False)
        for p in ctx.processes:
            p.join(timeout=300)
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
        paths = [os.path.join(out, f"rank{r}.pt") for r in range(2)]
        # A rank that fails while training writes no results file and fails the test. Once
        # both ranks have written theirs, gloo's teardown in `destroy_process_group` can still
        # abort a process on a loaded machine ("terminate called without an active exception",
        # seen once in a CI run beside a cargo build): that is torch's exit, not these results.
        missing = [p for p in paths if not os.path.exists(p)]
        assert not missing, f"no results from {missing}; exit codes {[p.exitcode for p in ctx.processes]}"
        ranks = [torch.load(p, weights_only=False) for p in paths]
    for r in ranks:
        assert np.allclose(r["values"], values, rtol=1e-5, atol=1e-7)
        for a, b in zip(r["params"], params):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-7), (a, b)
        for key in state:
            assert np.allclose(np.asarray(r["state"][key]), np.asarray(state[key]), rtol=1e-6, atol=1e-8)
