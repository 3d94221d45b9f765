"""The boundary between torch and the Rust kernels.

A kernel takes the model's outputs as host ``float32`` arrays and returns the loss value and the
gradient with respect to those outputs. :func:`kernel_loss` wraps such a call in a
``torch.autograd.Function``: the outputs may live on any device in any float dtype; the value
comes back as a 0-d tensor on the first output's device and dtype, and ``backward`` returns
``grad_output · gradient`` on each output's device and dtype. Inputs are checked here for what
the kernels cannot see (tensor kinds and dtypes); everything else (lengths, labels, ids within
the state tables, NaN) is checked by the kernels and raised as ``ValueError``.
"""
import numpy as np
import torch

__all__ = ["kernel_loss", "host_f32", "host_labels", "host_ids", "as_tensor", "is_distributed", "gather",
           "default_device"]


def default_device(device):
    """The device LibAUC puts a loss's parameters on: the one given, else CUDA when available."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_tensor(x, name):
    """``x`` as a tensor (NumPy arrays and lists are accepted as LibAUC accepts them)."""
    if torch.is_tensor(x):
        return x
    try:
        return torch.as_tensor(np.asarray(x))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: expected a tensor or an array, got {type(x).__name__}") from e


def host_f32(x, name):
    """A floating-point tensor as a flat, contiguous host ``float32`` array."""
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor (the model's outputs), got dtype {x.dtype}")
    return x.detach().to("cpu", torch.float32).contiguous().reshape(-1).numpy()


def host_labels(y, name="y_true"):
    """Labels (any real dtype) as a flat host ``float32`` array."""
    y = as_tensor(y, name)
    if y.is_complex():
        raise TypeError(f"{name}: expected real labels, got dtype {y.dtype}")
    return y.detach().to("cpu", torch.float32).contiguous().reshape(-1).numpy()


def host_ids(i, name="index"):
    """Sample ids (an integer tensor or array) as a flat host ``int64`` array."""
    i = as_tensor(i, name)
    if i.is_floating_point() or i.is_complex() or i.dtype == torch.bool:
        raise TypeError(f"{name}: expected integer sample ids, got dtype {i.dtype}")
    return i.detach().to("cpu", torch.int64).contiguous().reshape(-1).numpy()


class _KernelFunction(torch.autograd.Function):
    """``value = call(*host outputs)``; the gradient is the kernel's."""

    @staticmethod
    def forward(ctx, call, *outputs):
        hosts = [host_f32(x, name) for x, name in zip(outputs, call.names)]
        value, grads = call(*hosts)
        saved = []
        for x, g in zip(outputs, grads):
            if g is None:
                saved.append(torch.zeros_like(x))
            else:
                g = torch.as_tensor(np.asarray(g, dtype=np.float32))
                saved.append(g.to(device=x.device, dtype=x.dtype).reshape(x.shape))
        ctx.save_for_backward(*saved)
        first = outputs[0]
        return torch.tensor(float(value), dtype=first.dtype, device=first.device)

    @staticmethod
    def backward(ctx, grad_output):
        return (None, *[grad_output * g for g in ctx.saved_tensors])


class _Call:
    """A kernel call with the names of its differentiable outputs (for error messages)."""

    def __init__(self, fn, names):
        self.fn = fn
        self.names = names

    def __call__(self, *hosts):
        return self.fn(*hosts)


def kernel_loss(fn, outputs, names):
    """The loss ``fn(*host arrays)`` as a differentiable 0-d tensor of ``outputs``.

    ``fn`` receives one flat ``float32`` array per output and returns ``(value, grads)`` with one
    gradient array (or ``None``) per output.
    """
    for x, name in zip(outputs, names):
        if not torch.is_tensor(x):
            raise TypeError(f"{name}: expected a tensor, got {type(x).__name__}")
    return _KernelFunction.apply(_Call(fn, names), *outputs)


def is_distributed():
    """True inside an initialised ``torch.distributed`` group of more than one process."""
    return (torch.distributed.is_available() and torch.distributed.is_initialized()
            and torch.distributed.get_world_size() > 1)


def gather(*tensors):
    """All-gathers tensors along dim 0 across the process group, with gradient for floating
    tensors (``torch.distributed.nn.all_gather``), as LibAUC 2.0's losses do."""
    import torch.distributed.nn as dnn
    out = []
    for t in tensors:
        if t.is_floating_point() and t.requires_grad:
            out.append(torch.cat(dnn.all_gather(t), dim=0))
        else:
            parts = [torch.empty_like(t) for _ in range(torch.distributed.get_world_size())]
            torch.distributed.all_gather(parts, t.contiguous())
            out.append(torch.cat(parts, dim=0))
    return out
