"""KL formulas of CDLM (Hou et al., cross-domain latent modulation, Sec. 3.2-3.2.3) and
empirical KL estimates from encoded data.

Every formula takes scalars or per-dimension arrays (broadcast with numpy) and returns the sum
over dimensions (the paper's sum over i); pass ``per_dim=True`` for the per-dimension terms.
``sigma`` is a standard deviation (not a variance) everywhere.

Equations (numbers as in the paper):
- Eq. 7: ``KL(s||t) = 1/2 sum_i [2 log(sigma_t/sigma_s) + ((mu_s-mu_t)/sigma_t)^2
  + (sigma_s/sigma_t)^2 - 1]``, the KL between diagonal Gaussians.
- Eq. 8: its simplification when training drives sigma_s = sigma_t = 1:
  ``1/2 sum_i ((mu_s-mu_t)/sigma_t)^2``.
- Eq. 5-6: modulated moments ``mu_st = mu_s + gamma1 mu_t``, ``mu_ts = mu_t + gamma1 mu_s``,
  ``sigma_st = sigma_ts = gamma1 sigma_s sigma_t`` (valid for gamma1 >> gamma2, sigma_s ~ 1).
- Eq. 9: ``KL(st||ts) = 1/2 sum_i [(1-gamma1)(mu_s-mu_t)]^2 / (gamma1 sigma_t)^2``.
- Eq. 10: ``KL(st||ts) = ((1-gamma1)/gamma1)^2 KL(s||t)``: the gap shrinks iff gamma1 > 0.5.
- Eq. 12 (PM1, Eq. 11): ``KL(st||ts) = 1/2 sum_i 4 ((mu_s-mu_t)/(sigma_s+sigma_t))^2``.
- Eq. 14: ``KL(st||ts) + KL(ts||st) <= KL(s||t) + KL(t||s)`` under PM1.
- PM2 (Eq. 15): ``z_st ~ N(mu_s, sigma_t)``, ``z_ts ~ N(mu_t, sigma_s)``: the gap is preserved.
"""
from __future__ import annotations

import numpy as np
import torch

from ..losses import gaussian_kl

EPS = 1e-12


def _out(terms: np.ndarray, per_dim: bool):
    terms = np.asarray(terms, dtype=np.float64)
    return terms if per_dim else float(np.sum(terms))


def kl_gauss(mu_s, sigma_s, mu_t, sigma_t, per_dim: bool = False):
    """Eq. 7: ``KL(N(mu_s, sigma_s^2) || N(mu_t, sigma_t^2))`` for diagonal Gaussians: the
    numpy face of :func:`dalab.losses.gaussian_kl` (one implementation), in float64."""
    args = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (mu_s, sigma_s, mu_t,
                                                                       sigma_t)))
    terms = gaussian_kl(*(torch.from_numpy(np.ascontiguousarray(a))[..., None] for a in args))
    return _out(terms.numpy(), per_dim)


def kl_simplified(mu_s, mu_t, sigma_t=1.0, per_dim: bool = False):
    """Eq. 8: ``1/2 sum ((mu_s - mu_t)/sigma_t)^2`` (Eq. 7 with sigma_s = sigma_t)."""
    terms = 0.5 * ((np.asarray(mu_s) - np.asarray(mu_t)) / np.asarray(sigma_t)) ** 2
    return _out(terms, per_dim)


def modulated_moments(mu_s, sigma_s, mu_t, sigma_t, gamma1):
    """Eq. 5-6: ``(mu_st, sigma_st, mu_ts, sigma_ts)`` of the fully modulated codes."""
    mu_s, sigma_s, mu_t, sigma_t = map(np.asarray, (mu_s, sigma_s, mu_t, sigma_t))
    sigma = gamma1 * sigma_s * sigma_t
    return mu_s + gamma1 * mu_t, sigma, mu_t + gamma1 * mu_s, sigma


def kl_modulated(mu_s, sigma_s, mu_t, sigma_t, gamma1, per_dim: bool = False):
    """Eq. 9: ``KL(st||ts) = 1/2 sum [(1-gamma1)(mu_s-mu_t)]^2 / (gamma1 sigma_t)^2``.

    ``sigma_s`` is accepted for a uniform signature; Eq. 9 assumes sigma_s = 1 (Sec. 3.2.2)."""
    _check_gamma1(gamma1)
    diff = (1.0 - gamma1) * (np.asarray(mu_s) - np.asarray(mu_t))
    return _out(0.5 * diff ** 2 / (gamma1 * np.asarray(sigma_t)) ** 2, per_dim)


def gap_ratio(gamma1):
    """Eq. 10: ``KL(st||ts) / KL(s||t) = ((1 - gamma1) / gamma1)^2``; < 1 iff gamma1 > 0.5."""
    g = np.asarray(gamma1, dtype=np.float64)
    if np.any(g <= 0):
        raise ValueError("gamma1 must be > 0 (Eq. 1-2 require gamma1, gamma2 > 0)")
    out = ((1.0 - g) / g) ** 2
    return float(out) if out.ndim == 0 else out


def kl_pm1(mu_s, sigma_s, mu_t, sigma_t, per_dim: bool = False):
    """Eq. 12 (PM1): ``1/2 sum 4 ((mu_s - mu_t) / (sigma_s + sigma_t))^2``; symmetric."""
    terms = 0.5 * 4 * ((np.asarray(mu_s) - np.asarray(mu_t))
                       / (np.asarray(sigma_s) + np.asarray(sigma_t))) ** 2
    return _out(terms, per_dim)


def symmetric_kl(mu_s, sigma_s, mu_t, sigma_t, per_dim: bool = False):
    """``KL(s||t) + KL(t||s)`` (the right side of Eq. 14)."""
    a = kl_gauss(mu_s, sigma_s, mu_t, sigma_t, per_dim=True)
    b = kl_gauss(mu_t, sigma_t, mu_s, sigma_s, per_dim=True)
    return _out(a + b, per_dim)


def pm1_bound(mu_s, sigma_s, mu_t, sigma_t) -> tuple[float, float]:
    """Eq. 14: ``(KL(st||ts) + KL(ts||st), KL(s||t) + KL(t||s))`` under PM1; first <= second."""
    return 2 * kl_pm1(mu_s, sigma_s, mu_t, sigma_t), symmetric_kl(mu_s, sigma_s, mu_t, sigma_t)


def kl_pm2(mu_s, sigma_s, mu_t, sigma_t, per_dim: bool = False):
    """PM2 (Eq. 15): ``KL(N(mu_s, sigma_t) || N(mu_t, sigma_s))``; equals Eq. 7's gap when
    sigma_s = sigma_t, i.e. PM2 preserves the gap rather than reducing it."""
    return kl_gauss(mu_s, sigma_t, mu_t, sigma_s, per_dim=per_dim)


def _check_gamma1(gamma1):
    if np.any(np.asarray(gamma1) <= 0):
        raise ValueError("gamma1 must be > 0 (Eq. 1-2 require gamma1, gamma2 > 0)")


# -- empirical versions -------------------------------------------------------------------

def fit_diag_gaussian(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation of ``codes`` ``(N, D)``."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"expected codes of shape (N>=2, D), got {codes.shape}")
    return codes.mean(0), np.maximum(codes.std(0, ddof=1), EPS)


def empirical_kl(codes_s: np.ndarray, codes_t: np.ndarray, per_dim: bool = False):
    """Eq. 7 on diagonal Gaussians fitted to each domain's codes: ``KL(s||t)``."""
    mu_s, sd_s = fit_diag_gaussian(codes_s)
    mu_t, sd_t = fit_diag_gaussian(codes_t)
    return kl_gauss(mu_s, sd_s, mu_t, sd_t, per_dim=per_dim)


def histogram_kl(a: np.ndarray, b: np.ndarray, bins: int = 50, smoothing: float = 1.0,
                 per_dim: bool = False):
    """``KL(P_a || P_b)`` of per-dimension histograms on shared bins.

    ``a``, ``b``: ``(N, D)`` or ``(N,)``. Each dimension gets ``bins`` equal bins over the
    range of both samples; ``smoothing`` (Laplace, pseudo-count per bin) keeps empty bins
    finite. Returns the sum over dimensions unless ``per_dim``.
    """
    a, b = np.atleast_2d(np.asarray(a, np.float64).T).T, np.atleast_2d(np.asarray(b, np.float64).T).T
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"dimension mismatch: {a.shape[1]} vs {b.shape[1]}")
    if smoothing <= 0:
        raise ValueError("smoothing must be > 0 (empty bins would give an infinite KL)")
    out = np.empty(a.shape[1])
    for d in range(a.shape[1]):
        lo, hi = min(a[:, d].min(), b[:, d].min()), max(a[:, d].max(), b[:, d].max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        p = np.histogram(a[:, d], edges)[0] + smoothing
        q = np.histogram(b[:, d], edges)[0] + smoothing
        p, q = p / p.sum(), q / q.sum()
        out[d] = np.sum(p * np.log(p / q))
    return _out(out, per_dim)
