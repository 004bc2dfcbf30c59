"""The Modulation page's numbers (CDLM, Hou et al.), as pure functions without Streamlit.

Two steps, so that a slider move only pays for the cheap one:

1. :func:`encode_batch` (slow, cached by the page per model and batch): one encoder pass over a
   fixed batch of source and target test images -> ``mu, sigma, h`` per domain, plus the
   classifier's accuracy on ``h_t`` (independent of the gammas).
2. :func:`modulation_view` (fast, re-run on every slider move): Eq. 1-2 / 11 / 15 on the stored
   codes with fixed noise, the empirical KL gap against Eq. 10 / 12 / 15, the decoded
   source-style images and the classifier's accuracy on them (Table 6, live).

Shapes: ``N`` images per domain, ``d`` latent size; every returned array is numpy.
"""
from __future__ import annotations

import numpy as np
import torch

from ..analysis import kl as K
from ..methods.cdlm import MODES, modulate

MODE_LABELS = {"full": "full (Eq. 1-2)", "pm1": "PM1 (Eq. 11)", "pm2": "PM2 (Eq. 15)",
               "none": "none (plain VAE)"}


@torch.no_grad()
def page_batch(pair, n: int, seed: int):
    """The page's fixed batch: ``n`` source and ``n`` target test images drawn with ``seed``
    (``x_s, x_t, y_t``); the Modulation page and ``tools/modulation_table.py`` share it."""
    rng = np.random.default_rng(seed)
    i_s = rng.choice(len(pair.y_s_test), min(n, len(pair.y_s_test)), replace=False)
    i_t = rng.choice(len(pair.evaluation.y_test), min(n, len(pair.evaluation.y_test)),
                     replace=False)
    return pair.x_s_test[i_s], pair.evaluation.x_test[i_t], pair.evaluation.y_test[i_t]


def encode_batch(model, x_s: np.ndarray, x_t: np.ndarray, y_t: np.ndarray,
                 batch_size: int = 500) -> dict:
    """One encoder pass (``CDLM.encode``): ``{"mu_s", "sigma_s", "h_s", "mu_t", "sigma_t",
    "h_t"}`` ``(N, d)`` tensors on the model's device, ``x_t`` / ``y_t`` (numpy, kept for the
    picture) and ``acc_h``: the task classifier ``C(h_t)`` (``CDLM.classify_features``) against
    ``y_t`` (no generation involved)."""
    device = next(model.parameters()).device
    model.eval()
    out = {}
    for side, x, domain in (("s", x_s, "source"), ("t", x_t, "target")):
        lat = model.encode_numpy(x, domain, batch_size)
        for name in ("mu", "sigma", "h"):
            out[f"{name}_{side}"] = torch.from_numpy(lat[name]).to(device)
    out["x_t"] = np.asarray(x_t, np.float32)
    out["y_t"] = np.asarray(y_t)
    logits = model.classify_features(out["h_t"])
    out["acc_h"] = float((logits.argmax(1).cpu().numpy() == out["y_t"]).mean())
    return out


# Why the x~_ts row stays put when the mode changes (dalab.methods.cdlm: CDLM._gen_code,
# CDLM.predict): the test mode renders D(gamma1 h_t + gamma2 eps) from the target's own deep
# features h_t; the mode only chooses how z_st, z_ts are drawn (``modulate``: Eq. 1-2, 11, 15).
TEST_MODE_NOTE = ("x~_ts = D(γ1 h_t + γ2 ε) does not change with the mode: the test mode "
                  "(Sec. 3.2.4) decodes the target's own deep features h_t, and the mode only "
                  "decides how the transfer codes z_st, z_ts are drawn (Eq. 1-2, 11 or 15), "
                  "so γ1 and γ2 move this row and its accuracy, the mode moves x^_ts = D(z_ts) "
                  "and the gap.")

# The modulation each mode uses and the paper's statement about its gap (CDLM Sec. 3.2.2-3.2.3)
MODE_EQUATIONS = {
    "full": (r"z_{st}=\mu_s+\sigma_s\odot(\gamma_1 h_t+\gamma_2\epsilon)\quad(1)\qquad "
             r"D_{KL}(st\|ts)=\Big(\frac{1-\gamma_1}{\gamma_1}\Big)^2D_{KL}(s\|t)\quad(10)"),
    "pm1": (r"\ddot z_{st}=\mu_s+\tfrac12(\sigma_s+\sigma_t)\odot\epsilon\quad(11)\qquad "
            r"D_{KL}(st\|ts)=\tfrac12\sum_i 4\Big(\frac{\mu_s^i-\mu_t^i}"
            r"{\sigma_s^i+\sigma_t^i}\Big)^2\quad(12)"),
    "pm2": (r"\ddot z_{st}=\mu_s+\sigma_t\odot\epsilon,\ \ "
            r"\ddot z_{ts}=\mu_t+\sigma_s\odot\epsilon\quad(15)"),
    "none": (r"z_{st}=\mu_s+\sigma_s\odot\epsilon\qquad "
             r"D_{KL}(st\|ts)=D_{KL}(s\|t)\quad\text{(plain VAE)}"),
}


def mode_equations(mode: str, gamma1: float, predicted_ratio: float | None = None) -> dict:
    """The Modulation page's equation (``latex``) and the caption's sentence on the prediction
    (``caption``) for ``mode``: Eq. 1 and 10 in full mode only, Eq. 11-12 (PM1), Eq. 15 (PM2),
    a plain VAE's unchanged gap (none). ``predicted_ratio`` (the page's, from the fitted
    moments) is quoted where the prediction depends on the model, not on gamma1 alone."""
    if mode not in MODES:
        raise ValueError(f"unknown modulation mode {mode!r}; valid: {', '.join(MODES)}")
    r = "" if predicted_ratio is None else f" = {predicted_ratio:.3f} × KL(s‖t) here"
    caption = {
        "full": f"Eq. 10 predicts the ratio ((1-γ1)/γ1)² = {K.gap_ratio(gamma1):.3f} under its "
                "assumptions (σ_s ≈ 1, γ1 ≫ γ2, h Gaussian). A trained model's h is a sigmoid "
                "output, so the measured ratio can differ: that difference is the lesson.",
        "pm1": "PM1 (Eq. 11) mixes the two domains' σ and ignores γ1, γ2 and h; Eq. 12 "
               f"predicts KL(st‖ts) = ½ Σ 4 ((μ_s - μ_t)/(σ_s + σ_t))²{r}, no larger than "
               "KL(s‖t) + KL(t‖s) (Eq. 14).",
        "pm2": "PM2 (Eq. 15) swaps the two domains' σ and ignores γ1, γ2 and h; the paper says "
               f"it preserves the gap: KL(N(μ_s, σ_t) ‖ N(μ_t, σ_s)){r} (equal to KL(s‖t) "
               "when σ_s = σ_t).",
        "none": "Mode none is a plain VAE (z = μ + σ ε): nothing is modulated, so KL(st‖ts) is "
                "KL(s‖t) itself (ratio 1) and γ1, γ2 do not enter; the check for the other "
                "modes.",
    }[mode]
    return {"latex": MODE_EQUATIONS[mode], "caption": caption}


def trained_gammas(config: dict) -> dict:
    """``{"gamma1", "gamma2"}`` of a CDLM run's config (floats): where the Modulation page's
    sliders start and where "reset to trained" puts them back."""
    return {"gamma1": float(config["gamma1"]), "gamma2": float(config["gamma2"])}


def predicted_gap(mode: str, gamma1: float, mu_s, sd_s, mu_t, sd_t) -> tuple[float, str]:
    """The paper's prediction of ``KL(st||ts)`` from the fitted moments of ``z_s, z_t``, and
    which equation gave it: Eq. 10 (full: ``((1-g1)/g1)^2 KL(s||t)``), Eq. 12 (PM1),
    Eq. 15 (PM2: ``KL(N(mu_s, sd_t) || N(mu_t, sd_s))``), none: ``KL(s||t)`` itself."""
    if mode not in MODES:
        raise ValueError(f"unknown modulation mode {mode!r}; valid: {', '.join(MODES)}")
    kl_st = K.kl_gauss(mu_s, sd_s, mu_t, sd_t)
    if mode == "full":
        return K.gap_ratio(gamma1) * kl_st, "Eq. 10"
    if mode == "pm1":
        return K.kl_pm1(mu_s, sd_s, mu_t, sd_t), "Eq. 12"
    if mode == "pm2":
        return K.kl_pm2(mu_s, sd_s, mu_t, sd_t), "Eq. 15"
    return kl_st, "Eq. 7"


def _np(a: torch.Tensor) -> np.ndarray:
    return a.detach().cpu().numpy().astype(np.float64)


def _check_setting(mode: str, gamma1: float, gamma2: float) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown modulation mode {mode!r}; valid: {', '.join(MODES)}")
    if gamma1 <= 0 or gamma2 < 0:
        raise ValueError(f"need gamma1 > 0 and gamma2 >= 0, got {gamma1}, {gamma2}")


def _codes(enc: dict, seed: int) -> dict:
    """The batch cut to ``n = min(N_s, N_t)`` pairs, and the fixed noise drawn from ``seed``:
    ``eps_s, eps_t`` (Eq. 1-2) and ``eps_g`` (the generations), each ``(n, d)``. One place, so
    the single view and the grid see the same numbers."""
    n = min(len(enc["mu_s"]), len(enc["mu_t"]))
    c = {k: enc[k][:n] for k in ("mu_s", "sigma_s", "h_s", "mu_t", "sigma_t", "h_t", "y_t")}
    d = c["mu_s"].shape[1]
    gen = torch.Generator().manual_seed(seed)
    for name in ("eps_s", "eps_t", "eps_g"):
        c[name] = torch.randn(n, d, generator=gen).to(c["mu_s"].device)
    return c


def _modulated(c: dict, gamma1: float, gamma2: float, mode: str):
    """``z_st, z_ts`` (Eq. 1-2, or Eq. 11 / 15 / a plain VAE) of the batch ``c``."""
    z_st = modulate(c["mu_s"], c["sigma_s"], c["h_t"], c["eps_s"], gamma1, gamma2, mode,
                    c["sigma_t"])
    z_ts = modulate(c["mu_t"], c["sigma_t"], c["h_s"], c["eps_t"], gamma1, gamma2, mode,
                    c["sigma_s"])
    return z_st, z_ts


def _measured_gap(z_st: torch.Tensor, z_ts: torch.Tensor) -> float:
    """``KL(st||ts)`` between diagonal Gaussians fitted to the sampled codes (Eq. 7)."""
    return K.empirical_kl(_np(z_st), _np(z_ts))


def _test_mode_codes(c: dict, gamma1: float, gamma2: float) -> torch.Tensor:
    """``gamma1 h_t + gamma2 eps``: what the source decoder renders in the test mode
    (Sec. 3.2.4, Eq. 20), ``(n, d)``."""
    return gamma1 * c["h_t"] + gamma2 * c["eps_g"]


def _gap(c: dict, gamma1: float, gamma2: float, mode: str) -> dict:
    """The measured and predicted gap of the batch ``c`` (:func:`_codes`): ``kl_s_t`` between
    Gaussians fitted to ``z_s, z_t``, ``kl_st_ts`` for ``z_st, z_ts``, :func:`predicted_gap`'s
    ``predicted`` and ``equation``, and ``z_ts`` (the page decodes it)."""
    z_s, z_t = c["mu_s"] + c["sigma_s"] * c["eps_s"], c["mu_t"] + c["sigma_t"] * c["eps_t"]
    z_st, z_ts = _modulated(c, gamma1, gamma2, mode)
    m_s, s_s = K.fit_diag_gaussian(_np(z_s))
    m_t, s_t = K.fit_diag_gaussian(_np(z_t))
    predicted, equation = predicted_gap(mode, gamma1, m_s, s_s, m_t, s_t)
    return {"kl_s_t": K.kl_gauss(m_s, s_s, m_t, s_t), "kl_st_ts": _measured_gap(z_st, z_ts),
            "predicted": predicted, "equation": equation, "z_ts": z_ts}


@torch.no_grad()
def gap_at(enc: dict, gamma1: float, gamma2: float, mode: str = "full", seed: int = 0) -> dict:
    """:func:`modulation_view`'s gap numbers alone (no model call, milliseconds): ``ratio``,
    ``predicted_ratio``, ``equation``, and the batch means ``sigma_s_mean``, ``h_t_mean``,
    ``mu_t_mean`` (what Eq. 5-10 assume to be 1 and ``h_t ~ mu_t``). The Modulation page applies
    its claim to other CDLM models with it."""
    _check_setting(mode, gamma1, gamma2)
    c = _codes(enc, seed)
    g = _gap(c, gamma1, gamma2, mode)
    ok = g["kl_s_t"] > 0
    return {"ratio": g["kl_st_ts"] / g["kl_s_t"] if ok else float("nan"),
            "predicted_ratio": g["predicted"] / g["kl_s_t"] if ok else float("nan"),
            "equation": g["equation"], **batch_means(enc)}


def batch_means(enc: dict) -> dict:
    """``sigma_s_mean``, ``h_t_mean``, ``mu_t_mean`` of an encoded batch (floats)."""
    return {f"{k}_mean": float(enc[k].mean()) for k in ("sigma_s", "h_t", "mu_t")}


@torch.no_grad()
def modulation_view(model, enc: dict, gamma1: float, gamma2: float, mode: str = "full",
                    seed: int = 0, dims: tuple[int, int] = (0, 1), n_show: int = 8) -> dict:
    """Everything the Modulation page draws for one setting of the sliders.

    The ``i``-th source image is modulated by the ``i``-th target image and vice versa (as in
    training); ``eps`` is drawn from ``seed``, the same for every setting, so only the gammas
    and the mode change the picture. Returns

    - ``points``: ``{"mu_s", "mu_t", "mu_st", "mu_ts"}`` -> ``(N, 2)``, in ``dims``: the means
      and the transfer means (the codes at ``eps = 0``, ``mu_s + gamma1 sigma_s h_t`` in full
      mode), CDLM Fig. 4; ``dist_s_t``, ``dist_st_ts``: the distance between the batch averages
      of ``mu_s`` and ``mu_t``, and of ``mu_st`` and ``mu_ts`` (all ``d`` dimensions);
    - ``kl_s_t``: ``KL(s||t)`` between diagonal Gaussians fitted to ``z_s = mu_s + sigma_s eps``
      and ``z_t`` (Eq. 7); ``kl_st_ts``: the same for ``z_st, z_ts``; ``ratio`` = their quotient;
      ``predicted`` and ``equation``: :func:`predicted_gap`; ``predicted_ratio``;
    - ``images``: ``{"target", "x~_ts", "x^_ts"}`` -> ``(n_show, C, 28, 28)``: the target
      images, their generations ``D(gamma1 h_t + gamma2 eps)`` (the test mode, Sec. 3.2.4) and
      ``D(z_ts)`` (Eq. 2 decoded);
    - ``acc_gen``: the classifier ``C(h(.))`` on the generations ``x~_ts`` of all ``N`` target
      images against their labels (Table 6, the paper's test mode); ``acc_h``: on ``h_t``.
    """
    _check_setting(mode, gamma1, gamma2)
    c = _codes(enc, seed)
    mu_s, sd_s, h_s, mu_t, sd_t, h_t = (c[k] for k in ("mu_s", "sigma_s", "h_s", "mu_t",
                                                       "sigma_t", "h_t"))
    n, d = mu_s.shape
    if not all(0 <= i < d for i in dims):
        raise ValueError(f"dims={dims}: the latent has {d} dimensions (0..{d - 1})")
    gap = _gap(c, gamma1, gamma2, mode)
    kl_s_t, kl_st_ts, z_ts = gap["kl_s_t"], gap["kl_st_ts"], gap["z_ts"]
    predicted, equation = gap["predicted"], gap["equation"]
    # the noise-free part: the transfer means of Fig. 4 (Eq. 5 with the real h)
    mu_st = modulate(mu_s, sd_s, h_t, torch.zeros_like(mu_s), gamma1, gamma2, mode, sd_t)
    mu_ts = modulate(mu_t, sd_t, h_s, torch.zeros_like(mu_t), gamma1, gamma2, mode, sd_s)

    # one decoder pass (all generations, the first k decoded z_ts) and one encoder pass to
    # classify the generations (Table 6 live). The re-encoding is the dearest step (~0.4 ms an
    # image on one core), so D(z_ts) is drawn but not classified: the 150 ms budget.
    k = min(n_show, n)
    x_gen = model.decode(torch.cat([_test_mode_codes(c, gamma1, gamma2), z_ts[:k]]))
    pred = model.classify_image(x_gen[:n]).argmax(1).cpu().numpy()
    acc_gen = float((pred == c["y_t"]).mean())
    x_gen = x_gen.cpu().numpy()
    i, j = dims
    return {
        "points": {"mu_s": _np(mu_s)[:, [i, j]], "mu_t": _np(mu_t)[:, [i, j]],
                   "mu_st": _np(mu_st)[:, [i, j]], "mu_ts": _np(mu_ts)[:, [i, j]]},
        "dist_s_t": float((mu_s.mean(0) - mu_t.mean(0)).norm()),
        "dist_st_ts": float((mu_st.mean(0) - mu_ts.mean(0)).norm()),
        "kl_s_t": kl_s_t, "kl_st_ts": kl_st_ts,
        "ratio": kl_st_ts / kl_s_t if kl_s_t > 0 else float("nan"),
        "predicted": predicted, "equation": equation,
        "predicted_ratio": predicted / kl_s_t if kl_s_t > 0 else float("nan"),
        "images": {"target": enc["x_t"][:k], "x~_ts": x_gen[:k], "x^_ts": x_gen[n:n + k]},
        "acc_gen": acc_gen, "acc_h": enc["acc_h"],
        "n": n, "latent_dim": d,
    }


@torch.no_grad()
def representative_dims(enc: dict, gamma1: float, gamma2: float, mode: str = "full",
                        seed: int = 0) -> tuple[tuple[int, int], bool]:
    """The two latent dimensions Fig. 4's 2-D view should open on, and whether the aggregate
    says *closer*: the distance between the averages of mu_st and mu_ts (all dimensions,
    :func:`modulation_view`'s ``dist_st_ts``) against that of mu_s and mu_t. Per dimension the
    change of the averages' gap, ``|mean mu_st - mean mu_ts| - |mean mu_s - mean mu_t|``; the
    two dimensions that change most in the aggregate's direction (issue 25: dimensions 0 and 1
    showed the transfer means farther apart while the aggregate said closer)."""
    c = _codes(enc, seed)
    mu_s, sd_s, h_s, mu_t, sd_t, h_t = (c[k] for k in ("mu_s", "sigma_s", "h_s", "mu_t",
                                                       "sigma_t", "h_t"))
    mu_st = modulate(mu_s, sd_s, h_t, torch.zeros_like(mu_s), gamma1, gamma2, mode, sd_t)
    mu_ts = modulate(mu_t, sd_t, h_s, torch.zeros_like(mu_t), gamma1, gamma2, mode, sd_s)
    before = (mu_s.mean(0) - mu_t.mean(0))
    after = (mu_st.mean(0) - mu_ts.mean(0))
    closer = bool(after.norm() < before.norm())
    change = (after.abs() - before.abs()).cpu().numpy()
    order = np.argsort(change if closer else -change, kind="stable")
    if len(order) < 2:
        return (0, 0), closer
    i, j = sorted(int(k) for k in order[:2])
    return (i, j), closer


# Table 6, live: the grid of the page's map (gamma1 0.1..3 with 1 in it, gamma2 0..1)
GAMMA1_GRID = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
GAMMA2_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


def _grid(gamma1s, gamma2s, mode: str = "full") -> tuple[np.ndarray, np.ndarray]:
    g1s, g2s = np.asarray(gamma1s, np.float64), np.asarray(gamma2s, np.float64)
    for g1 in g1s:
        for g2 in g2s:
            _check_setting(mode, g1, g2)
    return g1s, g2s


@torch.no_grad()
def grid_accuracy(model, enc: dict, gamma1s=GAMMA1_GRID, gamma2s=GAMMA2_GRID, seed: int = 0,
                  batch_size: int = 2048) -> np.ndarray:
    """:func:`modulation_view`'s ``acc_gen`` (the test mode) at every ``(gamma1, gamma2)`` of a
    ``G1 x G2`` grid, ``(G1, G2)``: the ``G1 G2 N`` generations ``D(gamma1 h_t + gamma2 eps)``
    go through the decoder and the classifier in chunks of ``batch_size`` images, not one
    model call per cell. It does not depend on the mode (the test mode does not modulate)."""
    g1s, g2s = _grid(gamma1s, gamma2s)
    c = _codes(enc, seed)
    codes = torch.cat([_test_mode_codes(c, float(g1), float(g2)) for g1 in g1s for g2 in g2s])
    pred = torch.cat([model.classify_image(model.decode(z)).argmax(1)
                      for z in codes.split(batch_size)]).cpu().numpy()
    hits = pred.reshape(len(g1s), len(g2s), len(c["y_t"])) == np.asarray(c["y_t"])
    return hits.mean(2)


def grid_gap(enc: dict, gamma1s=GAMMA1_GRID, gamma2s=GAMMA2_GRID, mode: str = "full",
             seed: int = 0) -> dict:
    """:func:`modulation_view`'s measured gap over the grid (no model call: milliseconds):
    ``kl_st_ts`` and ``ratio`` = ``kl_st_ts / kl_s_t``, each ``(G1, G2)``, and ``kl_s_t``."""
    g1s, g2s = _grid(gamma1s, gamma2s, mode)
    c = _codes(enc, seed)
    kl_s_t = K.empirical_kl(_np(c["mu_s"] + c["sigma_s"] * c["eps_s"]),
                            _np(c["mu_t"] + c["sigma_t"] * c["eps_t"]))
    kl = np.array([[_measured_gap(*_modulated(c, float(g1), float(g2), mode)) for g2 in g2s]
                   for g1 in g1s])
    return {"kl_st_ts": kl, "kl_s_t": kl_s_t,
            "ratio": kl / kl_s_t if kl_s_t > 0 else np.full_like(kl, np.nan)}


def gamma_grid(model, enc: dict, gamma1s=GAMMA1_GRID, gamma2s=GAMMA2_GRID, mode: str = "full",
               seed: int = 0, batch_size: int = 2048) -> dict:
    """CDLM Table 6, live: :func:`modulation_view`'s test-mode accuracy and measured gap over a
    ``G1 x G2`` grid of ``(gamma1, gamma2)``, on the batch ``enc`` already encoded, with the
    same codes and fixed noise (a cell equals the single view at that setting). Returns
    ``gamma1 (G1,)``, ``gamma2 (G2,)``, ``acc_gen`` (:func:`grid_accuracy`), and
    :func:`grid_gap`'s ``kl_st_ts``, ``ratio`` ``(G1, G2)`` and ``kl_s_t``."""
    g1s, g2s = _grid(gamma1s, gamma2s, mode)
    return {"gamma1": g1s, "gamma2": g2s,
            "acc_gen": grid_accuracy(model, enc, g1s, g2s, seed, batch_size),
            **grid_gap(enc, g1s, g2s, mode, seed)}


def grid_marker(gamma1s, gamma2s, gamma1: float, gamma2: float) -> tuple[float, float]:
    """Where ``(gamma1, gamma2)`` lies on the map whose cells are indexed ``0..G-1`` (rows
    gamma1, columns gamma2): ``(row, column)``, fractional between grid values (linear),
    clipped to the edges."""
    row = float(np.interp(gamma1, np.asarray(gamma1s, float), np.arange(len(gamma1s))))
    col = float(np.interp(gamma2, np.asarray(gamma2s, float), np.arange(len(gamma2s))))
    return row, col


def view_csv(view: dict, gamma1: float, gamma2: float, mode: str) -> str:
    """The page's numbers as one CSV row (with a header) for the download button."""
    keys = ("kl_s_t", "kl_st_ts", "ratio", "predicted", "predicted_ratio", "dist_s_t",
            "dist_st_ts", "acc_gen", "acc_h", "n")
    head = "mode,gamma1,gamma2,equation," + ",".join(keys)
    row = f"{mode},{gamma1},{gamma2},{view['equation']}," + ",".join(
        f"{view[k]:.6g}" for k in keys)
    return head + "\n" + row + "\n"
