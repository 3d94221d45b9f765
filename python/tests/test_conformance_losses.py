"""Every LibAUC loss of ``xrisk.losses`` against the committed LibAUC 2.0.1 vectors — the JSON
files the Rust tests read, at their tolerances — through the torch modules: the value, the
gradient that autograd delivers to the scores (and to ``a``, ``b``) and the per-sample state
after every call."""
import numpy as np
import torch

from conftest import Compat, arr, host, load, load_f64
from xrisk import losses as L

F32_REL, F64_REL, F64_ABS = 1e-5, 2e-6, 1e-7


def _score_loss(case):
    kind, n = case["loss"], case.get("data_len", 0)
    surr = {"squared_hinge": "squared_hinge", "logistic": "logistic", "squared": "squared",
            "barrier_hinge": "barrier_hinge"}
    if kind == "aucm":
        loss = L.AUCMLoss(margin=case["margin"], version=case["version"], device="cpu")
        with torch.no_grad():
            loss.a.fill_(case["a"]), loss.b.fill_(case["b"]), loss.alpha.fill_(case["alpha"])
        return loss
    if kind == "compositional":
        loss = L.CompositionalAUCLoss(margin=case["margin"], k=case["k"], device="cpu")
        with torch.no_grad():
            loss.a.fill_(case["a"]), loss.b.fill_(case["b"]), loss.alpha.fill_(case["alpha"])
        return loss
    if kind == "ap":
        return L.APLoss(data_len=n, gamma=case["gamma"], margin=case["margin"], device="cpu")
    if kind == "pauc_dro":
        return L.pAUC_DRO_Loss(data_len=n, gamma=case["gamma"], margin=case["margin"], Lambda=case["lambda"],
                               device="cpu")
    if kind == "pauc_cvar":
        return L.pAUC_CVaR_Loss(data_len=n, pos_len=n, margin=case["margin"], beta=case["beta"], eta=case["eta"],
                                device="cpu")
    if kind == "tpauc_kl":
        return L.tpAUC_KL_Loss(data_len=n, tau=case["tau"], Lambda=case["lambda"], gammas=tuple(case["gammas"]),
                               margin=case["margin"], device="cpu")
    if kind == "tpauc_cvar":
        return L.tpAUC_CVaR_loss(data_length=n, threshold=case["margin"], alpha=case["alpha"], beta_0=case["beta_0"],
                                 beta_1=case["beta_1"], theta_0=case["theta_0"], theta_1=case["theta_1"], device="cpu")
    if kind == "pairwise":
        hp = (case["hparam"], case["scale"]) if "scale" in case else case["hparam"]
        return L.PairwiseAUCLoss(surr_loss=surr[case["surrogate"]], hparam=hp)
    if kind == "focal":
        return L.FocalLoss(alpha=case["alpha"], gamma=case["gamma"])
    if kind == "ce":
        return L.CrossEntropyLoss()
    raise AssertionError(kind)


# The vectors' state names → the kernels' state names.
STATE = {"ap": {"u_all": "u_all", "u_pos": "u_pos"}, "pauc_dro": {"u": "u"}, "pauc_cvar": {"u": "s"},
         "tpauc_kl": {"u": "u", "w": "w"}, "tpauc_cvar": {"u": "u", "s1": "s1", "y": "y", "s2": "s2"}}


def _call(loss, kind, call):
    s = torch.tensor(arr(call["scores"]), dtype=torch.float32, requires_grad=True)
    y = torch.tensor(arr(call["labels"]), dtype=torch.float32)
    if kind in ("aucm", "compositional", "pairwise", "focal", "ce"):
        v = loss(s, y)
    else:
        v = loss(s, y, torch.tensor(call["ids"]))
    for p in (getattr(loss, "a", None), getattr(loss, "b", None)):
        if p is not None:
            p.grad = None
    v.backward()
    return v, s.grad


def test_score_losses_match_libauc():
    doc, ref = load("losses.json"), load_f64("losses.json")
    c = Compat(F32_REL, F64_REL, F64_ABS)
    kinds = set()
    for ci, case in enumerate(doc["cases"]):
        kind = case["loss"]
        kinds.add(kind)
        loss = _score_loss(case)
        for k, call in enumerate(case["calls"]):
            w64 = ref["cases"][ci]["calls"][k] if ref else None
            at = f"{case['name']} call {k}"
            v, g = _call(loss, kind, call)
            # SOAP's value cancels on a first visit; f32 state leaves ~1e-7 (Rust test: same floor).
            c.abs64 = 1e-6
            c.values(f"{at}: loss", v, call["loss"], None if w64 is None else w64["loss"])
            c.abs64 = F64_ABS
            c.values(f"{at}: grad", g, call["grad"], None if w64 is None else w64["grad"])
            if kind == "aucm":
                c.values(f"{at}: grad_a", loss.a.grad, call["grad_a"], None if w64 is None else w64["grad_a"])
                c.values(f"{at}: grad_b", loss.b.grad, call["grad_b"], None if w64 is None else w64["grad_b"])
            if kind in STATE:
                st = loss.state_dict()["_extra_state"]
                for vec_key, kernel_key in STATE[kind].items():
                    c.values(f"{at}: {vec_key}", st[kernel_key], call[vec_key],
                             None if w64 is None else w64[vec_key])
    c.check()
    assert kinds == {"aucm", "compositional", "ap", "pauc_dro", "pauc_cvar", "tpauc_kl", "tpauc_cvar", "pairwise",
                     "focal", "ce"}
    assert c.compared > 20000


def test_multilabel_losses_match_libauc():
    doc, ref = load("losses_multilabel.json"), load_f64("losses_multilabel.json")
    c = Compat(F32_REL, F64_REL, F64_ABS)
    for ci, case in enumerate(doc["cases"]):
        t = case["n_tasks"]
        if case["loss"] == "multilabel_aucm":
            loss = L.MultiLabelAUCMLoss(margin=case["margin"], version=case["version"], num_labels=t, device="cpu")
            with torch.no_grad():
                loss.a.copy_(torch.tensor(case["a"])), loss.b.copy_(torch.tensor(case["b"]))
                loss.alpha.copy_(torch.tensor(case["alpha"]))
        else:
            loss = L.meanAveragePrecisionLoss(data_len=case["data_len"], num_labels=t, margin=case["margin"],
                                              gamma=case["gamma"], top_k=case["top_k"], device="cpu")
        for k, call in enumerate(case["calls"]):
            w64 = ref["cases"][ci]["calls"][k] if ref else None
            s = torch.tensor(arr(call["scores"]), dtype=torch.float32).reshape(-1, t).requires_grad_()
            y = torch.tensor(arr(call["labels"]), dtype=torch.float32).reshape(-1, t)
            tasks = torch.tensor(call["tasks"], dtype=torch.long)
            if case["loss"] == "multilabel_aucm":
                v = loss(s, y, task_id=tasks)
            else:
                v = loss(s, y, torch.tensor(call["ids"]), task_id=tasks)
            v.backward()
            at = f"{case['name']} call {k}"
            c.values(f"{at}: loss", v, call["loss"], None if w64 is None else w64["loss"])
            c.values(f"{at}: grad", s.grad, call["grad"], None if w64 is None else w64["grad"])
            if case["loss"] == "map":
                st = loss.state_dict()["_extra_state"]
                for key in ("u_all", "u_pos"):
                    c.values(f"{at}: {key}", st[key], call[key], None if w64 is None else w64[key])
    c.check()
    assert c.compared > 1000


def test_the_check_catches_a_small_error():
    """A 0.1 % error in one gradient fails the comparison (the tolerance can fail)."""
    doc = load("losses.json")
    case = next(c for c in doc["cases"] if c["loss"] == "ap")
    loss = _score_loss(case)
    c = Compat(F32_REL, F64_REL, F64_ABS)
    _, g = _call(loss, "ap", case["calls"][0])
    c.values("grad", host(g) * 1.001, case["calls"][0]["grad"])
    assert c.failures
