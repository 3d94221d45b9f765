"""A LibAUC-tutorial-style script (tutorials 02 and 03: AUCMLoss + PESG, APLoss + SOAP, with a
DualSampler on imbalanced data), written for ``libauc``. The tests run it with ``libauc``
replaced by ``xrisk`` in its imports and nothing else changed.

Data: the Fashion-MNIST test images the repository embeds (crates/xrisk-data/data), class 0
(T-shirt/top) against the rest, the positives subsampled to 10 % as LibAUC's
ImbalancedDataGenerator does, 8,000 images for training and 2,000 for testing; an MLP on the
784 pixels."""
import gzip
import os

import numpy as np
import torch
from libauc.losses import AUCMLoss, APLoss
from libauc.optimizers import PESG, SOAP
from libauc.sampler import DualSampler
from libauc.metrics import auc_roc_score, auc_prc_score

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "crates", "xrisk-data", "data")
SEED, BATCH, EPOCHS = 2023, 64, 4


def read_idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as fh:
        return np.frombuffer(fh.read(), dtype=np.uint8, offset=offset)


def prepare():
    x = read_idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0
    y = (read_idx("t10k-labels-idx1-ubyte.gz", 8) == 0).astype(np.float32)
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    neg, pos = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    keep = np.sort(np.concatenate([neg, pos[: len(neg) // 9]]))  # 10 % positives
    x, y = x[keep], y[keep]
    return (x[:8000], y[:8000]), (x[8000:], y[8000:])


class ImageDataset(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.targets = torch.tensor(x), torch.tensor(y)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.x[i], self.targets[i], i


def make_model():
    torch.manual_seed(SEED)
    return torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))


def make(kind, model, n):
    if kind == "auc":
        loss_fn = AUCMLoss()
        optimizer = PESG(model.parameters(), loss_fn=loss_fn, lr=0.1, momentum=0.9, margin=1.0, epoch_decay=0.003,
                         weight_decay=1e-4)
    else:
        loss_fn = APLoss(data_len=n, margin=0.6, gamma=0.9)
        optimizer = SOAP(model.parameters(), lr=1e-3, mode="adam", weight_decay=1e-4)
    return loss_fn, optimizer


def step(kind, model, loss_fn, optimizer, x, y, index):
    y_pred = torch.sigmoid(model(x))
    loss = loss_fn(y_pred, y) if kind == "auc" else loss_fn(y_pred, y, index)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def evaluate(model, x, y):
    with torch.no_grad():
        scores = torch.sigmoid(model(torch.tensor(x))).numpy().reshape(-1)
    return auc_roc_score(y, scores), auc_prc_score(y, scores)


def main(kind="auc"):
    (xtr, ytr), (xte, yte) = prepare()
    train_set = ImageDataset(xtr, ytr)
    sampler = DualSampler(train_set, BATCH, sampling_rate=0.5)
    loader = torch.utils.data.DataLoader(train_set, batch_size=BATCH, sampler=sampler, shuffle=False)
    model = make_model()
    loss_fn, optimizer = make(kind, model, len(train_set))
    before = evaluate(model, xte, yte)
    losses = []
    for epoch in range(EPOCHS):
        if epoch == EPOCHS // 2:
            if kind == "auc":
                optimizer.update_regularizer(decay_factor=10)
            else:
                optimizer.update_lr(decay_factor=10)
        for x, y, index in loader:
            losses.append(step(kind, model, loss_fn, optimizer, x, y, index))
    after = evaluate(model, xte, yte)
    print(f"{kind}: test AUROC {before[0]:.4f} -> {after[0]:.4f}, AUPRC {before[1]:.4f} -> {after[1]:.4f}")
    return before, after, losses


if __name__ == "__main__":
    main("auc")
    main("ap")
