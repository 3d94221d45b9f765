"""Array arguments of the metrics: NumPy arrays, lists or torch tensors (on any device)."""
import numpy as np


def to_numpy(x, name):
    try:
        import torch
        if torch.is_tensor(x):
            x = x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    a = np.asarray(x)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numbers, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    return a


def as_f64(x, name):
    """A flat, contiguous float64 array."""
    return np.ascontiguousarray(to_numpy(x, name), dtype=np.float64).reshape(-1)


def matrix(y_true, y_pred):
    """Both as ``(n, T)`` float64 matrices and ``T`` (LibAUC's shape rules)."""
    y, s = to_numpy(y_true, "y_true"), to_numpy(y_pred, "y_pred")
    tasks = y.shape[-1] if y.ndim == 2 else 1
    try:
        y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1, tasks)
        s = np.ascontiguousarray(s, dtype=np.float64).reshape(-1, tasks)
    except ValueError as e:
        raise ValueError(f"y_true has shape {np.shape(y_true)} and y_pred {np.shape(y_pred)}: they must match") from e
    if y.shape != s.shape:
        raise ValueError(f"y_true has shape {y.shape} and y_pred {s.shape}: they must match")
    return y, s, tasks
