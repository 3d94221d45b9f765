"""``xrisk.models`` build with LibAUC's constructors and produce the shapes LibAUC's do."""
import pytest
import torch

import xrisk.models as M


def test_tabular_models():
    x = torch.randn(5, 29)
    assert M.MLP()(x).shape == (5, 1)
    assert M.MLP(input_dim=29, hidden_sizes=(0,))(x).shape == (5, 1)  # linear model
    assert M.FFNN(hidden_sizes=(16, 8), last_activation="sigmoid")(x).shape == (5, 1)
    out, w = M.FFNN_stoc_att(hidden_sizes=(16,))(x)
    assert out.shape == (5, 1) and w.shape == (5, 1) and (w > 0).all()
    with pytest.raises(ValueError):
        M.MLP(input_dim=0)


def test_image_models():
    assert M.resnet20()(torch.randn(2, 3, 32, 32)).shape == (2, 1)
    assert M.ResNet20(in_channels=1, num_classes=3)(torch.randn(2, 1, 28, 28)).shape == (2, 3)
    out = M.resnet20(last_activation="sigmoid")(torch.randn(2, 3, 32, 32))
    assert ((out > 0) & (out < 1)).all()
    assert M.resnet18()(torch.randn(1, 3, 64, 64)).shape == (1, 1)
    with pytest.raises(ValueError, match="pretrained"):
        M.resnet18(pretrained=True)


def test_neumf():
    m = M.NeuMF(user_num=10, item_num=20, emb_size=8, layers="[16, 8]")
    out = m({"user_id": torch.tensor([1, 2]), "item_id": torch.randint(0, 20, (2, 7))})
    assert out.shape == (2, 7)
