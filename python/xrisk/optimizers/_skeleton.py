r"""The optimizer skeleton shared by LibAUC's optimizers (spec ``libauc_spec.md`` §3.0), written
once on torch tensors (so it runs wherever the parameters live). Per parameter ``w`` with
gradient ``∇``:

1. element-wise clipping ``g = clamp(∇, −c, c)`` (``clip_value``; none for LARS and MIDAM);
2. weight decay: coupled ``g += wd·w`` or, for AdamW, decoupled ``w ← w·(1 − lr·wd)`` first;
3. the epoch-level proximal term ``g += λ0·(w − w_ref)`` (``epoch_decay``); ``w_ref`` starts at
   the initial weights (LibAUC 2.0.1 draws N(0, 0.01²) noise, spec §11 #8) and
   :meth:`update_regularizer` resets it to the average iterate since the last reset;
4. the update rule: PyTorch's SGD momentum (``buf = μ·buf + (1−d)·g``, Nesterov optional),
   LibAUC 2.0.1's PESG momentum (``buf = (1−μ)·buf + μ·g``), Adam (AMSGrad optional), LARS
   (trust ratio on matrices), or SCENT's sparse-row SGD; then ``w ← w − lr·step``.

Each named optimizer is this class with its own defaults; PESG, PDSCA and MIDAM add their dual
step on the loss's ``alpha``. The per-parameter buffers (momentum, Adam moments, the reference
point and the iterate sum) are in ``self.state`` and the step counters in the param groups, so
``state_dict()`` / ``load_state_dict()`` resume an optimizer exactly.
"""
import math

import numpy as np
import torch

from .. import _native

__all__ = ["Skeleton"]

# Distinct empty arrays for the fused update's unused buffers (each is borrowed mutably).
_EMPTY = [np.empty(0, dtype=np.float32) for _ in range(5)]
_FUSED_RULES = ("sgd", "pesg", "adam", "adamw")
# PDSCA's cross-entropy branch, taken per step by PDSCA (not a mode a user picks).
_AVERAGED = "averaged"

_RULES = ("sgd", "pesg", "adam", "adamw", "lars", "sparse_sgd", "midam")


class Skeleton(torch.optim.Optimizer):
    """The shared skeleton; ``rule`` is one of ``'sgd'``, ``'pesg'`` (LibAUC 2.0.1's momentum),
    ``'adam'``, ``'adamw'``, ``'lars'``, ``'sparse_sgd'`` (SCENT), ``'midam'``."""

    def __init__(self, params, lr, rule, clip_value=None, weight_decay=0.0, epoch_decay=0.0, momentum=0.0,
                 dampening=0.0, nesterov=False, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, trust_coefficient=0.001):
        if rule not in _RULES:
            raise ValueError(f"mode {rule!r} is not one of {_RULES}")
        if lr is None or not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr} (it must be >= 0)")
        if clip_value is not None and not clip_value > 0.0:
            raise ValueError(f"Invalid clip_value: {clip_value} (it must be > 0)")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not epoch_decay >= 0.0:
            raise ValueError(f"Invalid epoch_decay value: {epoch_decay}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid beta parameters: {betas}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if isinstance(params, torch.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, but "
                            f"got {torch.typename(params)}")
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        #: Update CPU float32 parameters with the Rust skeleton (one call per parameter instead
        #: of about ten torch operations); the torch formulation runs everywhere else (GPU,
        #: other dtypes, LARS, MIDAM, SCENT). Both give the same result to float rounding.
        self.fused = True
        defaults = dict(lr=lr, rule=rule, clip_value=clip_value, weight_decay=weight_decay, epoch_decay=epoch_decay,
                        momentum=momentum, dampening=dampening, nesterov=nesterov, betas=tuple(betas), eps=eps,
                        amsgrad=amsgrad, trust_coefficient=trust_coefficient, T=0, steps=0)
        super().__init__(self.params, defaults)
        self.lr = lr
        # The reference point of the proximal term: the initial weights.
        for group in self.param_groups:
            if group["epoch_decay"] > 0:
                for p in group["params"]:
                    self.state[p]["ref"] = p.detach().clone()

    @property
    def optim_step(self):
        """Optimization steps taken."""
        return self.param_groups[0]["steps"]

    @property
    def steps(self):
        return self.param_groups[0]["steps"]

    @property
    def T(self):
        return self.param_groups[0]["T"]

    @staticmethod
    def _closure(closure):
        """The loss ``closure()`` re-evaluates with gradients on (``None`` without a closure)."""
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient."""
        loss = self._closure(closure)
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group, rule=None, lr=None):
        """One update of the group's parameters that have a gradient, with the group's rule and
        learning rate unless others are given (PDSCA's cross-entropy branch)."""
        rule = rule or group["rule"]
        self.lr = group["lr"]
        lr = self.lr if lr is None else lr
        any_grad = False
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise RuntimeError("xrisk's optimizers do not take sparse gradients")
            any_grad = True
            self._update(p, group, rule, lr)
        if any_grad:
            group["steps"] += 1
            if group["epoch_decay"] > 0:
                group["T"] += 1

    def _fusable(self, p, rule):
        g = p.grad
        return (self.fused and rule in _FUSED_RULES and p.device.type == "cpu" and p.dtype == torch.float32
                and g.dtype == torch.float32 and p.is_contiguous() and g.is_contiguous())

    def _update_fused(self, p, group, rule, lr):
        state = self.state[p]
        step = state["step"] = state.get("step", 0) + 1
        mu = group["momentum"]
        fresh = False
        e = iter(_EMPTY)
        if rule in ("adam", "adamw"):
            if "exp_avg" not in state:
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
                fresh = True
            first, second = state["exp_avg"].numpy().reshape(-1), state["exp_avg_sq"].numpy().reshape(-1)
            mx = state["max_exp_avg_sq"].numpy().reshape(-1) if group["amsgrad"] else next(e)
        elif mu != 0.0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
                fresh = True
            first, second, mx = state["momentum_buffer"].numpy().reshape(-1), next(e), next(e)
        else:
            first, second, mx = next(e), next(e), next(e)
        ed = group["epoch_decay"]
        if ed > 0.0:
            if state.get("ref") is None:
                state["ref"] = p.detach().clone()
            if state.get("acc") is None:
                state["acc"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
            ref, acc = state["ref"].contiguous().numpy().reshape(-1), state["acc"].numpy().reshape(-1)
        else:
            ref, acc = _EMPTY[4], next(e)
        beta1, beta2 = group["betas"]
        _native.skeleton_update(p.detach().numpy().reshape(-1), p.grad.detach().numpy().reshape(-1), first, second,
                                mx, ref, acc, fresh, step, lr, group["clip_value"], group["weight_decay"], ed, rule,
                                mu, group["dampening"], group["nesterov"], beta1, beta2, group["eps"], group["amsgrad"])
        if ed > 0.0:
            state["acc_steps"] = state.get("acc_steps", 0) + 1

    def _update(self, p, group, rule, lr):
        if self._fusable(p, rule):
            return self._update_fused(p, group, rule, lr)
        state = self.state[p]
        lars_vector = rule == "lars" and p.dim() < 2
        wd = 0.0 if lars_vector else group["weight_decay"]
        ed = 0.0 if lars_vector else group["epoch_decay"]
        if rule == "adamw" and wd != 0.0:
            p.mul_(1.0 - lr * wd)
        g = p.grad.detach()
        if group["clip_value"] is not None and rule not in ("lars", "midam", "sparse_sgd"):
            g = g.clamp(-group["clip_value"], group["clip_value"])
        else:
            g = g.clone()
        if wd != 0.0 and rule != "adamw":
            if rule == "sparse_sgd":
                if bool(g.ne(0).any()):
                    g.add_(p, alpha=wd)
            else:
                g.add_(p, alpha=wd)
        if ed > 0.0:
            ref = state.get("ref")
            if ref is None:
                ref = state["ref"] = p.detach().clone()
            g.add_(p - ref, alpha=ed)
        state["step"] = state.get("step", 0) + 1
        mu = group["momentum"]
        if rule in ("sgd", "midam", "sparse_sgd"):
            damp = mu if rule == "midam" else group["dampening"]
            if mu != 0.0:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.clone()
                elif rule == "sparse_sgd" and p.dim() >= 1:
                    rows = g.reshape(g.shape[0], -1).ne(0).any(dim=1)
                    shape = (-1,) + (1,) * (g.dim() - 1)
                    moved = buf * mu + g * (1.0 - damp)
                    buf.copy_(torch.where(rows.reshape(shape), moved, buf))
                else:
                    buf.mul_(mu).add_(g, alpha=1.0 - damp)
                step = g.add(buf, alpha=mu) if group["nesterov"] else buf
            else:
                step = g
            p.add_(step, alpha=-lr)
        elif rule == _AVERAGED:
            # w ← w − lr·g, then the weight average w̄ ← (1−β1)·w̄ + β1·w replaces w (first w̄ = w).
            p.add_(g, alpha=-lr)
            beta1 = group["beta1"]
            if beta1 != 0.0:
                avg = state.get("weight_average")
                if avg is None:
                    avg = state["weight_average"] = p.detach().clone()
                else:
                    avg.mul_(1.0 - beta1).add_(p, alpha=beta1)
                p.copy_(avg)
        elif rule == "pesg":
            if mu == 0.0:
                p.add_(g, alpha=-lr)
            else:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.clone()
                else:
                    buf.mul_(1.0 - mu).add_(g, alpha=mu)
                p.add_(buf, alpha=-lr)
        elif rule == "lars":
            if not lars_vector:
                wn, gn = float(torch.linalg.vector_norm(p)), float(torch.linalg.vector_norm(g))
                if wn > 0.0 and gn > 0.0:
                    g.mul_(group["trust_coefficient"] * wn / gn)
            buf = state.get("mu")
            if buf is None:
                buf = state["mu"] = torch.zeros_like(p)
            buf.mul_(mu).add_(g)
            p.add_(buf, alpha=-lr)
        else:  # adam, adamw
            beta1, beta2 = group["betas"]
            if "exp_avg" not in state:
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = torch.zeros_like(p)
            m, v = state["exp_avg"], state["exp_avg_sq"]
            t = state["step"]
            m.mul_(beta1).add_(g, alpha=1.0 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            bc1, bc2 = 1.0 - beta1 ** t, 1.0 - beta2 ** t
            if group["amsgrad"]:
                torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                denom = (state["max_exp_avg_sq"].sqrt() / math.sqrt(bc2)).add_(group["eps"])
            else:
                denom = (v.sqrt() / math.sqrt(bc2)).add_(group["eps"])
            p.addcdiv_(m, denom, value=-lr / bc1)
        if ed > 0.0:
            acc = state.get("acc")
            if acc is None:
                state["acc"] = p.detach().clone()
            else:
                acc.add_(p)
            state["acc_steps"] = state.get("acc_steps", 0) + 1

    def update_lr(self, decay_factor=None):
        """``lr ← lr / decay_factor`` (LibAUC's ``update_lr``)."""
        if decay_factor is not None:
            if not decay_factor > 0:
                raise ValueError(f"decay_factor = {decay_factor}: it must be > 0")
            self.param_groups[0]["lr"] = self.param_groups[0]["lr"] / decay_factor
            self.lr = self.param_groups[0]["lr"]

    def update_regularizer(self, decay_factor=None):
        """Divides the learning rate by ``decay_factor`` (if given) and resets each reference
        point to the average iterate since the last reset (LibAUC's ``update_regularizer``;
        with ``epoch_decay = 0`` only the learning rate changes, where LibAUC 2.0.1 crashes)."""
        self.update_lr(decay_factor)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                acc, n = state.get("acc"), state.get("acc_steps", 0)
                if acc is not None and n > 0:
                    state["ref"] = acc / n
                state.pop("acc", None)
                state["acc_steps"] = 0
            group["T"] = 0
