"""Torch models with LibAUC's names and constructors (``libauc.models``): the tabular MLPs, the
MIL model with attention weights, the CIFAR ResNets (ResNet20 …), ResNet18 and NeuMF. They are
plain ``torch.nn.Module``s; xrisk adds the losses and optimizers around them. ``pretrained=True``
is not provided (no weights are downloaded)."""
from .perceptron import MLP, FFNN, FFNN_stoc_att
from .resnet_cifar import ResNet as CifarResNet, resnet20, resnet32, resnet44, resnet56, resnet110
from .resnet import ResNet, ResNet18, resnet18, resnet34
from .neumf import NeuMF

ResNet20 = resnet20

__all__ = ["MLP", "FFNN", "FFNN_stoc_att", "CifarResNet", "resnet20", "ResNet20", "resnet32", "resnet44", "resnet56",
           "resnet110", "ResNet", "ResNet18", "resnet18", "resnet34", "NeuMF"]
