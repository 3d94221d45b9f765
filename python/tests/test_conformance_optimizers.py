"""Every optimizer of ``xrisk.optimizers`` with its paired ``xrisk.losses`` loss against LibAUC
2.0.1's parameters after 5 steps on a fixed linear model (``conformance/vectors/optimizers.json``
and the MIDAM, SCENT and multi-label PESG cases of ``mil_xc.json``), at the Rust test's
tolerance ``1e-5·|peer| + 1e-6``. The vectors hold LibAUC with two documented fixes (the
reference point starts at the initial weights; PDSCA's branch follows the loss's step); PESG's
cases use LibAUC's momentum form (``compat_2_0_1=True``)."""
import contextlib
import io

import numpy as np
import pytest
import torch

from conftest import Compat, arr, load
from xrisk import losses as L
from xrisk import optimizers as O


def _loss(kind, kwargs, n):
    if kind == "aucm":
        return L.AUCMLoss(device="cpu", **kwargs)
    if kind == "compositional":
        return L.CompositionalAUCLoss(device="cpu", **kwargs)
    if kind == "ap":
        return L.APLoss(data_len=n, device="cpu", **kwargs)
    if kind == "pauc_dro":
        return L.pAUC_DRO_Loss(data_len=n, device="cpu", **kwargs)
    if kind == "pauc_cvar":
        return L.pAUC_CVaR_Loss(data_len=n, pos_len=n, device="cpu", **kwargs)
    if kind == "tpauc_kl":
        return L.tpAUC_KL_Loss(data_len=n, device="cpu", **{k: tuple(v) if isinstance(v, list) else v
                                                            for k, v in kwargs.items()})
    if kind == "tpauc_cvar":
        return L.tpAUC_CVaR_loss(data_length=n, device="cpu", **kwargs)
    return L.CrossEntropyLoss()


@pytest.mark.parametrize("fused", [True, False], ids=["rust-skeleton", "torch-skeleton"])
def test_optimizers_match_libauc(fused):
    """Both formulations of the skeleton: the fused Rust update (CPU float32) and the torch one
    (what runs on GPU and for other dtypes)."""
    doc = load("optimizers.json")
    X, Y = np.asarray(doc["x"], dtype=np.float32), np.asarray(doc["y"], dtype=np.float32)
    c = Compat(1e-5)
    names = set()
    for case in doc["cases"]:
        names.add(case["optimizer"])
        m = torch.nn.Linear(4, 1)
        with torch.no_grad():
            m.weight.copy_(torch.tensor(doc["w0"]).reshape(1, 4)), m.bias.fill_(doc["b0"])
        loss = _loss(case["loss"], case["loss_kwargs"], len(Y))
        cls = getattr(O, case["optimizer"])
        if case["optimizer"] == "PESG":
            opt = cls(m.parameters(), loss_fn=loss, verbose=False, compat_2_0_1=True, **case["kwargs"])
        elif case["optimizer"] == "PDSCA":
            opt = cls(m.parameters(), loss_fn=loss, verbose=False, **case["kwargs"])
        else:
            opt = cls(m.parameters(), **case["kwargs"])
        opt.fused = fused
        for step, ids in enumerate(doc["batches"]):
            x, y, idx = torch.tensor(X[ids]), torch.tensor(Y[ids]), torch.tensor(ids)
            z = m(x).reshape(-1)
            if case["loss"] == "ce":
                v = loss(z, y)
            elif case["loss"] in ("aucm", "compositional"):
                v = loss(torch.sigmoid(z), y)
            else:
                v = loss(torch.sigmoid(z), y, idx)
            opt.zero_grad()
            v.backward()
            opt.step()
            if case["regularizer_after"] is not None and step + 1 == case["regularizer_after"]:
                if case["optimizer"] == "PESG":
                    opt.update_regularizer(decay_factor=2.0)
                else:
                    opt.update_lr(decay_factor=2.0)
        at = case["name"]
        c.values(f"{at}: weight", m.weight, case["weight"])
        c.values(f"{at}: bias", m.bias, [case["bias"]])
        if case["loss"] in ("aucm", "compositional"):
            for k in ("a", "b", "alpha"):
                c.values(f"{at}: {k}", getattr(loss, k), [case[k]])
    c.check()
    assert names == {"PESG", "PDSCA", "SOAP", "SOPA", "SOPAs", "SOTAs", "STACO", "SGD", "Adam", "AdamW", "SogCLR",
                     "iSogCLR", "LARS"}, names


def test_midam_scent_and_multilabel_pesg_match_libauc():
    doc = load("mil_xc.json")
    c = Compat(1e-5)
    seen = {}
    for case in doc["cases"]:
        kind = case["kind"]
        if kind not in ("midam_opt", "scent_opt", "multilabel_pesg"):
            continue
        seen[kind] = seen.get(kind, 0) + 1
        if kind == "midam_opt":
            d, inst = case["dim"], case["inst"]
            bags = torch.tensor(arr(case["bags"]), dtype=torch.float32).reshape(-1, inst, d)
            lin, att = torch.nn.Linear(d, 1), torch.nn.Linear(d, 1)
            w0 = torch.tensor(case["w0"]).reshape(1, d)
            with torch.no_grad():
                lin.weight.copy_(w0), lin.bias.copy_(torch.tensor(case["b0"]))
                att.weight.copy_(w0.flip(1)), att.bias.fill_(0.0)
            softmax = case["mode"] == "softmax"
            params = list(lin.parameters()) + ([] if softmax else list(att.parameters()))
            kw = {"tau": case["tau"]} if softmax else {}
            loss = L.MIDAMLoss(mode=case["mode"], data_len=len(bags), margin=1.0, gamma=0.9, device="cpu", **kw)
            opt = O.MIDAM(params, loss_fn=loss, lr=case["lr"], momentum=case["momentum"],
                          weight_decay=case["weight_decay"])
            for t, (batch, want) in enumerate(zip(case["batches"], case["steps"])):
                ids = torch.tensor(batch["ids"])
                y = torch.tensor(batch["labels"], dtype=torch.float32)
                x = bags[ids]
                phi = lin(x).squeeze(-1)
                if softmax:
                    v = loss(y_pred=torch.exp(phi / case["tau"]).mean(dim=1), y_true=y, index=ids)
                else:
                    w = torch.exp(att(x).squeeze(-1))
                    v = loss(y_pred=((phi * w).mean(dim=1), w.mean(dim=1)), y_true=y, index=ids)
                opt.zero_grad()
                loss.a.grad = loss.b.grad = None
                v.backward()
                opt.step()
                if t == 2:
                    opt.update_lr(decay_factor=2.0)
                    loss.update_smoothing(2.0)
                at = f"{case['name']} step {t}"
                c.values(f"{at}: weight", lin.weight, want["weight"])
                c.values(f"{at}: bias", lin.bias, want["bias"])
                if not softmax:
                    c.values(f"{at}: att_weight", att.weight, want["att_weight"])
                    c.values(f"{at}: att_bias", att.bias, want["att_bias"])
                for k in ("a", "b", "alpha"):
                    c.values(f"{at}: {k}", getattr(loss, k), [want[k]])
        elif kind == "scent_opt":
            kc, dc = case["k"], case["dim"]
            x_all = torch.tensor(arr(case["x"]), dtype=torch.float32).reshape(-1, dc)
            yc = case["y"]
            W = torch.nn.Parameter(torch.tensor(arr(case["w0"]), dtype=torch.float32).reshape(kc, dc))
            loss = L.EntLossClassification(data_size=16)
            opt = O.SCENT([W], lr=case["lr"], momentum=case["momentum"], dampening=case["dampening"],
                          nesterov=case["nesterov"], weight_decay=case["weight_decay"])
            for t, (batch, want) in enumerate(zip(case["batches"], case["steps"])):
                ids, classes = batch["ids"], batch["classes"]
                sc = x_all[ids] @ W[classes].T
                own = torch.tensor([classes.index(yc[i]) for i in ids])
                lg = sc - sc.gather(1, own[:, None])
                mask = torch.zeros_like(lg, dtype=torch.bool)
                mask[torch.arange(len(ids)), own] = True
                v = loss(lg.masked_fill(mask, -float("inf")), torch.tensor(ids))["loss"]
                opt.zero_grad()
                v.backward()
                opt.step()
                c.values(f"{case['name']} step {t}: w", W, want["w"])
        else:
            t_ = case["n_tasks"]
            xm = torch.tensor(arr(case["x"]), dtype=torch.float32).reshape(-1, 4)
            lm = torch.tensor(arr(case["labels"]), dtype=torch.float32).reshape(-1, t_)
            lin = torch.nn.Linear(4, t_)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(arr(case["w0"]), dtype=torch.float32).reshape(t_, 4))
                lin.bias.fill_(case["b0"])
            loss = L.MultiLabelAUCMLoss(margin=1.0, version="v1", num_labels=t_, device="cpu")
            with contextlib.redirect_stdout(io.StringIO()):
                opt = O.PESG(lin.parameters(), loss_fn=loss, lr=case["lr"], momentum=case["momentum"],
                             epoch_decay=0.0, compat_2_0_1=True)
            for t, (batch, want) in enumerate(zip(case["batches"], case["steps"])):
                ids = batch["ids"]
                v = loss(torch.sigmoid(lin(xm[ids])), lm[ids], task_id=torch.tensor(batch["tasks"]))
                opt.zero_grad()
                v.backward()
                opt.step()
                at = f"{case['name']} step {t}"
                c.values(f"{at}: weight", lin.weight, want["weight"])
                c.values(f"{at}: bias", lin.bias, want["bias"])
                for k in ("a", "b", "alpha"):
                    c.values(f"{at}: {k}", getattr(loss, k), want[k])
    c.check()
    assert seen == {"midam_opt": 3, "scent_opt": 3, "multilabel_pesg": 2}, seen


def test_pesg_default_momentum_is_heavy_ball_and_differs_from_compat():
    """Without ``compat_2_0_1`` PESG takes heavy-ball momentum (``buf = μ·buf + g``), the fixed
    math (docs/libauc-differences.md #5); the two forms differ from the second step on."""
    torch.manual_seed(0)
    x, y = torch.randn(16, 3), torch.tensor([1.0, 0.0] * 8)
    out = []
    for compat in (False, True):
        m = torch.nn.Linear(3, 1)
        with torch.no_grad():
            m.weight.fill_(0.1), m.bias.zero_()
        loss = L.AUCMLoss(device="cpu")
        opt = O.PESG(m.parameters(), loss_fn=loss, lr=0.1, epoch_decay=0.0, weight_decay=0.0, compat_2_0_1=compat)
        for _ in range(2):
            v = loss(torch.sigmoid(m(x)), y)
            opt.zero_grad()
            v.backward()
            g = m.weight.grad.clone().clamp(-1, 1)
            opt.step()
        out.append(m.weight.detach().clone())
    assert not torch.allclose(out[0], out[1])
