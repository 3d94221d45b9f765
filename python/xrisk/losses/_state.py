"""Checkpointing of the kernels' per-sample state through ``state_dict()``.

A loss whose kernel keeps state lists the state's names in ``_state_keys`` (in the order of the
kernel's ``load_state``); the state then travels as the module's extra state
(``<prefix>_extra_state`` in ``state_dict()``), so ``torch.save(loss.state_dict())`` and
``loss.load_state_dict(...)`` resume it exactly. A table of the wrong size (another data set)
is a ``ValueError`` that names it.
"""
import numpy as np
import torch


def _array(v, name):
    if torch.is_tensor(v):
        v = v.detach().cpu().numpy()
    if np.ndim(v) == 0:
        return float(v)
    if name in ("w",) and np.asarray(v).dtype == np.float64:
        return np.ascontiguousarray(v, dtype=np.float64)
    return np.ascontiguousarray(v, dtype=np.float32)


class KernelStateMixin:
    """``get_extra_state`` / ``set_extra_state`` over ``self._kernel``'s state."""

    _state_keys = ()

    def get_extra_state(self):
        return dict(self._kernel.state())

    def set_extra_state(self, state):
        missing = [k for k in self._state_keys if k not in state]
        if missing:
            raise ValueError(f"{type(self).__name__}: the saved state lacks {missing}")
        self._kernel.load_state(*[_array(state[k], k) for k in self._state_keys])
