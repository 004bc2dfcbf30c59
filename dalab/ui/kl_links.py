"""The KL-gap calculator's links to a trained CDLM model (issue 14): each symbol of the
calculator (mu_s, sigma_s, mu_t, sigma_t, gamma1; gamma2 and h shown beside them) filled from
what the Modulation page measures on the same batch of test images. Pure functions, no
Streamlit.

The calculator is one latent dimension. For dimension ``k`` of a batch encoded by
:func:`dalab.ui.modulation.encode_batch`, the source "Gaussian" is the distribution of the
codes ``z_s = mu_s(x) + sigma_s(x) eps`` over the batch: mean ``mean_x mu_s(x)``, variance
``mean_x sigma_s(x)^2 + var_x mu_s(x)`` (the moments the Modulation page fits to its sampled
codes for KL(s||t), without the sampling noise); the same for the target. Summed over the
dimensions, Eq. 7 on these moments is the noise-free counterpart of the Modulation page's
KL(s||t), which fits one draw of codes for 128 images and so comes out larger (on the shipped
cdlm_mnist_to_digits: 0.80 here vs 1.83 there).
"""
from __future__ import annotations

from urllib.parse import urlencode

import numpy as np

from ..analysis import kl as K
from .models import link_name

SYMBOLS = ("mu_s", "sigma_s", "mu_t", "sigma_t", "gamma1")


def _np(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, np.float64)


def per_dimension(enc: dict) -> dict[str, np.ndarray]:
    """``(d,)`` arrays of an encoded batch (``mu_s, sigma_s, h_s, mu_t, sigma_t, h_t``, each
    ``(N, d)``): ``mu_s, sigma_s, mu_t, sigma_t`` (the codes' moments, module docstring),
    ``sigma_s_encoder`` (the encoder's sigma_s averaged over the batch: what Eq. 5-10 assume
    to be 1), ``h_t`` (the mean deep feature h_t, which Eq. 5 puts in place of mu_t) and
    ``kl``: KL(s||t) of each dimension (Eq. 7, nats)."""
    out = {}
    for side in ("s", "t"):
        mu, sd = _np(enc[f"mu_{side}"]), _np(enc[f"sigma_{side}"])
        out[f"mu_{side}"] = mu.mean(0)
        out[f"sigma_{side}"] = np.sqrt((sd ** 2).mean(0) + mu.var(0))
    out["sigma_s_encoder"] = _np(enc["sigma_s"]).mean(0)
    out["h_t"] = _np(enc["h_t"]).mean(0)
    out["kl"] = np.asarray(K.kl_gauss(out["mu_s"], out["sigma_s"], out["mu_t"], out["sigma_t"],
                                      per_dim=True), np.float64)
    return out


def strongest_dimension(dims: dict[str, np.ndarray]) -> int:
    """The dimension that carries most of the gap (largest KL(s||t)): the calculator's default."""
    return int(np.argmax(dims["kl"]))


def measured_values(dims: dict[str, np.ndarray], dim: int, gamma1: float,
                    ranges: dict[str, tuple[float, float]]) -> tuple[dict, list[str]]:
    """``({symbol: value}, notes)``: dimension ``dim``'s measured ``mu_s, sigma_s, mu_t,
    sigma_t`` and the model's ``gamma1``, each clamped into the calculator's ``ranges`` (a note
    says where one was)."""
    d = len(dims["kl"])
    if not 0 <= int(dim) < d:
        raise ValueError(f"dimension {dim}: the model's code has {d} (0..{d - 1})")
    raw = {**{s: float(dims[s][int(dim)]) for s in SYMBOLS[:4]}, "gamma1": float(gamma1)}
    values, notes = {}, []
    for s, v in raw.items():
        lo, hi = ranges[s]
        values[s] = min(max(v, lo), hi)
        if values[s] != v:
            notes.append(f"{s} = {v:.4g} is outside the calculator's {lo:g}-{hi:g}: set to "
                         f"{values[s]:g}")
    return values, notes


def modulation_link(m: dict, dim: int) -> str:
    """The Modulation page of model ``m`` (an entry of ``models.available``), its scatter on
    dimension ``dim``: ``/modulation?model=cdlm_mnist_to_digits&dim_x=3``."""
    return "/modulation?" + urlencode({"model": link_name(m), "dim_x": int(dim)})


def symbol_rows(dims: dict[str, np.ndarray], dim: int, gamma1: float, gamma2: float) -> list[dict]:
    """The measured value of every symbol for the page's table: ``[{"symbol", "measured",
    "what"}]``, gamma2 and h_t included (the calculator has no input for them)."""
    k = int(dim)
    return [
        {"symbol": "μ_s", "measured": float(dims["mu_s"][k]),
         "what": "mean of the source codes z_s over the batch"},
        {"symbol": "σ_s", "measured": float(dims["sigma_s"][k]),
         "what": "sd of the source codes z_s (encoder σ_s and spread of μ_s)"},
        {"symbol": "μ_t", "measured": float(dims["mu_t"][k]),
         "what": "mean of the target codes z_t"},
        {"symbol": "σ_t", "measured": float(dims["sigma_t"][k]),
         "what": "sd of the target codes z_t"},
        {"symbol": "γ1", "measured": float(gamma1), "what": "the model's trained γ1"},
        {"symbol": "γ2", "measured": float(gamma2),
         "what": "the model's trained γ2 (not in Eq. 9-10: they assume γ1 ≫ γ2)"},
        {"symbol": "mean σ_s (encoder)", "measured": float(dims["sigma_s_encoder"][k]),
         "what": "what Eq. 5-10 assume to be 1"},
        {"symbol": "mean h_t", "measured": float(dims["h_t"][k]),
         "what": "the deep feature Eq. 1 uses in place of μ_t (a sigmoid output)"},
    ]
