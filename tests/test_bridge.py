"""Bridging VAE (dalab/methods/bridge.py): pure helpers, phases, capabilities, round trip."""
import math

import numpy as np
import ot  # POT, the reference sliced Wasserstein implementation (requirements-dev.txt)
import pytest
import torch

from dalab.methods import METHODS
from dalab.analysis.evaluate import transfer_accuracy
from dalab.experiments import bridge_2d
from dalab.methods.bridge import (BaseVAE, Bridge, BridgeConfig, GatedMixing, lerp,
                                  random_projections, slerp, sliced_wasserstein)
from dalab.runs import load_run
from dalab.train import train

# small networks: every test runs in seconds on one thread
SMALL = dict(batch_size=16, bridge_hidden=32, bridge_layers=2, base_hidden=32, n_latent=8,
             n_projections=32)


def small(**kw):
    return BridgeConfig(**{**SMALL, **kw})


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


# -- Gated Mixing Layer ----------------------------------------------------------------------
def test_gml_starts_near_identity():
    gml = GatedMixing(hidden=64, in_features=8, out_features=8)
    h, u = torch.relu(torch.randn(256, 64)), torch.randn(256, 8)
    out = gml(h, u)
    assert gml.gate(h).mean() < 0.2
    assert (out - u).norm() / u.norm() < 0.3
    # the mixing is exactly (1 - g) * W_z u + g * dz
    dz, g_logit = gml.mix(h).split(8, dim=1)
    g = torch.sigmoid(g_logit)
    assert torch.allclose(out, (1 - g) * gml.skip(u) + g * dz)
    # a different output size keeps the first coordinates
    wide = GatedMixing(hidden=64, in_features=10, out_features=4)
    assert (wide(h, torch.cat([u, u[:, :2]], 1)) - u[:, :4]).norm() / u[:, :4].norm() < 0.3


# -- sliced Wasserstein ----------------------------------------------------------------------
def test_swd_is_zero_for_identical_samples_and_positive_otherwise():
    a = torch.randn(64, 5)
    assert sliced_wasserstein(a, a, 50).item() == 0.0
    assert sliced_wasserstein(a, a[torch.randperm(64)], 50).item() == 0.0  # a set, not a list
    assert sliced_wasserstein(a, a + 0.5, 50).item() > 0.0
    with pytest.raises(ValueError, match="one shape"):
        sliced_wasserstein(a, a[:10], 50)


@pytest.mark.parametrize("p", [1, 2])
def test_swd_equals_pot_with_the_same_projections(p):
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(100, 6, generator=g, dtype=torch.float64), \
        1.5 * torch.randn(100, 6, generator=g, dtype=torch.float64) + 0.7
    proj = random_projections(6, 40, g, dtype=torch.float64)
    ours = sliced_wasserstein(a, b, projections=proj, p=p).item()
    ref = ot.sliced_wasserstein_distance(a.numpy(), b.numpy(), projections=proj.numpy(), p=p)
    assert ours == pytest.approx(float(ref) ** p, rel=1e-10)


def test_swd_matches_pot_within_monte_carlo_tolerance():
    # independent directions on both sides: each estimate has ~1.1 % relative spread here
    # (measured over 20 seeds), so 7 % is > 4 standard deviations of the difference
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (200, 5))
    b = rng.normal(1, 2, (200, 5))
    ours = sliced_wasserstein(torch.from_numpy(a), torch.from_numpy(b), 2000,
                              torch.Generator().manual_seed(1)).item()
    ref = ot.sliced_wasserstein_distance(a, b, n_projections=2000, p=2, seed=2) ** 2
    assert ours == pytest.approx(ref, rel=0.07)
    assert not ours == pytest.approx(1.3 * ref, rel=0.07)  # a wrong scale would fail


def test_swd_is_differentiable():
    a = torch.randn(32, 3, requires_grad=True)
    sliced_wasserstein(a, torch.randn(32, 3) + 2, 16).backward()
    assert a.grad is not None and a.grad.abs().sum() > 0


# -- interpolation ---------------------------------------------------------------------------
def test_slerp_keeps_the_norm_and_lerp_dips():
    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(2, 64, generator=g)
    z_a, z_b = 3 * z_a / z_a.norm(), 3 * z_b / z_b.norm()
    t = torch.linspace(0, 1, 11)
    s, li = slerp(z_a, z_b, t), lerp(z_a, z_b, t)
    assert s.shape == li.shape == (11, 64)
    assert torch.allclose(s.norm(dim=1), torch.full((11,), 3.0), atol=1e-4)
    assert torch.allclose(s[0], z_a, atol=1e-5) and torch.allclose(s[-1], z_b, atol=1e-5)
    assert torch.allclose(li[0], z_a) and torch.allclose(li[-1], z_b)
    cos = float(z_a @ z_b) / 9
    assert li[5].norm() == pytest.approx(3 * math.sqrt((1 + cos) / 2), rel=1e-4)
    assert li[5].norm() < 0.9 * 3  # nearly orthogonal Gaussian vectors: a clear dip


def test_slerp_batches_and_degenerate_endpoints():
    z = torch.randn(4, 8)
    assert slerp(z, -z.flip(0), [0.0, 0.5, 1.0]).shape == (3, 4, 8)
    same_dir = slerp(z[0], 2 * z[0], torch.linspace(0, 1, 5))  # parallel: falls back to lerp
    assert torch.isfinite(same_dir).all()
    assert torch.allclose(same_dir, lerp(z[0], 2 * z[0], torch.linspace(0, 1, 5)), atol=1e-5)


# -- the method ------------------------------------------------------------------------------
def test_rejects_unsupported_shapes_and_options():
    with pytest.raises(ValueError, match=r"\(C, H, W\) or points"):
        Bridge(input_shape=(1, 28), num_classes=10)
    m = Bridge(small(), input_shape=(1, 28, 28), num_classes=3)
    with pytest.raises(ValueError, match="source, target"):
        m.transfer(torch.rand(2, 1, 28, 28), to="mnist")
    with pytest.raises(ValueError, match="slerp, lerp"):
        m.interpolate(torch.rand(1, 28, 28), torch.rand(1, 28, 28), kind="linear")
    with pytest.raises(ValueError, match="n_sup"):
        Bridge(small(n_sup=-2), input_shape=(2,), num_classes=2)


def test_phases_train_base_vaes_then_only_the_bridge():
    m = Bridge(small(), input_shape=(1, 28, 28), num_classes=3)
    m.on_fit_start(4)
    assert m.base_steps() == 2
    x, y = torch.rand(16, 1, 28, 28), torch.arange(16) % 3
    vae, bridge = params(m.vae_s) + params(m.vae_t), params(m.E) + params(m.D) + params(m.f)
    assert m.train_step(x, y, x, 1)["phase"] == 1.0
    assert not same(vae, params(m.vae_s) + params(m.vae_t))
    assert same(bridge, params(m.E) + params(m.D) + params(m.f))
    vae = params(m.vae_s) + params(m.vae_t)
    out = m.train_step(x, y, x, 3)
    assert out["phase"] == 2.0 and {"swd", "loss_cls", "recon_s", "kl_t"} <= set(out)
    assert same(vae, params(m.vae_s) + params(m.vae_t))  # frozen
    assert not same(bridge, params(m.E) + params(m.D) + params(m.f))


def test_target_labels_are_never_used():
    def run(y_t):
        torch.manual_seed(0)
        m = Bridge(small(), input_shape=(2,), num_classes=2)
        torch.manual_seed(1)
        x = torch.randn(16, 2)
        m.train_step(x, torch.arange(16) % 2, x + 1, 1, y_t=y_t)
        return params(m)
    assert same(run(None), run(torch.ones(16, dtype=torch.long)))
    assert not Bridge.uses_target_labels


def test_n_sup_keeps_that_many_source_images_per_class():
    m = Bridge(small(n_sup=2), input_shape=(2,), num_classes=3)
    for step in range(1, 4):
        x = torch.randn(16, 2)
        m.train_step(x, torch.arange(16) % 3, x, step)
    assert [len(m._labelled[c]) for c in range(3)] == [2, 2, 2]
    x_l, y_l = m._labelled_batch(10)
    assert x_l.shape == (10, 2) and set(y_l.tolist()) <= {0, 1, 2}
    none = Bridge(small(n_sup=0), input_shape=(2,), num_classes=3)
    assert "loss_cls" not in none.train_step(torch.randn(16, 2), torch.arange(16) % 3,
                                             torch.randn(16, 2), 1)


def test_from_base_copies_the_vaes_and_trains_only_the_bridge():
    vae_s, vae_t = BaseVAE((1, 28, 28), 8, 32), BaseVAE((1, 28, 28), 8, 32)
    m = Bridge.from_base(vae_s, vae_t, small(base_fraction=0.7), num_classes=3)
    assert m.config.base_fraction == 0.0 and m.base_steps() == 0
    assert same(params(m.vae_t), params(vae_t)) and not same(params(m.vae_s), params(vae_t))
    x, y = torch.rand(16, 1, 28, 28), torch.arange(16) % 3
    assert m.train_step(x, y, x, 1)["phase"] == 2.0
    assert same(params(m.vae_s), params(vae_s))
    with pytest.raises(ValueError, match="architecture"):
        Bridge.from_base(vae_s, BaseVAE((1, 28, 28), 4, 32), small(), num_classes=3)


def test_unconditional_ablation_ignores_the_domain():
    m = Bridge(small(conditional=False), input_shape=(2,), num_classes=2)
    x = torch.randn(8, 2)
    with torch.no_grad():
        assert torch.equal(m.transfer(x, "target"), m.reconstruct(x, "source"))
        cond = Bridge(small(), input_shape=(2,), num_classes=2)
        cond.D.mu.skip.weight[:, -2:].fill_(1.0)  # make the one-hot matter visibly
        cond.D.mu.skip.weight[:, -1] *= -1
        assert not torch.allclose(cond.transfer(x, "target"), cond.reconstruct(x, "source"))


@pytest.mark.parametrize("channels", [1, 3])
def test_transfer_and_interpolate_shapes_and_ranges(channels):
    m = Bridge(small(), input_shape=(channels, 28, 28), num_classes=10)
    x = torch.rand(5, channels, 28, 28)
    with torch.no_grad():
        for out in (m.transfer(x, "target"), m.translate(x, "source"),
                    m.reconstruct(x, "target")):
            assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
        lat = m.encode(x, "source")
        assert lat.mu.shape == lat.sigma.shape == (5, 8) and (lat.sigma > 0).all()
        assert m.predict(x).shape == (5, 10)
    for kind in ("slerp", "lerp"):
        rows = m.interpolate(x[0], x[1], steps=6, kind=kind)
        assert rows.shape == (3, 6, channels, 28, 28)
        assert rows.min() >= 0 and rows.max() <= 1
    # row 0 starts and ends at the decoded end points; row 2 is row 0's path transferred
    with torch.no_grad():
        z = m._base_latent("source", x[:2])
        assert torch.allclose(rows[0, 0], m.vae_s.decode(z[:1])[0], atol=1e-5)
        assert torch.allclose(rows[2, -1], m.transfer(x[1:2], "target")[0], atol=1e-5)
        assert torch.allclose(rows[1, 0], rows[2, 0], atol=1e-5)  # the transferred end points


@pytest.mark.slow
def test_short_training_lowers_the_bridge_loss():
    torch.manual_seed(0)
    m = Bridge(small(batch_size=64), input_shape=(2,), num_classes=2)
    g = torch.Generator().manual_seed(0)
    losses = []
    for step in range(1, 151):
        x_s = torch.randn(64, 2, generator=g) * torch.tensor([2.0, 1.0]) - 4
        x_t = torch.randn(64, 2, generator=g) * torch.tensor([1.0, 2.0]) + 4
        losses.append(m.train_step(x_s, (x_s[:, 1] > -4).long(), x_t, step)["loss"])
    assert np.mean(losses[-20:]) < 0.7 * np.mean(losses[:20])


def test_short_training_lowers_the_base_vae_loss():
    torch.manual_seed(0)
    m = Bridge(small(base_lr=3e-3), input_shape=(1, 28, 28), num_classes=2)
    m.on_fit_start(10_000)
    x = torch.zeros(16, 1, 28, 28)
    for i in range(16):  # four bar images the VAE can learn to reconstruct
        x[i, 0, 4 + (i % 4) * 5:8 + (i % 4) * 5, 4:24] = 1.0
    losses = [m.train_step(x, torch.zeros(16, dtype=torch.long), x, s)["loss_vae_s"]
              for s in range(1, 61)]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def test_transfer_accuracy_counts_agreement_between_domain_classifiers():
    m = Bridge(small(), input_shape=(1, 28, 28), num_classes=3)
    x_s, x_t = np.random.rand(7, 1, 28, 28), np.random.rand(5, 1, 28, 28)

    def const(k):
        return lambda x: torch.nn.functional.one_hot(torch.full((len(x),), k), 3).float()
    assert transfer_accuracy(m, x_s, x_t, const(1), const(1), batch_size=3) == \
        {"source->target": 1.0, "target->source": 1.0}
    assert transfer_accuracy(m, x_s, x_t, const(0), const(2))["source->target"] == 0.0

    def by_mean(x):  # a class from the image's brightness: agreement is data-dependent
        v = x.flatten(1).mean(1)
        return torch.stack([v, 0.5 - v, torch.zeros_like(v)], 1)
    acc = transfer_accuracy(m, x_s, x_t, by_mean, by_mean, reference="decoded")
    assert all(0.0 <= a <= 1.0 for a in acc.values())
    with pytest.raises(ValueError, match="data, decoded"):
        transfer_accuracy(m, x_s, x_t, by_mean, by_mean, reference="raw")


def test_bridge_2d_returns_the_figure_arrays():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(-4, 1, (60, 2)), rng.normal(4, 1, (50, 2))
    y1, y2 = (x1[:, 1] > 0).astype(int), (x2[:, 0] < 4).astype(int)
    out = bridge_2d(x1, y1, x2, y2, steps=20, labels="both",
                    config=dict(batch_size=16, bridge_hidden=16, bridge_layers=2))
    assert out["shared_1"].shape == (60, 2) and out["shared_2"].shape == (50, 2)
    assert out["x_12"].shape == (60, 2) and out["x_21"].shape == (50, 2)
    assert out["recon_1"].shape == (60, 2) and out["boundary_w"].shape == (2, 2)
    assert len(out["losses"]) == 20 and np.isfinite(out["losses"]).all()
    again = bridge_2d(x1, y1, x2, y2, steps=20, labels="both",
                      config=dict(batch_size=16, bridge_hidden=16, bridge_layers=2))
    assert np.array_equal(out["x_12"], again["x_12"])  # seeded
    with pytest.raises(ValueError, match="source, both, none"):
        bridge_2d(x1, y1, x2, y2, steps=1, labels="target")


def test_fit_save_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setitem(METHODS, "bridge", Bridge)
    cfg = {**SMALL, "n_sup": 3}
    model, res, run_dir = train("bridge", "mnist", "digits", 12, config=cfg, seed=0,
                                eval_every=6, out=tmp_path / "run")
    assert res.status == "finished" and [h["phase"] for h in res.history] == [1.0, 2.0]
    reloaded, info = load_run(run_dir)
    assert info["config"]["n_sup"] == 3 and info["uses_target_labels"] is False
    x = torch.rand(6, 1, 28, 28)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.predict(x), reloaded.predict(x))
        assert torch.equal(model.transfer(x, "target"), reloaded.transfer(x, "target"))
        assert torch.equal(model.encode(x, "source").mu, reloaded.encode(x, "source").mu)
