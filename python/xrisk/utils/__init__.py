"""Helpers with LibAUC's names (``libauc.utils``): the imbalanced data generator, seeding, the
distributed check."""
import random

import numpy as np
import torch

from .. import _native
from .._host import is_distributed

__all__ = ["ImbalancedDataGenerator", "set_all_seeds", "is_distributed", "check_imbalance_ratio"]


def set_all_seeds(SEED):
    """Seeds torch, NumPy and ``random`` and makes cuDNN deterministic."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def check_imbalance_ratio(labels):
    """Prints the number of samples, positives and the positive ratio of 0/1 labels."""
    labels = np.asarray(labels).reshape(-1)
    n, pos = len(labels), int((labels == 1).sum())
    print(f"#SAMPLES: {n}, POS:NEG: [{pos} : {n - pos}], POS RATIO: {pos / max(n, 1):.4f}")


class ImbalancedDataGenerator:
    r"""Turns a multi-class data set into a binary one with the share ``imratio`` of positives:
    classes above the middle class index are positive; all negatives are kept and
    ``⌊imratio/(1−imratio)·n_neg⌋`` positives; rows are shuffled (seeded) before and after.
    The row choice is xrisk's seeded RNG (the same as ``xrisk-data``'s), so the counts equal
    LibAUC's while the rows differ; the labels are ``(n, 1)`` float32 whatever ``imratio`` is
    (LibAUC 2.0.1 leaves them 1-D ints at 0.5, spec §11 #17).

    Example:
        >>> X, Y = ImbalancedDataGenerator(imratio=0.1, random_seed=0).transform(train_x, train_y)
    """

    def __init__(self, imratio=None, shuffle=True, random_seed=0, verbose=False):
        self.imratio, self.shuffle, self.random_seed, self.verbose = imratio, shuffle, random_seed, verbose

    def transform(self, data, targets, imratio=None):
        if imratio is not None:
            self.imratio = imratio
        if self.imratio is None:
            raise ValueError("imratio is None: give ImbalancedDataGenerator(imratio=...) or transform(..., imratio=...)")
        if torch.is_tensor(targets):
            targets = targets.detach().cpu().numpy()
        targets = np.asarray(targets)
        if len(data) != len(targets):
            raise ValueError(f"data has {len(data)} rows and targets {len(targets)}")
        rows, y = _native.imbalanced_rows(np.ascontiguousarray(targets.reshape(len(targets), -1)[:, 0],
                                                               dtype=np.float32),
                                          float(self.imratio), bool(self.shuffle), int(self.random_seed))
        data = data[torch.as_tensor(rows)] if torch.is_tensor(data) else np.asarray(data)[rows]
        y = y.reshape(-1, 1)
        if self.verbose:
            check_imbalance_ratio(y)
        return data, y
