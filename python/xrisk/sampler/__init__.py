"""Controlled data samplers (LibAUC ``libauc.sampler``): the Rust samplers of ``xrisk-data``,
so the same seed gives the same batches as ``xrisk train``. Use them as
``DataLoader(dataset, batch_size=..., sampler=DualSampler(dataset, batch_size, sampling_rate=0.5))``:
the sampler yields the indices of one epoch, ``batch_size`` at a time in batch order (positives
first in each batch)."""
import numpy as np
import torch

from .. import _native

__all__ = ["DualSampler", "TriSampler", "DistributedDualSampler", "DistributedTriSampler"]


def _labels_of(dataset, labels):
    if labels is None:
        for attr in ("targets", "labels"):
            if hasattr(dataset, attr):
                labels = getattr(dataset, attr)
                break
        else:
            raise ValueError("pass labels=: the dataset has no .targets or .labels")
    if torch.is_tensor(labels):
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    if labels.dtype.kind not in "biuf":
        raise TypeError(f"labels: expected numbers, got dtype {labels.dtype}")
    if np.isnan(labels.astype(np.float64)).any():
        raise ValueError("labels contain NaN")
    if (labels < 0).any():
        raise ValueError("labels contain a negative value")
    return labels


def _rank_world(rank, num_replicas, who):
    """This process's rank and the number of processes: the arguments, else torch.distributed's."""
    if rank is None or num_replicas is None:
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            raise RuntimeError(f"{who} needs torch.distributed initialised (or rank= and num_replicas=)")
        rank = torch.distributed.get_rank() if rank is None else rank
        num_replicas = torch.distributed.get_world_size() if num_replicas is None else num_replicas
    if not 0 <= int(rank) < int(num_replicas):
        raise ValueError(f"{who}: rank {rank} is not in [0, {num_replicas})")
    return int(rank), int(num_replicas)


class _EpochSampler(torch.utils.data.Sampler):
    """An epoch is a function of ``(seed, epoch)``: the epochs are drawn in order, and
    ``set_epoch(e)`` (or a resumed run) replays the stream up to epoch ``e``."""

    def __init__(self):
        self.epoch = 0
        self._drawn = 0
        self._native = self._make()

    def set_epoch(self, epoch):
        """The epoch the next iteration yields (exact resume; every rank the same)."""
        if epoch < 0:
            raise ValueError(f"epoch = {epoch} must be >= 0")
        self.epoch = int(epoch)

    def _epoch_ids(self):
        if self._drawn > self.epoch:
            self._native, self._drawn = self._make(), 0
        while self._drawn < self.epoch:
            self._next()
            self._drawn += 1
        out = self._next()
        self._drawn += 1
        self.epoch += 1
        return out


class DualSampler(_EpochSampler):
    r"""Binary controlled sampling: each batch holds ``num_pos = int(sampling_rate · batch_size)``
    positives (or ``num_pos``) then negatives; an epoch is ``max(⌊n_pos/num_pos⌋, ⌊n_neg/num_neg⌋)``
    batches, the rare positives over-sampled. ``shuffle=False`` is not provided (the streams
    are always drawn from the seed)."""

    def __init__(self, dataset, batch_size, labels=None, shuffle=True, num_pos=None, num_sampled_tasks=None,
                 sampling_rate=0.5, random_seed=2023):
        if not shuffle:
            raise ValueError("DualSampler(shuffle=False) is not provided: xrisk's samplers draw a seeded order")
        labels = _labels_of(dataset, labels).reshape(-1)
        if len(np.unique(labels)) < 2:
            raise ValueError("labels must have both classes (0 and 1)")
        self.labels = (labels > 0).astype(np.float32)
        self.batch_size, self.num_pos_arg, self.sampling_rate = int(batch_size), num_pos, sampling_rate
        self.random_seed = int(random_seed)
        super().__init__()
        self.num_pos = self._native.num_pos
        self.num_neg = self.batch_size - self.num_pos
        self.num_batches = self._native.num_batches

    def _make(self):
        return _native.DualSampler(self.labels, self.batch_size, None if self.num_pos_arg else self.sampling_rate,
                                   self.num_pos_arg, self.random_seed)

    def _next(self):
        return self._native.next_epoch()

    def __iter__(self):
        return iter(self._epoch_ids().tolist())

    def __len__(self):
        return self.num_batches * self.batch_size


class DistributedDualSampler(DualSampler):
    r"""``DualSampler`` over the global batch ``batch_size_per_gpu · world_size``; rank ``r`` takes
    every ``world_size``-th index from position ``r`` (LibAUC 2.0's split), so the processes see
    disjoint parts of the same global batches. Call ``set_epoch(epoch)`` every epoch."""

    def __init__(self, dataset, batch_size_per_gpu, labels=None, shuffle=True, num_pos=None, num_sampled_tasks=None,
                 sampling_rate=0.5, random_seed=2023, rank=None, num_replicas=None):
        self.rank, self.num_replicas = _rank_world(rank, num_replicas, "DistributedDualSampler")
        super().__init__(dataset, batch_size_per_gpu * self.num_replicas, labels, shuffle, num_pos, num_sampled_tasks,
                         sampling_rate, random_seed)

    def __iter__(self):
        return iter(self._epoch_ids()[self.rank::self.num_replicas].tolist())

    def __len__(self):
        return self.num_batches * self.batch_size // self.num_replicas


class TriSampler(_EpochSampler):
    r"""Multi-label controlled sampling (``mode='classification'``): per batch, the sampled tasks
    and per task ``num_pos`` positives then negatives; yields ``(sample index, task index)`` pairs,
    ``batch_size_per_task · tasks per batch`` per batch. ``mode='ranking'`` is not provided here
    (the ranking losses take LibAUC's batch dict; see ``xrisk train`` for ranking)."""

    def __init__(self, dataset, batch_size_per_task, num_sampled_tasks=None, sampling_rate=0.5, mode="classification",
                 labels=None, shuffle=True, num_pos=None, random_seed=2023):
        if mode != "classification":
            raise ValueError(f"TriSampler(mode={mode!r}) is not provided; use mode='classification'")
        if not shuffle:
            raise ValueError("TriSampler(shuffle=False) is not provided: xrisk's samplers draw a seeded order")
        labels = _labels_of(dataset, labels)
        if labels.ndim == 1:
            classes = np.unique(labels)
            labels = (labels[:, None] == classes[None, :]).astype(np.float32)
        self.labels = (labels > 0).astype(np.float32)
        self.num_tasks = self.labels.shape[1]
        self.batch_size_per_task, self.num_sampled_tasks = int(batch_size_per_task), num_sampled_tasks
        self.sampling_rate, self.num_pos_arg, self.random_seed = sampling_rate, num_pos, int(random_seed)
        super().__init__()
        self.num_pos = self._native.num_pos
        self.num_batches = self._native.num_batches
        self.batch_size = self.batch_size_per_task * (num_sampled_tasks or self.num_tasks)

    def _make(self):
        return _native.TriSampler(np.ascontiguousarray(self.labels.reshape(-1)), self.num_tasks,
                                  self.batch_size_per_task, self.num_sampled_tasks,
                                  None if self.num_pos_arg else self.sampling_rate, self.num_pos_arg, self.random_seed)

    def _next(self):
        ids, tasks = self._native.next_epoch()
        return np.stack([ids, tasks], axis=1)

    def __iter__(self):
        return iter([tuple(p) for p in self._epoch_ids().tolist()])

    def __len__(self):
        return self.num_batches * self.batch_size


class DistributedTriSampler(TriSampler):
    """``TriSampler`` over ``num_sampled_tasks_per_gpu · world_size`` tasks per global batch; rank
    ``r`` takes every ``world_size``-th pair from position ``r``."""

    def __init__(self, dataset, batch_size_per_task, num_sampled_tasks_per_gpu=None, sampling_rate=0.5,
                 mode="classification", labels=None, shuffle=True, num_pos=None, random_seed=2023, rank=None,
                 num_replicas=None):
        self.rank, self.num_replicas = _rank_world(rank, num_replicas, "DistributedTriSampler")
        tasks = None if num_sampled_tasks_per_gpu is None else num_sampled_tasks_per_gpu * self.num_replicas
        super().__init__(dataset, batch_size_per_task, tasks, sampling_rate, mode, labels, shuffle, num_pos, random_seed)

    def __iter__(self):
        return iter([tuple(p) for p in self._epoch_ids()[self.rank::self.num_replicas].tolist()])

    def __len__(self):
        return self.num_batches * self.batch_size // self.num_replicas
