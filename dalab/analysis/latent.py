"""Latent codes against the N(0, 1) prior (DFA Fig. 7-9): what the "Latent vs prior" page shows.

All functions take codes ``(N, D)`` (numpy) and are pure.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .kl import fit_diag_gaussian, kl_gauss


@dataclass
class Histograms:
    edges: np.ndarray          # (bins + 1,) shared by every sample
    centers: np.ndarray        # (bins,)
    density: dict              # name -> (bins,) density (integrates to 1 over the range)
    prior: np.ndarray          # (bins,) N(0, 1) density at the centres


def shared_bins(*samples: np.ndarray, bins: int = 40, include_prior: bool = True) -> np.ndarray:
    """Equal-width bin edges covering every sample (and +-4 sd of the prior)."""
    lo = min(float(np.min(s)) for s in samples)
    hi = max(float(np.max(s)) for s in samples)
    if include_prior:
        lo, hi = min(lo, -4.0), max(hi, 4.0)
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, bins + 1)


def histograms_vs_prior(samples: dict[str, np.ndarray], bins: int = 40) -> Histograms:
    """Densities of 1-D samples (e.g. one latent dimension of source and target) on shared bins,
    with the N(0, 1) density at the bin centres."""
    if not samples:
        raise ValueError("no samples given")
    arrays = {k: np.asarray(v, np.float64).ravel() for k, v in samples.items()}
    edges = shared_bins(*arrays.values(), bins=bins)
    centers = 0.5 * (edges[1:] + edges[:-1])
    density = {k: np.histogram(v, edges, density=True)[0] for k, v in arrays.items()}
    return Histograms(edges, centers, density, stats.norm.pdf(centers))


def kl_to_prior(codes: np.ndarray) -> np.ndarray:
    """Per-dimension ``KL(N(mu_d, sd_d^2) || N(0, 1))`` of a diagonal Gaussian fitted to codes."""
    mu, sd = fit_diag_gaussian(codes)
    return kl_gauss(mu, sd, 0.0, 1.0, per_dim=True)


def moments(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-dimension mean, std, skewness and excess kurtosis (0 for a Gaussian)."""
    c = np.asarray(codes, np.float64)
    return {"mean": c.mean(0), "std": c.std(0, ddof=1), "skew": stats.skew(c, axis=0),
            "kurtosis": stats.kurtosis(c, axis=0)}


def ks_to_prior(codes: np.ndarray) -> np.ndarray:
    """Per-dimension Kolmogorov-Smirnov statistic against N(0, 1) (0 = identical CDFs)."""
    c = np.asarray(codes, np.float64)
    return np.array([stats.kstest(c[:, d], "norm").statistic for d in range(c.shape[1])])


def prior_report(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Everything per dimension in one dict: kl, ks, mean, std, skew, kurtosis."""
    return {"kl": kl_to_prior(codes), "ks": ks_to_prior(codes), **moments(codes)}
