"""LST-Net (Friedjungová et al., ESANN 2020): shared modules, Eq. 1's cycle terms, translation,
training through fit() and the run round trip. Small widths and batches keep this < 60 s."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from dalab.data import DomainPair
from dalab.methods import METHODS
from dalab.analysis.evaluate import evaluate_reverse
from dalab.methods.lstnet import (DomainBatchNorm2d, LSTNet, LSTNetConfig, bn_domain,
                                  cycle_loss, lstnet_objectives, random_affine)
from dalab.runs import load_run
from dalab.train import train

TINY = LSTNetConfig(width=1 / 16, batch_size=8)


def tiny(channels=1, **kw):
    cfg = LSTNetConfig(**{**TINY.__dict__, **kw})
    return LSTNet(cfg, input_shape=(channels, 28, 28), num_classes=10)


def _ids(module):
    return {id(p) for p in module.parameters()}


def test_shared_parts_are_one_module():
    m = tiny()
    # E_1 = E_s o E_1*, E_2 = E_s o E_2*: the shared parameters are the very same tensors
    assert _ids(m.E1) & _ids(m.E2) == _ids(m.E_s) != set()
    assert _ids(m.G1) & _ids(m.G2) == _ids(m.G_s) != set()
    assert not _ids(m.E1_star) & _ids(m.E2_star) and not _ids(m.G1_star) & _ids(m.G2_star)
    # each tensor once in the weights and in the translator's optimizer
    names = list(m.state_dict())
    assert any(k.startswith("E_s.") for k in names) and not any(".E_s." in k for k in names)
    params = m.translator()
    assert len(params) == len({id(p) for p in params})
    # a change to E_s through E_1 shows in E_2's output
    x = torch.rand(4, 1, 28, 28)
    m.eval()
    before = m.encode(x, "target").h.clone()
    with torch.no_grad():
        m.E1[1][0].weight.add_(0.5)
    assert not torch.allclose(before, m.encode(x, "target").h)


def test_cycle_losses_are_zero_for_identity_maps_and_wired_as_eq1():
    """With every encoder/generator the identity, all four cycles of Eq. 1 are exact, so
    the terms are 0; swapping a translation shows up as a non-zero term."""
    m = tiny()
    for name in ("E1_star", "E2_star", "E_s", "G_s", "G1_star", "G2_star"):
        setattr(m, name, nn.Identity())
    a1, a2 = torch.rand(6, 1, 28, 28) * 2 - 1, torch.rand(6, 1, 28, 28) * 2 - 1
    out = m.forward_all(a1, a2)
    cc = lstnet_objectives(a1, a2, out)
    assert set(cc) == {"cc1", "cc2", "cc3", "cc4"}
    assert all(v.item() == 0.0 for v in cc.values())
    assert torch.equal(out["x21"], a2) and torch.equal(out["x12"], a1)
    bad = dict(out, x121=out["x21"])  # a miswired cycle
    assert lstnet_objectives(a1, a2, bad)["cc3"].item() > 0.1
    # ||x - x_rec||_1 per image (sum over pixels), averaged over images; or a per-pixel mean
    zero, half = torch.zeros(2, 1, 28, 28), torch.full((2, 1, 28, 28), 0.5)
    assert cycle_loss(zero, half, "sum").item() == pytest.approx(0.5 * 784)
    assert cycle_loss(zero, half).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="sum, mean"):
        cycle_loss(zero, half, "max")


@pytest.mark.parametrize("channels", [1, 3])
def test_translate_shapes_and_ranges(channels):
    m = tiny(channels).eval()
    x = torch.rand(5, channels, 28, 28)
    for to in ("source", "target"):
        y = m.translate(x, to=to)
        assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    for dom in ("source", "target"):
        assert m.reconstruct(x, dom).shape == x.shape
        assert m.encode(x, dom).h.shape == (5, 8 * 49)  # 128 * width channels of 7 x 7
    assert m.predict(x).shape == (5, 10)
    with pytest.raises(ValueError, match="source, target"):
        m.translate(x, to="mnist")
    with pytest.raises(ValueError, match="source, target"):
        m.reconstruct(x, "both")


def test_domain_batch_norm_keeps_statistics_per_origin_domain():
    bn = DomainBatchNorm2d(3)
    x = torch.randn(16, 3, 4, 4) * 2 + 5
    with bn_domain(bn, 1, track=False):   # the cycle pass: batch statistics, no update
        bn(x)
    assert torch.equal(bn.running_mean_1, torch.zeros(3))
    with bn_domain(bn, 1):
        bn(x)
    assert bn.running_mean_1.min() > 0.3 and torch.equal(bn.running_mean_0, torch.zeros(3))
    # eval mode: translating target images uses the target statistics only
    m = tiny().eval()
    x_t = torch.rand(4, 1, 28, 28)
    before = m.translate(x_t, to="source")
    for mod in m.modules():
        if isinstance(mod, DomainBatchNorm2d):
            mod.running_mean_0.add_(1.0)
    assert torch.equal(before, m.translate(x_t, to="source"))
    for mod in m.modules():
        if isinstance(mod, DomainBatchNorm2d):
            mod.running_mean_1.add_(1.0)
    assert not torch.allclose(before, m.translate(x_t, to="source"))


def test_unsupported_inputs_are_refused():
    with pytest.raises(ValueError, match="28 x 28"):
        LSTNet(input_shape=(2,), num_classes=2)
    with pytest.raises(ValueError, match="28 x 28"):
        LSTNet(input_shape=(1, 32, 32), num_classes=2)


def test_augmentation_is_the_identity_at_zero_and_moves_pixels_otherwise():
    x = torch.rand(4, 1, 28, 28)
    same = random_affine(x, rotate_deg=0, scale=(1, 1), shift_px=0)
    assert torch.allclose(same, x, atol=1e-5)
    moved = random_affine(x)
    assert moved.shape == x.shape and not torch.allclose(moved, x, atol=1e-2)
    m = tiny(paper_augment=True)
    m.on_fit_start(2)
    out = m.train_step(torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,)),
                       torch.rand(8, 1, 28, 28), 1)
    assert all(math.isfinite(v) for v in out.values())


def test_one_step_updates_discriminators_then_translator_and_restores_grads():
    m = tiny()
    m.on_fit_start(2)
    d0 = [p.detach().clone() for p in m.discriminators()]
    t0 = [p.detach().clone() for p in m.translator()]
    out = m.train_step(torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,)),
                       torch.rand(8, 1, 28, 28), 1)
    assert any(not torch.equal(a, b) for a, b in zip(d0, m.discriminators()))
    assert any(not torch.equal(a, b) for a, b in zip(t0, m.translator()))
    assert all(p.requires_grad for p in m.parameters())
    for k in ("loss", "loss_d", "loss_dl", "cc1", "cc2", "cc3", "cc4", "loss_cls"):
        assert math.isfinite(out[k])
    # the E/G objective of Eq. 1 is the weighted sum it reports
    cfg = m.config
    assert out["loss"] == pytest.approx(
        cfg.w1 * out["adv1"] + cfg.w2 * out["adv2"] + cfg.wl * out["advl"]
        + 100 * (out["cc1"] + out["cc2"] + out["cc3"] + out["cc4"]), rel=1e-4)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setitem(METHODS, "lstnet", LSTNet)
    out = tmp_path_factory.mktemp("runs") / "lstnet"
    model, res, run_dir = train("lstnet", "mnist", "digits", 30, seed=0, eval_every=15,
                                overrides=["width=0.0625", "batch_size=16", "lr=3e-4"], out=out)
    yield model, res, run_dir
    mp.undo()


@pytest.mark.slow
def test_short_training_lowers_the_loss(short_run):
    _, res, _ = short_run
    first, last = res.history[0], res.history[-1]
    assert res.status == "finished" and len(res.history) == 2
    # means over steps 1-15 and 16-30: the E/G objective of Eq. 1 and its four cycle terms
    assert last["loss"] < 0.9 * first["loss"]
    cc = lambda h: h["cc1"] + h["cc2"] + h["cc3"] + h["cc4"]  # noqa: E731
    assert cc(last) < 0.9 * cc(first)
    for k in ("target_test", "target_test_no_translation", "target_test_target_style"):
        assert 0.0 <= res.accuracy[k] <= 1.0


def test_save_load_round_trip_gives_identical_translations_and_predictions(short_run):
    model, res, run_dir = short_run
    reloaded, info = load_run(run_dir)
    assert info["method"] == "lstnet" and info["config"]["width"] == 0.0625
    assert info["config"]["lr"] == 3e-4
    pair = DomainPair("mnist", "digits")
    x_t = torch.from_numpy(np.array(pair.evaluation.x_test[:50], np.float32))
    x_s = torch.from_numpy(np.array(pair.x_s_test[:50], np.float32))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.translate(x_t, to="source"), reloaded.translate(x_t, to="source"))
        assert torch.equal(model.translate(x_s, to="target"), reloaded.translate(x_s, to="target"))
        assert torch.equal(model.predict(x_t), reloaded.predict(x_t))
        assert torch.equal(model.predict_target_style(x_t), reloaded.predict_target_style(x_t))
    assert _ids(reloaded.E1) & _ids(reloaded.E2) == _ids(reloaded.E_s)


@pytest.mark.slow
def test_evaluate_reverse_reports_both_accuracies(short_run):
    model, _, _ = short_run
    pair = DomainPair("mnist", "digits")
    out = evaluate_reverse(model, pair, steps=5, batch_size=16)
    assert set(out) == {"target_classifier_on_target", "reverse"}
    assert all(0.0 <= v <= 1.0 for v in out.values())


@pytest.mark.slow
def test_a_small_lstnet_translates_above_chance_and_reconstructs_better_than_a_constant():
    """The method's effect, not just a falling loss: a small LST-Net (width 1/16, batch 32,
    150 steps, one thread) on three MNIST classes -> the same classes *inverted* (1 - x, other
    images). The source classifier on raw target images is below chance (an inverted 0 is not
    a 0 to it); through the translation G_1(E_2(x_t)) it must be far above, and the target
    autoencoder must beat the best constant image (the collapse the issue found)."""
    from dalab.data import load_domain, pair_from_arrays
    from dalab.train import build_for, fit

    classes = (0, 1, 7)
    d = load_domain("mnist").train
    keep = np.random.default_rng(0).permutation(np.flatnonzero(np.isin(d.y, classes)))[:1200]
    x, y = d.x[keep], np.searchsorted(classes, d.y[keep])
    pair = pair_from_arrays(x[:600], y[:600], 1.0 - x[600:], y[600:], test_fraction=0.3)
    torch.manual_seed(0)
    model = build_for("lstnet", pair, overrides=["width=0.0625", "batch_size=32"], seed=0)
    result = fit(model, pair, 150, device="cpu", seed=0, eval_every=150)
    acc, raw = result.accuracy["target_test"], result.history[-1]["target_test_no_translation"]
    assert acc > 0.8 and acc > raw + 0.4, (acc, raw)
    x_t = torch.from_numpy(np.array(pair.evaluation.x_test))
    model.eval()
    with torch.no_grad():
        err = (model.reconstruct(x_t, "target") - x_t).abs().mean().item()
    const = torch.from_numpy(np.median(np.array(pair.x_t_train), axis=0))
    err_const = (x_t - const).abs().mean().item()
    assert err < 0.7 * err_const, f"target reconstruction L1 {err:.3f} vs constant {err_const:.3f}"
