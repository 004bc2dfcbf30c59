"""CDLM's KL formulas against Monte-Carlo estimates (Eq. 7-15)."""
import numpy as np
import pytest
from scipy import stats

from dalab.analysis import kl


def mc_kl(mu_p, sd_p, mu_q, sd_q, n=400_000, seed=0):
    """Monte-Carlo KL(p||q) of diagonal Gaussians: E_p[log p - log q]."""
    rng = np.random.default_rng(seed)
    z = rng.normal(mu_p, sd_p, size=(n, np.size(mu_p)))
    return float(np.mean(np.sum(stats.norm.logpdf(z, mu_p, sd_p)
                                - stats.norm.logpdf(z, mu_q, sd_q), axis=1)))


def test_eq7_matches_monte_carlo_and_scalars_broadcast():
    mu_s, sd_s = np.array([0.5, -1.0, 2.0]), np.array([1.2, 0.7, 1.0])
    mu_t, sd_t = np.array([0.0, 0.3, 1.0]), np.array([1.0, 1.1, 0.8])
    assert kl.kl_gauss(mu_s, sd_s, mu_t, sd_t) == pytest.approx(
        mc_kl(mu_s, sd_s, mu_t, sd_t), rel=0.02)
    assert kl.kl_gauss(1.0, 1.0, 1.0, 1.0) == 0.0
    assert kl.kl_gauss(mu_s, sd_s, mu_t, sd_t, per_dim=True).shape == (3,)


def test_eq8_is_eq7_with_equal_unit_sigmas():
    mu_s, mu_t = np.array([0.5, -1.0]), np.array([0.0, 0.3])
    assert kl.kl_simplified(mu_s, mu_t) == pytest.approx(kl.kl_gauss(mu_s, 1, mu_t, 1))


@pytest.mark.parametrize("gamma1", [0.4, 0.7, 1.0, 1.5])
def test_eq9_eq10_against_sampled_modulated_codes(gamma1):
    """Sample z_st = mu_s + sigma_s (g1 h_t + g2 eps) with h_t ~ N(mu_t, sigma_t) (Eq. 1, 3-4,
    the paper's assumption mu_h ~ mu, sigma_h ~ sigma), sigma_s = 1 and g2 << g1; fit Gaussians
    to z_st and z_ts: their KL matches Eq. 9 and the ratio of Eq. 10."""
    rng = np.random.default_rng(1)
    n, g2 = 400_000, 0.01
    mu_s, mu_t = np.array([1.0, -0.5]), np.array([-0.5, 0.8])
    sd_s, sd_t = np.ones(2), np.array([1.0, 1.0])
    h_t = rng.normal(mu_t, sd_t, (n, 2))
    h_s = rng.normal(mu_s, sd_s, (n, 2))
    z_st = mu_s + sd_s * (gamma1 * h_t + g2 * rng.normal(size=(n, 2)))
    z_ts = mu_t + sd_t * (gamma1 * h_s + g2 * rng.normal(size=(n, 2)))
    # Eq. 3-4: mean and variance of the modulated code
    assert np.allclose(z_st.mean(0), mu_s + gamma1 * sd_s * mu_t, atol=0.01)
    assert np.allclose(z_st.var(0), sd_s ** 2 * (gamma1 ** 2 * sd_t ** 2 + g2 ** 2), rtol=0.02)
    measured = kl.empirical_kl(z_st, z_ts)
    assert measured == pytest.approx(kl.kl_modulated(mu_s, sd_s, mu_t, sd_t, gamma1), rel=0.03,
                                     abs=2e-4)
    ratio = kl.kl_modulated(mu_s, sd_s, mu_t, sd_t, gamma1) / kl.kl_simplified(mu_s, mu_t, sd_t)
    assert ratio == pytest.approx(kl.gap_ratio(gamma1))


def test_gap_ratio_threshold_and_errors():
    assert kl.gap_ratio(0.5) == pytest.approx(1.0)
    assert kl.gap_ratio(0.6) < 1 < kl.gap_ratio(0.4)
    assert kl.gap_ratio(1.0) == 0.0
    assert kl.gap_ratio(np.array([0.5, 1.0])).shape == (2,)
    with pytest.raises(ValueError, match="gamma1"):
        kl.gap_ratio(0.0)


def test_pm1_eq12_and_bound_eq14():
    rng = np.random.default_rng(2)
    n = 400_000
    mu_s, mu_t = np.array([0.8, -0.2]), np.array([-0.4, 0.5])
    sd_s, sd_t = np.array([0.6, 1.3]), np.array([1.1, 0.9])
    sd = 0.5 * (sd_s + sd_t)  # Eq. 11
    z_st = mu_s + sd * rng.normal(size=(n, 2))
    z_ts = mu_t + sd * rng.normal(size=(n, 2))
    assert kl.empirical_kl(z_st, z_ts) == pytest.approx(
        kl.kl_pm1(mu_s, sd_s, mu_t, sd_t), rel=0.03)
    for seed in range(50):  # Eq. 14 holds for any parameters
        r = np.random.default_rng(seed)
        args = (r.normal(size=4), r.uniform(0.1, 3, 4), r.normal(size=4), r.uniform(0.1, 3, 4))
        lhs, rhs = kl.pm1_bound(*args)
        assert lhs <= rhs + 1e-12


def test_pm2_preserves_the_gap():
    rng = np.random.default_rng(3)
    n = 400_000
    mu_s, mu_t, sd = np.array([0.8, -0.2]), np.array([-0.4, 0.5]), np.array([0.9, 1.2])
    z_st = mu_s + sd * rng.normal(size=(n, 2))  # Eq. 15 with sigma_s = sigma_t = sd
    z_ts = mu_t + sd * rng.normal(size=(n, 2))
    gap = kl.kl_gauss(mu_s, sd, mu_t, sd)
    assert kl.kl_pm2(mu_s, sd, mu_t, sd) == pytest.approx(gap)
    assert kl.empirical_kl(z_st, z_ts) == pytest.approx(gap, rel=0.03)


def test_histogram_kl():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, (20_000, 2)), rng.normal(0, 1, (20_000, 2))
    c = rng.normal(1, 1, (20_000, 2))
    assert kl.histogram_kl(a, b) < 0.02
    # N(0,1) vs N(1,1): 0.5 per dimension; histograms approximate it
    assert kl.histogram_kl(a, c, per_dim=True) == pytest.approx([0.5, 0.5], abs=0.08)
    with pytest.raises(ValueError):
        kl.histogram_kl(a, b, smoothing=0)
