"""Multilayer perceptrons for tabular data (LibAUC's ``MLP``, ``FFNN``) and the MIL model that
also outputs attention weights (``FFNN_stoc_att``)."""
import torch
from torch import nn

__all__ = ["MLP", "FFNN", "FFNN_stoc_att"]


def _check(input_dim, hidden_sizes):
    if int(input_dim) < 1:
        raise ValueError(f"input_dim = {input_dim}: it must be >= 1")
    if any(int(h) < 1 for h in hidden_sizes):
        raise ValueError(f"hidden_sizes = {tuple(hidden_sizes)}: every layer needs >= 1 unit")


class MLP(nn.Module):
    """``input → hidden_sizes[0]`` (no activation, as LibAUC) ``→ … (activation) → num_classes``;
    with ``hidden_sizes`` summing to 0, a linear model."""

    def __init__(self, input_dim=29, hidden_sizes=(16,), activation="relu", num_classes=1):
        super().__init__()
        self.hidden_sizes = tuple(hidden_sizes)
        if sum(self.hidden_sizes) > 0:
            _check(input_dim, self.hidden_sizes)
            self.inputs = nn.Linear(input_dim, self.hidden_sizes[0])
            act = {"relu": nn.ReLU, "elu": nn.ELU}.get(activation)
            layers = []
            for a, b in zip(self.hidden_sizes, self.hidden_sizes[1:]):
                layers.append(nn.Linear(a, b))
                if act is not None:
                    layers.append(act())
            self.layers = nn.Sequential(*layers)
            last = self.hidden_sizes[-1]
        else:
            last = input_dim
        self.classifer = nn.Linear(last, num_classes)

    def forward(self, x):
        if sum(self.hidden_sizes) > 0:
            x = self.layers(self.inputs(x))
        return self.classifer(x)


class FFNN(nn.Module):
    """``tanh(input → hidden_sizes[0]) → (linear, ReLU)… → num_classes``, optionally a sigmoid."""

    def __init__(self, input_dim=29, hidden_sizes=(16,), last_activation=None, num_classes=1):
        super().__init__()
        _check(input_dim, hidden_sizes)
        self.inputs = nn.Linear(input_dim, hidden_sizes[0])
        self.last_activation = last_activation
        layers = []
        for a, b in zip(hidden_sizes, hidden_sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.layers = nn.Sequential(*layers)
        self.classifer = nn.Linear(hidden_sizes[-1], num_classes)

    def forward(self, x):
        out = self.classifer(self.layers(torch.tanh(self.inputs(x))))
        return torch.sigmoid(out) if self.last_activation == "sigmoid" else out


class FFNN_stoc_att(nn.Module):
    """FFNN whose forward returns ``(scores, exp(attention))`` per instance, the inputs of
    MIDAM's attention pooling."""

    def __init__(self, input_dim=29, hidden_sizes=(16,), num_classes=1):
        super().__init__()
        _check(input_dim, hidden_sizes)
        self.inputs = nn.Linear(input_dim, hidden_sizes[0])
        layers = []
        for a, b in zip(hidden_sizes, hidden_sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.layers = nn.Sequential(*layers)
        self.classifer = nn.Linear(hidden_sizes[-1], num_classes)
        h = hidden_sizes[-1]
        self.attention = nn.Sequential(nn.Linear(h, h), nn.Tanh(), nn.Linear(h, 1))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)

    def forward(self, x):
        x = self.layers(torch.tanh(self.inputs(x)))
        return self.classifer(x), torch.exp(self.attention(x))
