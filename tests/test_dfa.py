"""DFA (dfa_ent, dfa_mcd): tied decoder, DAL, KL forms, Algorithm 1, the 2-D toy, runs."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dalab.methods import METHODS, build_method
from dalab.experiments import dal_toy
from dalab.methods.dfa import (ConvAutoencoder, DFAEnt, DFAEntConfig, DFAMCD, MLPAutoencoder,
                               classifier_discrepancy, distribution_alignment_loss,
                               feature_prior_kl, softmax_kl)
from dalab.runs import load_run
from dalab.train import train


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(METHODS, "dfa_ent", DFAEnt)
    monkeypatch.setitem(METHODS, "dfa_mcd", DFAMCD)


def _images(n=8, c=1, seed=0):
    return torch.rand(n, c, 28, 28, generator=torch.Generator().manual_seed(seed))


# -- the tied decoder ----------------------------------------------------------------------------

def test_tied_decoder_uses_the_encoder_tensors_and_gets_gradients_from_both_paths():
    ae = ConvAutoencoder(1, tied=True)
    w1, w2 = ae.decoder_weights()
    assert w1 is ae.conv1.weight and w2 is ae.conv2.weight
    names = [n for n, _ in ae.named_parameters()]
    assert not [n for n in names if n.startswith("dec_conv")]  # D owns no weights
    x = _images()
    h, idx = ae.encode(x)
    z = torch.randn_like(h)
    # decoder path alone (fixed codes and indices): the encoder's conv weights get a gradient
    ae.decode(z, idx).sum().backward()
    g_dec = ae.conv1.weight.grad.clone()
    assert g_dec.abs().sum() > 0 and ae.conv2.weight.grad.abs().sum() > 0
    # encoder path alone
    ae.zero_grad()
    ae.encode(x)[0].pow(2).sum().backward()
    g_enc = ae.conv1.weight.grad.clone()
    assert g_enc.abs().sum() > 0
    # both paths: the one tensor accumulates the sum of the two
    ae.zero_grad()
    h2, _ = ae.encode(x)
    (h2.pow(2).sum() + ae.decode(z, idx).sum()).backward()
    assert torch.allclose(ae.conv1.weight.grad, g_enc + g_dec, rtol=1e-4, atol=1e-6)


def test_untied_decoder_has_its_own_weights():
    ae = ConvAutoencoder(1, tied=False)
    w1, _ = ae.decoder_weights()
    assert w1 is not ae.conv1.weight and w1.shape == ae.conv1.weight.shape
    h, idx = ae.encode(_images())
    ae.decode(torch.randn_like(h), idx).sum().backward()
    assert ae.conv1.weight.grad is None  # the decoder path no longer reaches G's weights


def test_decoder_unpools_with_the_given_indices_and_transposes_the_convolutions():
    ae = ConvAutoencoder(1, tied=True, decoder_bn="none")
    h, (i1, i2) = ae.encode(_images())
    z = torch.randn_like(h)
    out = ae.decode(z, (i1, i2))
    # reference written out by hand: max-unpool with i2, W2^T, ReLU, max-unpool with i1, W1^T, ReLU
    u = F.max_unpool2d(z.view(-1, 48, 4, 4), i2, 2, output_size=(8, 8))
    u = F.relu(F.conv_transpose2d(u, ae.conv2.weight))
    u = F.max_unpool2d(u, i1, 2, output_size=(24, 24))
    ref = F.relu(F.conv_transpose2d(u, ae.conv1.weight))
    assert out.shape == (8, 1, 28, 28) and torch.allclose(out, ref, atol=1e-6)
    # other indices (another batch's argmax positions) put the codes elsewhere
    _, (j1, j2) = ae.encode(_images(seed=1))
    assert not torch.allclose(ae.decode(z, (j1, j2)), out)
    # the first unpooling is non-zero only where G's second max-pool took its maxima
    unpooled = F.max_unpool2d(torch.ones(8, 48, 4, 4), i2, 2, output_size=(8, 8)).flatten(2)
    assert torch.equal(unpooled.nonzero()[:, 2].sort().values,
                       i2.flatten(2).flatten().sort().values)
    with pytest.raises(ValueError, match="indices"):
        ae.decode(z[:4], (i1, i2))


def test_decoded_prior_uses_the_target_batch_indices(registered):
    m = build_method("dfa_ent", input_shape=(1, 28, 28), num_classes=3)
    seen = []
    decode = m.ae.decode

    def spy(z, indices):
        seen.append(indices)
        return decode(z, indices)
    m.ae.decode = spy
    encoded = []
    encode = m.ae.encode

    def spy_enc(x):
        out = encode(x)
        encoded.append(out[1])
        return out
    m.ae.encode = spy_enc
    x_s, x_t = _images(seed=2), _images(seed=3)
    m.train_step(x_s, torch.zeros(8, dtype=torch.long), x_t, 1)
    idx_s, idx_t = encoded  # encode(x_s), then encode(x_t)
    assert len(seen) == 2 and seen[0] is idx_t and seen[1] is idx_t  # D(h_t) and D(z_n)


# -- pure losses ---------------------------------------------------------------------------------

def test_dal_is_zero_for_identical_inputs_and_positive_otherwise():
    ae = ConvAutoencoder(1)
    x = _images()
    h, idx = ae.encode(x)
    a = ae.decode(h, idx)
    assert distribution_alignment_loss(a, a.clone()).item() == 0.0
    b = ae.decode(torch.randn_like(h), idx)
    assert distribution_alignment_loss(a, b).item() > 0.01
    assert distribution_alignment_loss(torch.zeros(3), torch.ones(3)).item() == 1.0  # a mean
    with pytest.raises(ValueError, match="equal shapes"):
        distribution_alignment_loss(a, b[:4])


def test_kl_forms():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4096, 96, generator=g)
    assert feature_prior_kl(z).item() == pytest.approx(0.0, abs=0.02)
    assert feature_prior_kl(z * 0.5 + 1.0).item() > 0.5     # wrong mean and scale cost something
    assert softmax_kl(z, z).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.randn(4096, 96, generator=g)
    assert softmax_kl(other, z).item() > 0.0
    with pytest.raises(ValueError, match="equal shapes"):
        softmax_kl(z[:, :48], z)
    a = torch.tensor([[9.0, -9.0]])
    assert classifier_discrepancy(a, a).item() == 0.0
    assert classifier_discrepancy(a, -a).item() == pytest.approx(1.0, abs=1e-6)


# -- the 2-D toy of Sec. 4.1 -------------------------------------------------------------------------

def _energy(a, b):
    d = lambda u, v: np.sqrt(((u[:, None] - v[None]) ** 2).sum(-1)).mean()
    return 2 * d(a, b) - d(a, a) - d(b, b)


@pytest.mark.slow
def test_dal_toy_moves_the_target_cloud_onto_the_source():
    frames = dal_toy("gauss-mean-s", "gauss-mean-t", steps=100, every=25, seed=0)
    assert [f["step"] for f in frames] == [0, 25, 50, 75, 100]
    first, last = frames[0], frames[-1]
    assert last["x_t_mapped"].shape == last["x_s"].shape == (500, 2)
    gap = lambda f: np.linalg.norm(f["x_t_mapped"].mean(0) - f["x_s"].mean(0))
    assert gap(last) < 0.25 * gap(first)
    assert _energy(last["x_t_mapped"], last["x_s"]) < 0.5 * _energy(first["x_t_mapped"],
                                                                    first["x_s"])
    assert last["loss"] < first["loss"]
    again = dal_toy("gauss-mean-s", "gauss-mean-t", steps=25, every=25, seed=0)
    assert np.array_equal(again[1]["x_t_mapped"], frames[1]["x_t_mapped"])  # seeded
    with pytest.raises(ValueError, match="fixed, shuffle"):
        dal_toy(pairing="random", steps=1)
    with pytest.raises(ValueError, match="2-D point"):
        dal_toy("digits", "digits", steps=1)


@pytest.mark.slow
def test_dal_toy_handles_clouds_below_zero():
    """moons-s has negative coordinates; Table 1's D ends in a ReLU, so the clouds are shifted."""
    frames = dal_toy("moons-s", "moons-t", steps=100, every=100, seed=0, tied=True)
    assert (frames[-1]["x_t_mapped"] < 0).any()  # back in the original coordinates
    assert np.isfinite(frames[-1]["x_t_mapped"]).all()


# -- the methods -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["dfa_ent", "dfa_mcd"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 28, 28), (2,)])
def test_shapes_and_capabilities(registered, name, shape):
    m = build_method(name, input_shape=shape, num_classes=4, overrides=["num_k=1"]
                     if name == "dfa_mcd" else None)
    assert {"encode", "reconstruct"} <= m.capabilities
    x = torch.rand(6, *shape)
    out = m.train_step(x, torch.arange(6) % 4, torch.rand(6, *shape), 1)
    assert math.isfinite(out["loss"]) and out["loss_dal"] > 0 and out["dec_std_t"] > 0
    m.eval()
    assert m.predict(x).shape == (6, 4)
    feat = 768 if len(shape) == 3 else 256
    assert m.encode(x).h.shape == (6, feat)
    assert m.reconstruct(x).shape == (6, *shape)


@pytest.mark.parametrize("alignment", ["dal", "dal_direct", "kl_only"])
@pytest.mark.parametrize("kl_form", ["gaussian", "softmax"])
@pytest.mark.parametrize("tied", [True, False])
def test_variants_train(registered, alignment, kl_form, tied):
    m = build_method("dfa_ent", input_shape=(1, 28, 28), num_classes=3,
                     config={"alignment": alignment, "kl_form": kl_form, "tied": tied})
    out = m.train_step(_images(), torch.arange(8) % 3, _images(seed=1), 1)
    assert all(math.isfinite(v) for v in out.values())
    assert ("loss_dal" in out) == (alignment != "kl_only")
    assert ("loss_kld_t" in out) == (alignment == "kl_only")


def test_bad_choices_name_the_valid_ones(registered):
    for key, bad, valid in [("kl_form", "normal", "gaussian, softmax"),
                            ("alignment", "direct", "dal, dal_direct, kl_only"),
                            ("decoder_bn", "yes", "fixed, affine, none")]:
        with pytest.raises(ValueError, match=valid):        # via build_method / the CLI
            build_method("dfa_ent", input_shape=(1, 28, 28), num_classes=3,
                         overrides=[f"{key}={bad}"])
        with pytest.raises(ValueError, match=valid):        # a Config built by hand
            DFAEnt(DFAEntConfig(**{key: bad}), input_shape=(1, 28, 28), num_classes=3)
    with pytest.raises(ValueError, match="28, 28"):
        DFAEnt(input_shape=(1, 32, 32), num_classes=3)
    with pytest.raises(ValueError, match="num_k"):
        build_method("dfa_mcd", input_shape=(2,), num_classes=3, overrides=["num_k=0"])


def test_mcd_runs_algorithm_1_steps(registered):
    """Per batch: step 1 encodes x_s once, step 2 encodes x_s and x_t, step 3 encodes x_t num_k
    times; step 2 leaves G unchanged and step 3 leaves F1, F2 unchanged."""
    m = build_method("dfa_mcd", input_shape=(1, 28, 28), num_classes=3, overrides=["num_k=3"])
    calls = []
    encode = m.ae.encode

    def spy(x):
        calls.append(x)
        return encode(x)
    m.ae.encode = spy
    f_steps, g_steps = [], []
    m.setup_optimizers()
    m.optimizers["f"].register_step_post_hook(lambda *a: f_steps.append(len(calls)))
    m.optimizers["g"].register_step_post_hook(lambda *a: g_steps.append(len(calls)))
    x_s, x_t = _images(seed=4), _images(seed=5)
    out = m.train_step(x_s, torch.arange(8) % 3, x_t, 1)
    assert len(calls) == 1 + 2 + 3
    assert f_steps == [1, 3] and g_steps == [1, 4, 5, 6]  # F: steps 1-2; G: step 1 and 3 x num_k
    assert [c is x_t for c in calls] == [False, False, True, True, True, True]
    assert {"loss_adv", "loss_adv_f", "loss_dal"} <= set(out)
    assert set(m.extra_predictors()) == {"f1", "f2"}


@pytest.mark.slow
def test_image_short_run_lowers_the_loss(registered, npz_domain):
    src, tgt = npz_domain("s", n=60, seed=0), npz_domain("t", n=60, seed=1)
    _, res, _ = train("dfa_ent", src, tgt, 30, eval_every=10, seed=0,
                      overrides=["batch_size=16"])
    hist = res.history
    assert hist[-1]["loss_cls"] < 0.7 * hist[0]["loss_cls"]
    assert all(h["loss_dal"] > 1e-3 and h["dec_std_t"] > 0.1 for h in hist)  # no collapse


@pytest.mark.parametrize("name", ["dfa_ent", "dfa_mcd"])
def test_save_load_round_trip_keeps_predictions_and_tying(registered, npz_domain, tmp_path, name):
    src, tgt = npz_domain("s", n=40, seed=0), npz_domain("t", n=40, seed=1)
    model, _, run_dir = train(name, src, tgt, 3, seed=0, out=tmp_path / name,
                              overrides=["batch_size=8"] + (["num_k=1"] if name == "dfa_mcd"
                                                            else []))
    reloaded, info = load_run(run_dir)
    assert info["method"] == name
    w1, w2 = reloaded.ae.decoder_weights()
    assert w1 is reloaded.ae.conv1.weight and w2 is reloaded.ae.conv2.weight
    x = _images(seed=6)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.predict(x), reloaded.predict(x))
        assert torch.equal(model.reconstruct(x), reloaded.reconstruct(x))
        assert torch.equal(reloaded.ae.decoder_weights()[0], model.ae.conv1.weight)


def test_mlp_autoencoder_tied_is_the_transpose():
    ae = MLPAutoencoder(2, tied=True, decoder_bn="none")
    z = torch.randn(5, 256)
    w1, w2, w3 = ae.fc1.weight, ae.fc2.weight, ae.fc3.weight
    ref = F.relu(F.relu(F.relu(z @ w3) @ w2) @ w1)
    assert torch.allclose(ae.decode(z), ref, atol=1e-6)
    assert ae.decoder_weights()[2] is ae.fc3.weight


@pytest.mark.parametrize("name", ["dfa_ent", "dfa_mcd"])
def test_per_domain_batch_norm_keeps_each_domains_statistics(registered, name):
    """``bn_stats="per_domain"`` (the default): source and target batches update their own
    running statistics, and a prediction (a target image) uses the target's only."""
    torch.manual_seed(0)
    m = build_method(name, input_shape=(1, 28, 28), num_classes=10,
                     overrides=["batch_size=8", "num_k=1"] if name == "dfa_mcd" else
                     ["batch_size=8"])
    m.on_fit_start(5)
    x_s, x_t = _images(8, seed=1) * 0.3, _images(8, seed=2) * 0.3 + 0.7  # dark vs bright
    for step in range(1, 4):
        m.train_step(x_s, torch.arange(8) % 10, x_t, step)
    bn = m.ae.bn1
    assert not torch.allclose(bn.running_mean_0, bn.running_mean_1)
    m.eval()
    x = _images(4, seed=3)
    with torch.no_grad():
        before = m.predict(x)
        bn.running_mean_0.add_(5.0)          # the source statistics play no part
        assert torch.equal(m.predict(x), before)
        bn.running_mean_1.add_(5.0)          # the target statistics do
        assert not torch.allclose(m.predict(x), before)


def test_a_run_saved_before_bn_stats_existed_loads_with_shared_statistics(registered):
    from dalab.methods.config import saved_values
    cfg = DFAEnt.Config
    assert cfg().bn_stats == "per_domain"
    old = saved_values(cfg, {"alpha": 0.01})       # a config.json without the key
    m = build_method("dfa_ent", input_shape=(1, 28, 28), num_classes=10, config=old)
    assert m.config.bn_stats == "shared" and hasattr(m.ae.bn1, "running_mean")
    assert saved_values(cfg, {"bn_stats": "per_domain"})["bn_stats"] == "per_domain"
