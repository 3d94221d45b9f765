"""Bad input raises a Python exception that says what is wrong — never a crash of the
interpreter, never a silent NaN."""
import numpy as np
import pytest
import torch

from xrisk import losses as L
from xrisk import optimizers as O
from xrisk.sampler import DualSampler

Y = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0, 0.0])
IDS = torch.arange(6)


def score_losses():
    return [
        ("APLoss", lambda: L.APLoss(data_len=10), True),
        ("pAUC_CVaR_Loss", lambda: L.pAUC_CVaR_Loss(data_len=10, pos_len=10), True),
        ("pAUC_DRO_Loss", lambda: L.pAUC_DRO_Loss(data_len=10), True),
        ("tpAUC_KL_Loss", lambda: L.tpAUC_KL_Loss(data_len=10), True),
        ("tpAUC_CVaR_loss", lambda: L.tpAUC_CVaR_loss(data_length=10), True),
        ("AUCMLoss", lambda: L.AUCMLoss(device="cpu"), False),
        ("PairwiseAUCLoss", lambda: L.PairwiseAUCLoss(), False),
    ]


def run(make, with_ids, s, y=Y, ids=IDS):
    loss = make()
    return loss(s, y, ids) if with_ids else loss(s, y)


@pytest.mark.parametrize("name, make, with_ids", score_losses())
def test_nan_scores(name, make, with_ids):
    s = torch.tensor([0.1, float("nan"), 0.3, 0.4, 0.5, 0.6], requires_grad=True)
    with pytest.raises(ValueError, match="NaN"):
        run(make, with_ids, s)


@pytest.mark.parametrize("name, make, with_ids", score_losses())
def test_one_class_batch(name, make, with_ids):
    s = torch.rand(6, requires_grad=True)
    with pytest.raises(ValueError, match="positive|negative"):
        run(make, with_ids, s, y=torch.zeros(6))


@pytest.mark.parametrize("name, make, with_ids", [c for c in score_losses() if c[2]])
def test_index_out_of_range(name, make, with_ids):
    s = torch.rand(6, requires_grad=True)
    with pytest.raises(ValueError, match="outside the state table"):
        run(make, with_ids, s, ids=torch.arange(6) + 8)
    with pytest.raises(ValueError, match="non-negative"):
        run(make, with_ids, s, ids=torch.arange(6) - 1)


@pytest.mark.parametrize("name, make, with_ids", score_losses())
def test_wrong_shapes(name, make, with_ids):
    s = torch.rand(5, requires_grad=True)
    with pytest.raises(ValueError, match="length|mismatch|values|ids"):
        run(make, with_ids, s)


@pytest.mark.parametrize("name, make, with_ids", score_losses())
def test_wrong_dtypes(name, make, with_ids):
    with pytest.raises(TypeError, match="floating-point"):
        run(make, with_ids, torch.ones(6, dtype=torch.long))
    if with_ids:
        with pytest.raises(TypeError, match="integer sample ids"):
            run(make, with_ids, torch.rand(6, requires_grad=True), ids=IDS.float())


@pytest.mark.parametrize("name, make, with_ids", score_losses())
def test_labels_not_binary(name, make, with_ids):
    with pytest.raises(ValueError, match="label"):
        run(make, with_ids, torch.rand(6, requires_grad=True), y=torch.tensor([1.0, 0.0, 2.0, 0.0, 0.0, 0.0]))


def test_bad_settings_are_errors_before_any_work():
    with pytest.raises(ValueError, match="gamma"):
        L.APLoss(data_len=10, gamma=1.5)
    with pytest.raises(ValueError, match="surr_loss"):
        L.APLoss(data_len=10, surr_loss="cubic")
    with pytest.raises(ValueError, match="version"):
        L.AUCMLoss(version="v3")
    with pytest.raises(ValueError):
        L.APLoss(data_len=10 ** 15)  # a table beyond memory: an error, not an allocation
    with pytest.raises(ValueError, match="learning rate"):
        O.SOAP([torch.nn.Parameter(torch.zeros(2))], lr=-1.0)
    with pytest.raises(TypeError, match="lr is required"):
        O.SONG([torch.nn.Parameter(torch.zeros(2))])
    with pytest.raises(ValueError, match="both classes"):
        DualSampler(None, 8, labels=np.zeros(20))


def test_ranking_batch_without_a_key():
    loss = L.NDCGLoss(N=20, num_user=4, num_item=10, num_pos=2)
    with pytest.raises(KeyError, match="ideal_dcg"):
        loss(torch.rand(2, 5, requires_grad=True), {"user_id": torch.tensor([0, 1]),
                                                   "user_item_id": torch.zeros(2, 5, dtype=torch.long),
                                                   "rating": torch.ones(2, 5), "num_pos_items": torch.ones(2)})


def test_a_state_from_another_data_set_is_refused():
    a, b = L.APLoss(data_len=10), L.APLoss(data_len=12)
    with pytest.raises(ValueError, match="u_all"):
        b.load_state_dict(a.state_dict())
