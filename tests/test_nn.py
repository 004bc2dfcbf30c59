import math

import pytest
import torch

from dalab.nn import LeNetFeatures, grad_reverse, grl_lambda, make_classifier, make_features
from dalab.losses import domain_adversarial_loss, entropy


@pytest.mark.parametrize("lambd", [0.0, 0.3, 1.0])
def test_grl_is_identity_forward_and_negates_gradient(lambd):
    x = torch.randn(5, 3, requires_grad=True)
    y = grad_reverse(x, lambd)
    assert torch.equal(y, x)
    up = torch.randn(5, 3)
    y.backward(up)
    assert torch.allclose(x.grad, -lambd * up)


def test_grl_schedule():
    assert grl_lambda(0.0) == 0.0
    assert grl_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert grl_lambda(1.0) == pytest.approx(0.99991, abs=1e-5)
    assert grl_lambda(2.0) == grl_lambda(1.0)  # progress is clipped
    vals = [grl_lambda(p / 10) for p in range(11)]
    assert vals == sorted(vals)


def test_lenet_shapes():
    g = LeNetFeatures(3)
    assert g(torch.rand(4, 3, 28, 28)).shape == (4, 768)
    assert make_features((2,))(torch.rand(4, 2)).shape == (4, 64)
    assert make_classifier(768, 10)(torch.rand(4, 768)).shape == (4, 10)
    with pytest.raises(ValueError):
        make_features((3, 28))


def test_domain_loss_and_entropy():
    big = torch.full((4,), 20.0)
    assert domain_adversarial_loss(big, -big) < 1e-6      # perfect discriminator
    assert domain_adversarial_loss(-big, big) > 10        # inverted discriminator
    assert entropy(torch.zeros(3, 4)) == pytest.approx(math.log(4))
    assert entropy(torch.tensor([[50.0, 0.0]])) < 1e-6


@pytest.mark.parametrize("shape, k, s", [((4, 32, 24, 24), 2, 2), ((3, 8, 28, 28), 2, 1),
                                         ((2, 16, 27, 27), 2, 2), ((2, 5, 9, 9), 3, 2)])
def test_max_pool2d_is_bit_identical_to_torch(shape, k, s):
    """dalab.nn.max_pool2d (torch's channels-last kernel) gives F.max_pool2d's values, indices
    and gradients exactly, with ties (ReLU zeros), overlapping windows and odd sizes."""
    from dalab.nn import max_pool2d
    torch.manual_seed(0)
    x0 = torch.relu(torch.randn(shape))
    x0[0, 0, :4, :4] = 1.0  # a window of equal maxima
    outs = []
    for pool in (torch.nn.functional.max_pool2d, max_pool2d):
        x = x0.clone().requires_grad_()
        y, idx = pool(x, k, s, return_indices=True)
        y.backward(torch.linspace(-1, 1, y.numel()).reshape(y.shape))
        assert y.is_contiguous() and idx.is_contiguous()
        outs.append((y, idx, x.grad))
    for a, b in zip(*outs):
        assert torch.equal(a, b)
    assert torch.equal(max_pool2d(x0, k, s), torch.nn.functional.max_pool2d(x0, k, s))
