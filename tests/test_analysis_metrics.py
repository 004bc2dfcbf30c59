import numpy as np
import pytest

from dalab.analysis import alignment, latent


def test_proxy_a_distance_separable_vs_identical():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (400, 5))
    assert alignment.proxy_a_distance(a, rng.normal(0, 1, (400, 5))) < 0.3
    assert alignment.proxy_a_distance(a, rng.normal(4, 1, (400, 5))) > 1.9


def test_mmd_zero_in_expectation_and_grows_with_shift():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, (300, 3)), rng.normal(0, 1, (300, 3))
    near = alignment.mmd_rbf(a, b)
    far = alignment.mmd_rbf(a, b + 2.0)
    assert abs(near) < 0.01 and far > 0.2
    assert alignment.mmd_rbf(a, b + 0.5) < far


def test_sliced_wasserstein_of_a_shift():
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, (2000, 2))
    assert alignment.sliced_wasserstein(a, a) == 0.0
    # shifting by a vector v moves every projection by theta.v; for unit random directions in
    # 2-D, E[(theta.v)^2] = |v|^2 / 2, so SW_2 = |v| / sqrt(2)
    v = np.array([3.0, 0.0])
    assert alignment.sliced_wasserstein(a, a + v, n_projections=2000) == pytest.approx(
        3 / np.sqrt(2), rel=0.05)
    assert alignment.sliced_wasserstein(a, a[:500] + v) > 1.5  # unequal sizes work


def test_class_centroid_distance():
    f_s = np.array([[0, 0], [0, 2], [10, 0]], float)
    y_s = np.array([0, 0, 1])
    f_t = np.array([[3, 1], [10, 4]], float)
    y_t = np.array([0, 1])
    out = alignment.class_centroid_distance(f_s, y_s, f_t, y_t)
    assert out["per_class"] == {0: 3.0, 1: 4.0} and out["mean"] == 3.5


def test_latent_against_prior():
    rng = np.random.default_rng(3)
    gauss = rng.normal(0, 1, (5000, 3))
    skewed = rng.exponential(1.0, (5000, 3))
    assert latent.kl_to_prior(gauss).max() < 0.01
    assert latent.kl_to_prior(gauss * 2 + 1).min() > 0.5
    rep = latent.prior_report(skewed)
    assert set(rep) == {"kl", "ks", "mean", "std", "skew", "kurtosis"}
    assert (rep["skew"] > 1.5).all() and (latent.ks_to_prior(gauss) < 0.03).all()
    h = latent.histograms_vs_prior({"source": gauss[:, 0], "target": skewed[:, 0]}, bins=30)
    assert h.edges.shape == (31,) and h.prior.shape == (30,)
    width = np.diff(h.edges)
    assert (h.density["source"] * width).sum() == pytest.approx(1.0)
    assert h.edges[0] <= -4 and h.edges[-1] >= skewed[:, 0].max()
