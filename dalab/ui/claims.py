""""Paper says / this model shows": one pure function per Explore page that turns the numbers the
page already computed into the paper's prediction, what the shown model measures, and whether the
model shows the paper's effect (``holds``). No Streamlit here; the pages draw the lines
(:func:`verdict` is the one-sentence warning when ``holds`` is False).

Each function returns ``(paper_says, model_shows, holds)``; the criterion that decides ``holds``
is stated in the function's docstring, so a page can apply the same one to other models and name
one that does show the effect (:func:`first_holding`).
"""
from __future__ import annotations

import math

from ..analysis import kl as K

GAP_TOL = 0.05  # a gap ratio within 5 % of 1 "keeps" the gap (mode "none" measures exactly 1)
KL_GAP_RTOL = 0.05  # the KL-gap calculator: Eq. 10 vs the Eq. 5-6 Gaussians, relative
LATENT_KL_MAX = 1.0  # mean KL to N(0, 1) per code dimension (nats) for "near the prior"
BRIDGE_MIN_ACC = 0.89  # the lowest image-pair transfer accuracy of Bridge Table 2 (F-MNIST->MNIST)


def gap_direction(ratio: float, tol: float = GAP_TOL) -> str:
    """``"shrinks"`` (ratio < 1 - tol), ``"keeps"`` (within tol of 1) or ``"grows"``."""
    if not math.isfinite(ratio):
        return "undefined"
    if ratio < 1 - tol:
        return "shrinks"
    return "keeps" if ratio <= 1 + tol else "grows"


def modulation_claim(ratio: float, predicted_ratio: float, equation: str, mode: str,
                     sigma_s_mean: float | None = None, h_t_mean: float | None = None,
                     mu_t_mean: float | None = None) -> tuple[str, str, bool]:
    """CDLM Eq. 10 (full), 12 (PM1), 15 (PM2) or a plain VAE's unchanged gap, against the
    measured ``KL(st||ts) / KL(s||t)`` (``modulation_view``'s ``ratio``, ``predicted_ratio``).

    Holds when the measured gap moves the way the equation says: both shrink, both keep or both
    grow (:func:`gap_direction`). In full mode the means of ``sigma_s``, ``h_t`` and ``mu_t``
    (optional) say why a model can differ: Eq. 5-10 assume ``sigma_s ~ 1`` and ``h_t ~ mu_t``."""
    said, seen = gap_direction(predicted_ratio), gap_direction(ratio)
    paper = (f"{equation} predicts KL(st‖ts) = {predicted_ratio:.2f} × KL(s‖t) "
             f"(the gap {said})")
    why = []
    if mode == "full" and sigma_s_mean is not None:
        why.append(f"the model's σ_s averages {sigma_s_mean:.2f}, Eq. 10 assumes 1")
    if mode == "full" and h_t_mean is not None and mu_t_mean is not None:
        why.append(f"h_t averages {h_t_mean:.2f} where Eq. 5 has μ_t, averaging {mu_t_mean:.2f}")
    shown = f"measured {ratio:.2f} × (the gap {seen})" + (f"; {'; '.join(why)}" if why else "")
    return paper, shown, said == seen and said != "undefined"


def kl_gap_claim(mu_s: float, sigma_s: float, mu_t: float, sigma_t: float, gamma1: float,
                 rtol: float = KL_GAP_RTOL) -> tuple[str, str, bool]:
    """The calculator's Gaussians: Eq. 10's ratio ``((1-g1)/g1)^2`` against the exact
    ``KL(st||ts)`` of Eq. 5-6's moments divided by Eq. 7's ``KL(s||t)``. Holds when they agree
    within ``rtol`` (relative; both below 1e-9 counts as agreeing): true for
    ``sigma_s = sigma_t = 1``, not in general (Eq. 9-10 drop the log and variance terms)."""
    predicted = K.gap_ratio(gamma1)
    kl_s_t = K.kl_gauss(mu_s, sigma_s, mu_t, sigma_t)
    m_st, s_st, m_ts, s_ts = K.modulated_moments(mu_s, sigma_s, mu_t, sigma_t, gamma1)
    exact = K.kl_gauss(m_st, s_st, m_ts, s_ts) / kl_s_t if kl_s_t > 0 else float("nan")
    holds = math.isfinite(exact) and (abs(exact - predicted) <= rtol * max(predicted, 1e-9)
                                      or max(exact, predicted) < 1e-9)
    return (f"Eq. 10 predicts KL(st‖ts) = {predicted:.3f} × KL(s‖t)",
            f"these Gaussians (Eq. 5-6 moments, Eq. 7) give {exact:.3f} ×", holds)


def latent_claim(kl_source_mean: float, kl_target_mean: float,
                 kl_max: float = LATENT_KL_MAX) -> tuple[str, str, bool]:
    """DFA Fig. 8-9: the source features are pulled onto the N(0, 1) prior and the target's land
    on the same space (Fig. 7: a method without the regularisation does not). Holds when the mean
    KL to N(0, 1) per dimension is at most ``kl_max`` in both domains (``prior_report``'s kl)."""
    return (f"DFA Fig. 8-9: source and target codes both near N(0, 1) (here: mean KL per "
            f"dimension ≤ {kl_max:g})",
            f"this model: mean KL source {kl_source_mean:.2f}, target {kl_target_mean:.2f}",
            max(kl_source_mean, kl_target_mean) <= kl_max)


def alignment_source(method: str | None) -> str:
    """Which paper's figure the alignment claim stands on for ``method``: CDLM Fig. 9 measures
    it for DANN and CDLM; DFA's own figure is Fig. 5 (t-SNE of both domains' features), which
    the page checks with CDLM Fig. 9's A-distance criterion (issue 25: the page cited CDLM
    while comparing DFA models)."""
    if method and method.startswith("dfa"):
        return "DFA Fig. 5 (aligned features), by CDLM Fig. 9's A-distance criterion"
    return "CDLM Fig. 9"


def alignment_claim(a_distance: float, raw_a_distance: float, at_chance: bool = False,
                    representation: str | None = None,
                    method: str | None = None) -> tuple[str, str, bool]:
    """CDLM Fig. 9: adapted features (DANN, CDLM) have a smaller proxy A-distance than the raw
    images. Holds when the model's features' A-distance is below the raw pixels' on the same
    test images (the same ``proxy_a_distance``, on the same ``representation`` when given:
    the Alignment page's common one), and the model is not at chance (``at_chance``: features
    that carry no class are easy to make indistinguishable, which is not alignment)."""
    on = f" ({representation})" if representation else ""
    shown = f"this model's features: {a_distance:.2f}{on}"
    if at_chance:
        shown += "; but its target accuracy is at chance, so its features carry no class and " \
                 "a small A-distance is no sign of alignment"
    return (f"{alignment_source(method)}: adaptation brings the A-distance below the raw "
            f"images' ({raw_a_distance:.2f} for this pair)",
            shown, a_distance < raw_a_distance and not at_chance)


def bridge_claim(acc_s_t: float, acc_t_s: float,
                 min_acc: float = BRIDGE_MIN_ACC) -> tuple[str, str, bool]:
    """Bridge Table 2: transfer keeps the class (0.89-0.98 transfer accuracy between image
    domains). Holds when both directions reach ``min_acc`` (Table 2's lowest image pair)."""
    return (f"Bridge Table 2: transfer keeps the class (transfer accuracy ≥ {min_acc:.2f})",
            f"this bridge: {acc_s_t:.2f} source -> target, {acc_t_s:.2f} target -> source",
            min(acc_s_t, acc_t_s) >= min_acc)


def first_holding(candidates) -> str | None:
    """The label of the first ``(label, holds)`` pair whose ``holds`` is true, else None."""
    return next((label for label, holds in candidates if holds), None)


def verdict(effect: str, holds: bool, alternative: str | None,
            searched: str = "the zoo or your runs", subject: str = "This model") -> str | None:
    """The sentence a page says first when its model (``subject``) does not show the paper's
    ``effect``: naming ``alternative`` (one that does, by the same criterion) or saying that
    nothing in ``searched`` does. None when it shows it."""
    if holds:
        return None
    tail = (f"{alternative} does." if alternative
            else f"nothing in {searched} does either.")
    return f"{subject} does not show {effect}; {tail}"
