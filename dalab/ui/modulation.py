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
    if mode not in MODES:
        raise ValueError(f"unknown modulation mode {mode!r}; valid: {', '.join(MODES)}")
    if gamma1 <= 0 or gamma2 < 0:
        raise ValueError(f"need gamma1 > 0 and gamma2 >= 0, got {gamma1}, {gamma2}")
    mu_s, sd_s, h_s = enc["mu_s"], enc["sigma_s"], enc["h_s"]
    mu_t, sd_t, h_t = enc["mu_t"], enc["sigma_t"], enc["h_t"]
    n = min(len(mu_s), len(mu_t))
    mu_s, sd_s, h_s, mu_t, sd_t, h_t = (a[:n] for a in (mu_s, sd_s, h_s, mu_t, sd_t, h_t))
    d = mu_s.shape[1]
    if not all(0 <= i < d for i in dims):
        raise ValueError(f"dims={dims}: the latent has {d} dimensions (0..{d - 1})")
    gen = torch.Generator().manual_seed(seed)
    eps_s, eps_t, eps_g = (torch.randn(n, d, generator=gen).to(mu_s.device) for _ in range(3))
    z_s, z_t = mu_s + sd_s * eps_s, mu_t + sd_t * eps_t
    z_st = modulate(mu_s, sd_s, h_t, eps_s, gamma1, gamma2, mode, sd_t)
    z_ts = modulate(mu_t, sd_t, h_s, eps_t, gamma1, gamma2, mode, sd_s)
    # the noise-free part: the transfer means of Fig. 4 (Eq. 5 with the real h)
    mu_st = modulate(mu_s, sd_s, h_t, torch.zeros_like(mu_s), gamma1, gamma2, mode, sd_t)
    mu_ts = modulate(mu_t, sd_t, h_s, torch.zeros_like(mu_t), gamma1, gamma2, mode, sd_s)

    np_ = lambda a: a.detach().cpu().numpy().astype(np.float64)  # noqa: E731
    m_s, s_s = K.fit_diag_gaussian(np_(z_s))
    m_t, s_t = K.fit_diag_gaussian(np_(z_t))
    kl_s_t = K.kl_gauss(m_s, s_s, m_t, s_t)
    kl_st_ts = K.empirical_kl(np_(z_st), np_(z_ts))
    predicted, equation = predicted_gap(mode, gamma1, m_s, s_s, m_t, s_t)

    # one decoder pass (all generations, the first k decoded z_ts) and one encoder pass to
    # classify the generations (Table 6 live). The re-encoding is the dearest step (~0.4 ms an
    # image on one core), so D(z_ts) is drawn but not classified: the 150 ms budget.
    k = min(n_show, n)
    x_gen = model.decode(torch.cat([gamma1 * h_t + gamma2 * eps_g, z_ts[:k]]))
    pred = model.classify_h(x_gen[:n]).argmax(1).cpu().numpy()
    acc_gen = float((pred == enc["y_t"][:n]).mean())
    x_gen = x_gen.cpu().numpy()
    i, j = dims
    return {
        "points": {"mu_s": np_(mu_s)[:, [i, j]], "mu_t": np_(mu_t)[:, [i, j]],
                   "mu_st": np_(mu_st)[:, [i, j]], "mu_ts": np_(mu_ts)[:, [i, j]]},
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


def view_csv(view: dict, gamma1: float, gamma2: float, mode: str) -> str:
    """The page's numbers as one CSV row (with a header) for the download button."""
    keys = ("kl_s_t", "kl_st_ts", "ratio", "predicted", "predicted_ratio", "dist_s_t",
            "dist_st_ts", "acc_gen", "acc_h", "n")
    head = "mode,gamma1,gamma2,equation," + ",".join(keys)
    row = f"{mode},{gamma1},{gamma2},{view['equation']}," + ",".join(
        f"{view[k]:.6g}" for k in keys)
    return head + "\n" + row + "\n"
