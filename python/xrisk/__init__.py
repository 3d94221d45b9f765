"""xrisk: X-risk optimization for PyTorch — LibAUC's losses, optimizers, samplers and metrics
on fused Rust kernels. Replace ``libauc`` by ``xrisk`` in a LibAUC 2.0.1 script's imports:

    from xrisk.losses import AUCMLoss
    from xrisk.optimizers import PESG
    from xrisk.sampler import DualSampler
    from xrisk.metrics import auc_roc_score

Submodules: ``losses``, ``optimizers``, ``sampler``, ``metrics``, ``models``, ``utils``.
"""
from . import _native

__version__ = _native.__version__
#: The LibAUC release whose API (names, arguments, defaults) this package mirrors.
__libauc_version__ = "2.0.1"

__all__ = ["losses", "optimizers", "sampler", "metrics", "models", "utils"]


def __getattr__(name):
    if name in __all__:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'xrisk' has no attribute {name!r}")
