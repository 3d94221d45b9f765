"""Evaluation metrics with LibAUC's names (``from xrisk.metrics import auc_roc_score``); NumPy
arrays, lists or torch tensors in; exact as scikit-learn / LibAUC."""
from .metrics import *  # noqa: F401,F403
from .metrics_k import *  # noqa: F401,F403
