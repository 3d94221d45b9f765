"""CIFAR-style ResNets (He et al., 2016, §4.2): a 3×3 stem with 16 channels, three stages of
16/32/64 channels, option-A (zero-padded, strided) shortcuts; ``resnet20`` is LibAUC's default
image model for imbalanced CIFAR / Fashion-MNIST. ``in_channels`` (default 3) adapts the stem to
grey images."""
import torch.nn.functional as F
from torch import nn

__all__ = ["ResNet", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]


class _Block(nn.Module):
    def __init__(self, in_planes, planes, stride, act):
        super().__init__()
        self.act = act
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = (planes - in_planes) // 2 if (stride != 1 or in_planes != planes) else None

    def shortcut(self, x):
        if self.pad is None:
            return x
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))

    def forward(self, x):
        out = self.act(self.bn1(self.conv1(x)))
        return self.act(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """The CIFAR ResNet with ``num_blocks`` per stage; ``last_activation`` ``None`` (a logit, the
    default) or ``'sigmoid'``."""

    def __init__(self, num_blocks=(3, 3, 3), num_classes=1, last_activation=None, activations="relu", in_channels=3):
        super().__init__()
        act = F.relu if activations == "relu" else F.elu
        self.act, self.last_activation = act, last_activation
        self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages, in_planes = [], 16
        for planes, stride, n in zip((16, 32, 64), (1, 2, 2), num_blocks):
            blocks = []
            for s in [stride] + [1] * (n - 1):
                blocks.append(_Block(in_planes, planes, s, act))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_normal_(m.weight)

    def forward(self, x):
        out = self.act(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        out = self.linear(out)
        return out.sigmoid() if self.last_activation == "sigmoid" else out


def _make(blocks):
    def build(pretrained=False, activations="relu", last_activation=None, **kwargs):
        if pretrained:
            raise ValueError("pretrained=True is not provided: xrisk downloads no weights")
        return ResNet((blocks,) * 3, activations=activations, last_activation=last_activation, **kwargs)
    build.__doc__ = f"CIFAR ResNet with {6 * blocks + 2} layers ({blocks} blocks per stage)."
    return build


resnet20, resnet32, resnet44, resnet56, resnet110 = (_make(n) for n in (3, 5, 7, 9, 18))
