"""CDLM (Hou et al.): the modulation and its divergence analysis (Eq. 1-4, 10, 11-15), the
two-group update of Eq. 21-22, the capabilities, and a run through the normal loop."""
import numpy as np
import pytest
import torch

from dalab.data import DomainPair
from dalab.methods import METHODS, ConfigError
from dalab.methods.config import make_config
from dalab.methods.cdlm import (CDLM, CDLMConfig, _scale_grad, gaussian_kl, modulate,
                                modulation_moments)
from dalab.runs import load_run
from dalab.train import train

N = 200_000  # Monte-Carlo samples per check


def _fit(z):
    """Empirical per-dimension mean and std of samples ``(N, d)``."""
    return z.mean(0), z.std(0)


def _jeffreys(m1, s1, m2, s2):
    return gaussian_kl(m1, s1, m2, s2) + gaussian_kl(m2, s2, m1, s1)


# -- pure functions ---------------------------------------------------------------------------

def test_full_modulation_has_the_moments_of_eq3_eq4():
    g = torch.Generator().manual_seed(0)
    d = 5
    mu, sigma = torch.randn(d, generator=g), torch.rand(d, generator=g) + 0.5
    mu_h, sigma_h = torch.rand(d, generator=g), 0.1 + 0.3 * torch.rand(d, generator=g)
    h = mu_h + sigma_h * torch.randn(N, d, generator=g)           # h_other ~ N(mu_h, sigma_h^2)
    eps = torch.randn(N, d, generator=g)
    for gamma1, gamma2 in [(1.0, 0.1), (0.5, 0.5), (0.9, 0.0)]:
        z = modulate(mu, sigma, h, eps, gamma1, gamma2, "full")
        mean, std = _fit(z)
        m_ref, s_ref = modulation_moments(mu, sigma, mu_h, sigma_h, gamma1, gamma2, "full")
        assert torch.allclose(m_ref, mu + gamma1 * sigma * mu_h)  # Eq. 3 written out
        assert torch.allclose(s_ref ** 2, sigma ** 2 * (gamma1 ** 2 * sigma_h ** 2 + gamma2 ** 2))
        assert torch.allclose(mean, m_ref, atol=4 * float(s_ref.max()) / N ** 0.5)
        assert torch.allclose(std, s_ref, rtol=0.01)


@pytest.mark.parametrize("gamma1", [0.6, 0.8, 1.5])
def test_eq10_kl_between_transfer_codes_shrinks_by_the_gamma_factor(gamma1):
    """Eq. 10 under its assumptions: sigma_s = sigma_t = 1, h_t ~ N(mu_t, sigma_t^2),
    h_s ~ N(mu_s, sigma_s^2), gamma2 -> 0."""
    g = torch.Generator().manual_seed(1)
    d = 4
    mu_s, mu_t = torch.randn(d, generator=g), torch.randn(d, generator=g) + 1.0
    one = torch.ones(d)
    h_s = mu_s + torch.randn(N, d, generator=g)
    h_t = mu_t + torch.randn(N, d, generator=g)
    z_st = modulate(mu_s, one, h_t, torch.randn(N, d, generator=g), gamma1, 0.0, "full")
    z_ts = modulate(mu_t, one, h_s, torch.randn(N, d, generator=g), gamma1, 0.0, "full")
    kl_st_ts = gaussian_kl(*_fit(z_st), *_fit(z_ts))
    kl_s_t = gaussian_kl(mu_s, one, mu_t, one)
    ratio = ((1 - gamma1) / gamma1) ** 2
    assert float(kl_st_ts) == pytest.approx(ratio * float(kl_s_t), rel=0.05, abs=2e-3)
    if gamma1 > 0.5:
        assert kl_st_ts < kl_s_t


def test_pm1_reduces_the_symmetric_kl_eq12_eq14():
    g = torch.Generator().manual_seed(2)
    d = 4
    mu_s, mu_t = torch.randn(d, generator=g), torch.randn(d, generator=g)
    sigma_s, sigma_t = 0.3 + torch.rand(d, generator=g), 0.3 + 2 * torch.rand(d, generator=g)
    z_st = modulate(mu_s, sigma_s, None, torch.randn(N, d, generator=g), mode="pm1",
                    sigma_other=sigma_t)
    z_ts = modulate(mu_t, sigma_t, None, torch.randn(N, d, generator=g), mode="pm1",
                    sigma_other=sigma_s)
    (m_st, s_st), (m_ts, s_ts) = _fit(z_st), _fit(z_ts)
    eq12 = 0.5 * (4 * ((mu_s - mu_t) / (sigma_s + sigma_t)) ** 2).sum()
    assert float(gaussian_kl(m_st, s_st, m_ts, s_ts)) == pytest.approx(float(eq12), rel=0.03)
    assert _jeffreys(m_st, s_st, m_ts, s_ts) <= _jeffreys(mu_s, sigma_s, mu_t, sigma_t)  # Eq. 14


def test_pm2_leaves_the_symmetric_kl_unchanged():
    """Eq. 15 swaps the standard deviations: the symmetric KL of (st, ts) equals that of
    (s, t) exactly (Sec. 3.2.3, "preserves it")."""
    g = torch.Generator().manual_seed(3)
    d = 4
    mu_s, mu_t = torch.randn(d, generator=g), torch.randn(d, generator=g)
    sigma_s, sigma_t = 0.3 + torch.rand(d, generator=g), 0.3 + 2 * torch.rand(d, generator=g)
    z_st = modulate(mu_s, sigma_s, None, torch.randn(N, d, generator=g), mode="pm2",
                    sigma_other=sigma_t)
    z_ts = modulate(mu_t, sigma_t, None, torch.randn(N, d, generator=g), mode="pm2",
                    sigma_other=sigma_s)
    j_transfer = _jeffreys(*_fit(z_st), *_fit(z_ts))
    j_orig = _jeffreys(mu_s, sigma_s, mu_t, sigma_t)
    assert float(j_transfer) == pytest.approx(float(j_orig), rel=0.03)
    # ... while PM1 on the same domains reduces it
    m, s = modulation_moments(mu_s, sigma_s, None, None, mode="pm1", sigma_other=sigma_t)
    m2, s2 = modulation_moments(mu_t, sigma_t, None, None, mode="pm1", sigma_other=sigma_s)
    assert _jeffreys(m, s, m2, s2) < 0.97 * j_orig


def test_plain_vae_mode_and_bad_arguments():
    mu, sigma, eps = torch.zeros(3), torch.full((3,), 2.0), torch.ones(3)
    assert torch.equal(modulate(mu, sigma, torch.ones(3), eps, mode="none"), sigma * eps)
    with pytest.raises(ValueError, match="full, pm1, pm2, none"):
        modulate(mu, sigma, None, eps, mode="half")
    with pytest.raises(ValueError, match="sigma_other"):
        modulate(mu, sigma, None, eps, mode="pm1")
    with pytest.raises(ValueError, match="h_other"):
        modulate(mu, sigma, None, eps, mode="full")
    assert float(gaussian_kl(torch.zeros(4), torch.ones(4))) == 0.0


def test_scale_grad_scales_only_the_gradient():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = _scale_grad(x, 1e-4)
    assert torch.equal(y, x)
    (y * 3).sum().backward()
    assert torch.allclose(x.grad, torch.full((2,), 3e-4))


# -- the method -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_batch():
    pair = DomainPair("mnist", "digits")
    x_s = torch.from_numpy(np.array(pair.x_s_train[:32]))
    y_s = torch.from_numpy(np.array(pair.y_s_train[:32]))
    x_t = torch.from_numpy(np.array(pair.x_t_train[:32]))
    return x_s, y_s, x_t


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_capabilities(channels):
    m = CDLM(CDLMConfig(latent_dim=16), input_shape=(channels, 28, 28), num_classes=4)
    x = torch.rand(5, channels, 28, 28)
    lat = m.encode(x)
    assert lat.h.shape == lat.mu.shape == lat.sigma.shape == (5, 16)
    assert ((lat.h > 0) & (lat.h < 1)).all() and (lat.sigma > 0).all()
    for img in (m.translate(x), m.translate(x, via="z"), m.reconstruct(x, "source"),
                m.reconstruct(x, "target")):
        assert img.shape == x.shape and ((img > 0) & (img < 1)).all()
    assert m.predict(x).shape == (5, 4)
    assert {k: f(x).shape for k, f in m.extra_predictors().items()} == {
        "h": (5, 4), "zts": (5, 4)}
    assert {"encode", "translate", "reconstruct"} <= m.capabilities
    with pytest.raises(ValueError, match="source domain only"):
        m.translate(x, to="target")
    with pytest.raises(ValueError, match="source, target"):
        m.encode(x, domain="both")


def test_rejects_points_and_bad_options():
    with pytest.raises(ValueError, match="28x28 images"):
        CDLM(input_shape=(2,), num_classes=2)
    with pytest.raises(ConfigError, match="full, pm1, pm2, none"):
        make_config(CDLMConfig, overrides=["mode=half"])
    with pytest.raises(ValueError, match="consistency"):
        CDLM(CDLMConfig(consistency="some"), input_shape=(1, 28, 28), num_classes=10)


@pytest.mark.parametrize("consistency,decoded,keys", [
    ("both", 5, {"loss_c_s", "loss_c_t"}), ("source", 3, {"loss_c_s"}),
    ("target", 3, {"loss_c_t"}), ("none", 1, set())])
def test_consistency_switch_changes_what_is_computed(consistency, decoded, keys, mnist_batch):
    """Table 3's ablations: each L_c term costs two decoded batches, and only the terms that
    are switched on are computed and reported."""
    x_s, y_s, x_t = mnist_batch
    m = CDLM(CDLMConfig(consistency=consistency, lambda_gen=0.0), input_shape=(1, 28, 28),
             num_classes=10)
    sizes = []
    m.D.register_forward_hook(lambda mod, inp, out: sizes.append(len(inp[0])))
    m.D.fc.register_forward_hook(lambda mod, inp, out: sizes.append(len(inp[0])))
    m.on_fit_start(10)
    out = m.train_step(x_s, y_s, x_t, 1)
    assert sizes == [decoded * len(x_s)]  # D.logits bypasses D.forward: one call, via fc
    assert {k for k in out if k in ("loss_c_s", "loss_c_t")} == keys
    assert all(out[k] > 0 for k in keys)


def test_eq21_eq22_parameter_groups(mnist_batch):
    """With every phi-side weight at 0, the encoder gets no gradient at all: L_c and the
    theta share of L_Rec reach the decoder only. With lambda2 > 0 the encoder gets L_Rec's
    gradient scaled by lambda2."""
    x_s, y_s, x_t = mnist_batch
    zero = dict(lambda1=0.0, lambda2=0.0, lambda_adv=0.0, lambda_cls=0.0, lambda_gen=0.0)
    m = CDLM(CDLMConfig(**zero), input_shape=(1, 28, 28), num_classes=10)
    m.on_fit_start(10)
    torch.manual_seed(0)
    m.train_step(x_s, y_s, x_t, 1)
    assert all(p.grad is None or not p.grad.any() for p in m.E.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.D.parameters())
    grads = {}
    for lam in (1e-4, 2e-4):
        torch.manual_seed(0)
        m2 = CDLM(CDLMConfig(**{**zero, "lambda2": lam}), input_shape=(1, 28, 28),
                  num_classes=10)
        m2.on_fit_start(10)
        m2.train_step(x_s, y_s, x_t, 1)
        grads[lam] = m2.E.mu.weight.grad.clone()
    assert grads[1e-4].abs().sum() > 0
    assert torch.allclose(grads[2e-4], 2 * grads[1e-4], rtol=1e-3, atol=1e-9)


@pytest.mark.slow
def test_short_run_lowers_the_losses_and_decodes_real_images(mnist_batch):
    """60 steps on 16 fixed images (a larger decoder step and a short running mean so that a
    unit test sees the decoder leave the mean-image phase): the losses fall and the
    reconstructions are not one constant image."""
    x_s, y_s, x_t = (t[:16] for t in mnist_batch)
    torch.manual_seed(0)
    m = CDLM(CDLMConfig(latent_dim=16, lr_theta=1e-2, h_mean_decay=0.5), input_shape=(1, 28, 28),
             num_classes=10)
    m.on_fit_start(1000)
    first = m.train_step(x_s, y_s, x_t, 1)
    for step in range(2, 61):
        last = m.train_step(x_s, y_s, x_t, step)
    assert last["loss"] < 0.5 * first["loss"]
    assert last["loss_rec"] < 0.5 * first["loss_rec"]
    assert last["loss_cls"] < first["loss_cls"]
    assert last["loss_c_s"] > 0 and last["loss_c_t"] > 0
    m.eval()
    with torch.no_grad():
        rec = m.reconstruct(x_s, "source")
    assert rec.std(0).mean() > 0.02  # the mean image would give 0
    err_own = ((rec - x_s) ** 2).mean()
    err_other = ((rec - x_s.roll(1, 0)) ** 2).mean()  # each reconstruction vs another input
    assert err_own < 0.9 * err_other


@pytest.mark.slow
def test_train_save_load_round_trip(tmp_path, monkeypatch, npz_domain):
    """Through the normal loop (small npz image domains keep it fast): the run reports all
    readouts and reloads to identical predictions, translations and running means."""
    monkeypatch.setitem(METHODS, "cdlm", CDLM)
    source, target = npz_domain("s", seed=0), npz_domain("t", seed=1)
    model, res, run_dir = train("cdlm", source, target, 10, seed=0, eval_every=10,
                                out=tmp_path / "run", overrides=["latent_dim=16",
                                                                 "batch_size=16"])
    assert res.status == "finished"
    assert {"target_test", "target_test_h", "target_test_zts"} <= set(res.accuracy)
    reloaded, info = load_run(run_dir)
    assert info["method"] == "cdlm" and info["config"]["latent_dim"] == 16
    x = torch.from_numpy(np.array(DomainPair(source, target).evaluation.x_test))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.predict(x), reloaded.predict(x))
        for k, fn in model.extra_predictors().items():
            assert torch.equal(fn(x), reloaded.extra_predictors()[k](x))
        assert torch.equal(model.translate(x, via="z"), reloaded.translate(x, via="z"))
    assert torch.equal(model.h_mean_s, reloaded.h_mean_s)
    assert not torch.equal(model.h_mean_s, torch.full_like(model.h_mean_s, 0.5))  # trained


def test_unequal_batch_sizes_are_paired_by_cycling(mnist_batch):
    x_s, y_s, x_t = mnist_batch
    m = CDLM(CDLMConfig(latent_dim=16), input_shape=(1, 28, 28), num_classes=10)
    m.on_fit_start(10)
    out = m.train_step(x_s[:8], y_s[:8], x_t[:5], 1)
    assert all(np.isfinite(v) for v in out.values())


def test_lc_to_phi_lets_the_consistency_loss_reach_the_encoder(mnist_batch):
    """Eq. 21-22 as printed (the default): with every phi-side weight at 0, L_c gives the
    encoder nothing. ``lc_to_phi`` (our reading test) sends L_c's gradient to h, mu and sigma."""
    x_s, y_s, x_t = mnist_batch
    zero = dict(lambda1=0.0, lambda2=0.0, lambda_adv=0.0, lambda_cls=0.0, lambda_gen=0.0)
    for flag, reaches in ((False, False), (True, True)):
        torch.manual_seed(0)
        m = CDLM(CDLMConfig(**zero, lc_to_phi=flag), input_shape=(1, 28, 28), num_classes=10)
        m.on_fit_start(10)
        m.train_step(x_s, y_s, x_t, 1)
        for head in (m.E.h, m.E.mu, m.E.log_sigma):
            got = head.weight.grad is not None and bool(head.weight.grad.abs().sum() > 0)
            assert got == reaches, (flag, head)


def test_image_classifier_reads_the_target_through_its_source_style_generation(mnist_batch):
    """``classifier="image"`` (issue 22's reading (a)): a separate LeNet image classifier T,
    updated with phi, learns on real source images and on x~_s; the readout is T(D(gamma1 h_t))
    and the softmax layer C on h gets no gradient."""
    x_s, y_s, x_t = mnist_batch
    torch.manual_seed(0)
    m = CDLM(CDLMConfig(latent_dim=16, classifier="image"), input_shape=(1, 28, 28),
             num_classes=10)
    m.on_fit_start(10)
    out = m.train_step(x_s, y_s, x_t, 1)
    assert "loss_gen" in out and np.isfinite(out["loss_cls"])
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.T.parameters())
    assert all(p.grad is None or not p.grad.any() for p in m.C.parameters())
    assert any(p is q for q in m.T.parameters() for p in m.optimizers["phi"].param_groups[0]
               ["params"])
    # the generation's CE reaches the decoder and the encoder's h (joint, Sec. 4.2)
    assert m.E.h.weight.grad.abs().sum() > 0 and m.D.fc.weight.grad.abs().sum() > 0
    m.eval()
    with torch.no_grad():
        assert torch.equal(m.predict(x_t), m.T(m.D(m.config.gamma1 * m.E(x_t)[2])))
        assert torch.equal(m.extra_predictors()["h"](x_t), m.T(x_t))
    with pytest.raises((ValueError, ConfigError)):
        make_config(CDLMConfig, overrides=["classifier=linear"])
