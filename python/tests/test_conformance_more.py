"""The ranking, multiple-instance, extreme-classification and contrastive losses of
``xrisk.losses`` against the committed LibAUC 2.0.1 vectors, at the Rust tests' tolerances,
end to end through torch (for the contrastive losses the gradient reaches the features through
torch's normalisation and matrix products)."""
import numpy as np
import torch

from conftest import Compat, arr, load, load_f64
from xrisk import losses as L


def _ref(ref, ci, k):
    return None if ref is None else ref["cases"][ci]["calls"][k]


def _get(w, key):
    return None if w is None else w[key]


def test_ranking_losses_match_libauc():
    doc, ref = load("losses_ranking.json"), load_f64("losses_ranking.json")
    p, ng = doc["num_pos"], doc["num_neg"]
    width = p + ng
    seen = set()
    for ci, case in enumerate(doc["cases"]):
        kind = case["kind"]
        seen.add(kind)
        # As the Rust test: K-SONG's f32 thresholds amplified by σ((h − λ)/τ₁) get 5e-5 against float64.
        c = Compat(1e-4, 5e-5 if kind.startswith("ksong") else 2e-6, 1e-7)
        if kind == "listwise_ce":
            loss = L.ListwiseCELoss(doc["n_pairs"], p, case["gamma"])
        else:
            loss = L.NDCGLoss(doc["n_pairs"], doc["n_users"] - 1, doc["n_items"], p, gamma0=case["gamma0"],
                              topk=case["topk"], topk_version="prac" if kind == "ksong_prac" else "theo")
        for k, call in enumerate(case["calls"]):
            w64 = _ref(ref, ci, k)
            s = torch.tensor(arr(call["scores"]), dtype=torch.float32).reshape(-1, width).requires_grad_()
            rows = s.shape[0]
            batch = {"user_id": torch.tensor(call["user_id"]),
                     "user_item_id": torch.tensor(call["user_item_id"]).reshape(rows, width),
                     "rating": torch.tensor(arr(call["rating"]), dtype=torch.float32).reshape(rows, width),
                     "num_pos_items": torch.tensor(arr(call["num_pos_items"])),
                     "ideal_dcg": torch.tensor(arr(call["ideal_dcg"]))}
            v = loss(s, batch)
            v.backward()
            at = f"case {ci} ({kind}) call {k}"
            c.values(f"{at}: loss", v, call["loss"], _get(w64, "loss"))
            c.values(f"{at}: grad", s.grad, call["grad"], _get(w64, "grad"))
            st = loss.state_dict()["_extra_state"]
            if kind == "listwise_ce":
                c.values(f"{at}: u", np.exp(st["log_u"].astype(np.float64)), call["u"], _get(w64, "u"))
            else:
                for key in ("u", "lambda_q", "s_q"):
                    c.values(f"{at}: {key}", st[key], call[key], _get(w64, key))
        c.check()
    assert seen == {"listwise_ce", "song", "ksong_prac", "ksong_theo"}


def _masked(v):
    return np.array([-np.inf if x is None else x for x in v], dtype=np.float32)


def test_mil_and_xc_losses_match_libauc():
    doc, ref = load("mil_xc.json"), load_f64("mil_xc.json")
    counts = {}
    for ci, case in enumerate(doc["cases"]):
        kind = case["kind"]
        if kind not in ("midam_loss", "ent_loss", "mpauc"):
            continue
        counts[kind] = counts.get(kind, 0) + 1
        c = Compat(1e-4, 2e-6, 1e-7)
        if kind == "midam_loss":
            if case["mode"] == "softmax":
                loss = L.MIDAMLoss(mode="softmax", data_len=case["data_len"], margin=case["margin"], tau=case["tau"],
                                   gamma=case["gamma"], device="cpu")
            else:
                loss = L.MIDAMLoss(mode="attention", data_len=case["data_len"], margin=case["margin"],
                                   gamma=case["gamma"], device="cpu")
            with torch.no_grad():
                loss.a.fill_(case["a"]), loss.b.fill_(case["b"]), loss.alpha.fill_(case["alpha"])
        elif kind == "ent_loss":
            loss = L.EntLossClassification(case["data_size"], alpha=case["alpha"], gamma=case["gamma"],
                                           is_scent=case["is_scent"], alpha_multiplier=case["alpha_multiplier"])
        else:
            loss = L.MultiLabelpAUCLoss(mode="1w", num_labels=case["n_tasks"], data_len=case["data_len"],
                                        gamma=case["gamma"], Lambda=case["lambda"], device="cpu")
        for k, call in enumerate(case["calls"]):
            w64 = _ref(ref, ci, k)
            at = f"{case['name']} call {k}"
            y = torch.tensor(arr(call.get("labels", [])), dtype=torch.float32)
            ids = torch.tensor(call["ids"])
            if kind == "midam_loss":
                loss.a.grad = loss.b.grad = None
                if case["mode"] == "softmax":
                    x = torch.tensor(arr(call["y_pred"]), dtype=torch.float32).requires_grad_()
                    v = loss(y_pred=x, y_true=y, index=ids)
                    v.backward()
                    c.values(f"{at}: grad", x.grad, call["grad"], _get(w64, "grad"))
                    st = loss.loss_fn.state_dict()["_extra_state"]
                    c.values(f"{at}: state", st["num"], call["state"], _get(w64, "state"))
                else:
                    sn = torch.tensor(arr(call["sn"]), dtype=torch.float32).requires_grad_()
                    sd = torch.tensor(arr(call["sd"]), dtype=torch.float32).requires_grad_()
                    v = loss(sn=sn, sd=sd, y_true=y, index=ids)
                    v.backward()
                    c.values(f"{at}: grad_sn", sn.grad, call["grad_sn"], _get(w64, "grad_sn"))
                    c.values(f"{at}: grad_sd", sd.grad, call["grad_sd"], _get(w64, "grad_sd"))
                    st = loss.loss_fn.state_dict()["_extra_state"]
                    c.values(f"{at}: state", st["num"], call["state"], _get(w64, "state"))
                    c.values(f"{at}: state_d", st["den"], call["state_d"], _get(w64, "state_d"))
                c.values(f"{at}: grad_a", loss.a.grad, call["grad_a"], _get(w64, "grad_a"))
                c.values(f"{at}: grad_b", loss.b.grad, call["grad_b"], _get(w64, "grad_b"))
            elif kind == "ent_loss":
                if not case["is_scent"]:
                    loss.adjust_gamma(k + 1, 5)
                    c.values(f"{at}: gamma", loss.gamma, call["gamma"], _get(w64, "gamma"))
                z = torch.tensor(_masked(call["logits"])).reshape(len(call["ids"]), case["k"]).requires_grad_()
                v = loss(z, ids)["loss"]
                v.backward()
                c.values(f"{at}: grad", z.grad, call["grad"], _get(w64, "grad"))
                c.values(f"{at}: nu", loss.state_dict()["_extra_state"]["nu"], call["nu"], _get(w64, "nu"))
            else:
                t = case["n_tasks"]
                s = torch.tensor(arr(call["scores"]), dtype=torch.float32).reshape(-1, t).requires_grad_()
                v = loss(s, y.reshape(-1, t), ids, task_id=torch.tensor(call["tasks"], dtype=torch.long))
                v.backward()
                c.values(f"{at}: grad", s.grad, call["grad"], _get(w64, "grad"))
                c.values(f"{at}: u", loss.state_dict()["_extra_state"]["u"], call["u"], _get(w64, "u"))
            c.values(f"{at}: loss", v, call["loss"], _get(w64, "loss"))
        c.check()
    assert counts == {"midam_loss": 4, "ent_loss": 4, "mpauc": 2}, counts


def test_contrastive_losses_match_libauc():
    doc, ref = load("contrastive.json"), load_f64("contrastive.json")
    calls = 0
    for ci, case in enumerate(doc["cases"]):
        cfg = dict(case["config"])
        bimodal = case.get("mode") == "bimodal" or case["name"].startswith("bimodal")
        c = Compat(1e-4, 1e-5, 1e-7)
        if bimodal:
            scheme = "individual_learnable" if cfg.pop("enable_isogclr", False) else "global_constant"
            loss = L.GCLoss_v2(N=case["n"], temperature_scheme=scheme, **cfg)
        else:
            loss = L.GCLoss_v1(N=case["n"], **cfg)
        b, d = case["batch"], case["dim"]
        for k, call in enumerate(case["calls"]):
            w64 = _ref(ref, ci, k)
            if call["epoch"] is not None:
                loss.adjust_gamma(call["epoch"])
            # float64 features: the similarities are formed in f64 and handed to the kernel as
            # f32, as the Rust test does.
            h1 = torch.tensor(arr(call["h1"])).reshape(b, d).requires_grad_()
            h2 = torch.tensor(arr(call["h2"])).reshape(b, d).requires_grad_()
            out = loss(h1, h2, torch.tensor(call["ids"]))
            v = out[0] if bimodal else out
            v.backward()
            at = f"{case['name']} call {k}"
            c.values(f"{at}: loss", v, call["loss"], _get(w64, "loss"))
            c.values(f"{at}: grad_h1", h1.grad, call["grad_h1"], _get(w64, "grad_h1"))
            c.values(f"{at}: grad_h2", h2.grad, call["grad_h2"], _get(w64, "grad_h2"))
            st = loss.state_dict()["_extra_state"]
            names = ({"u1": "u_image", "u2": "u_text", "b1": "b_image", "b2": "b_text", "tau_img": "tau_image",
                      "tau_txt": "tau_text", "grad_tau_img": "grad_tau_image", "grad_tau_txt": "grad_tau_text"}
                     if bimodal else {"u": "u", "tau": "tau", "grad_tau": "grad_tau"})
            for key, kernel_key in names.items():
                if key in call:
                    c.values(f"{at}: {key}", st[kernel_key], call[key], _get(w64, key))
            calls += 1
        c.check()
    assert calls == 40, calls
