"""ImageNet-style ResNet18/34 (a 7×7 stem, four stages of basic blocks) with one output by
default, LibAUC's ``resnet18`` for medical images (CheXpert, Melanoma)."""
import torch.nn.functional as F
from torch import nn

__all__ = ["ResNet", "ResNet18", "resnet18", "resnet34"]


class _Basic(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.down = None
        if stride != 1 or inplanes != planes:
            self.down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class ResNet(nn.Module):
    """ResNet with basic blocks, ``layers`` per stage."""

    def __init__(self, layers=(2, 2, 2, 2), num_classes=1, last_activation=None, in_channels=3):
        super().__init__()
        self.last_activation = last_activation
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, inplanes = [], 64
        for planes, stride, n in zip((64, 128, 256, 512), (1, 2, 2, 2), layers):
            blocks = []
            for s in [stride] + [1] * (n - 1):
                blocks.append(_Basic(inplanes, planes, s))
                inplanes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)

    def forward(self, x):
        out = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, stride=2, padding=1)
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))
        return out.sigmoid() if self.last_activation == "sigmoid" else out


def resnet18(pretrained=False, progress=True, activations="relu", **kwargs):
    """ResNet-18 with one output by default."""
    if pretrained:
        raise ValueError("pretrained=True is not provided: xrisk downloads no weights")
    return ResNet((2, 2, 2, 2), **kwargs)


def resnet34(pretrained=False, progress=True, activations="relu", **kwargs):
    """ResNet-34 with one output by default."""
    if pretrained:
        raise ValueError("pretrained=True is not provided: xrisk downloads no weights")
    return ResNet((3, 4, 6, 3), **kwargs)


ResNet18 = resnet18
