"""Plotly figure builders: pure functions of arrays, tested without a UI.

Every page builds its figures here so what is drawn can be checked by pytest (AppTest cannot
see inside plotly charts).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis import kl as K

SOURCE_COLOUR, TARGET_COLOUR, PRIOR_COLOUR = "#1f77b4", "#d62728", "#2ca02c"


def gap_ratio_figure(gamma1: float, lo: float = 0.2, hi: float = 2.0, n: int = 181) -> go.Figure:
    """CDLM Eq. 10: KL(st||ts) / KL(s||t) = ((1 - gamma1)/gamma1)^2 against gamma1, with the
    0.5 threshold (below it modulation widens the gap) and the chosen gamma1 marked."""
    g = np.linspace(lo, hi, n)
    r = K.gap_ratio(g)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=g, y=r, mode="lines", name="((1-γ1)/γ1)²"))
    fig.add_trace(go.Scatter(x=[gamma1], y=[K.gap_ratio(gamma1)], mode="markers",
                             marker=dict(size=12), name=f"γ1 = {gamma1:g}"))
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="no change (ratio 1)")
    fig.add_vline(x=0.5, line_dash="dash", line_color="gray",
                  annotation_text="γ1 = 0.5: above it the gap shrinks")
    fig.update_layout(xaxis_title="γ1", yaxis_title="KL(st‖ts) / KL(s‖t)",
                      yaxis_range=[0, min(4.0, float(r.max()) * 1.05)], height=380,
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig


def gap_table(mu_s, sigma_s, mu_t, sigma_t, gamma1) -> list[dict]:
    """The KL-gap calculator's rows: each equation, its meaning and its value."""
    return [
        {"equation": "Eq. 7", "quantity": "KL(s‖t), diagonal Gaussians",
         "value": K.kl_gauss(mu_s, sigma_s, mu_t, sigma_t)},
        {"equation": "Eq. 8", "quantity": "KL(s‖t) with σ_s = σ_t",
         "value": K.kl_simplified(mu_s, mu_t, sigma_t)},
        {"equation": "Eq. 9", "quantity": "KL(st‖ts), full modulation",
         "value": K.kl_modulated(mu_s, sigma_s, mu_t, sigma_t, gamma1)},
        {"equation": "Eq. 10", "quantity": "ratio ((1-γ1)/γ1)²", "value": K.gap_ratio(gamma1)},
        {"equation": "Eq. 12", "quantity": "KL(st‖ts), PM1",
         "value": K.kl_pm1(mu_s, sigma_s, mu_t, sigma_t)},
        {"equation": "Eq. 14", "quantity": "KL(st‖ts)+KL(ts‖st) under PM1 (≤ next row)",
         "value": K.pm1_bound(mu_s, sigma_s, mu_t, sigma_t)[0]},
        {"equation": "Eq. 14", "quantity": "KL(s‖t)+KL(t‖s)",
         "value": K.pm1_bound(mu_s, sigma_s, mu_t, sigma_t)[1]},
        {"equation": "Eq. 15", "quantity": "KL(st‖ts), PM2 (gap preserved when σ_s = σ_t)",
         "value": K.kl_pm2(mu_s, sigma_s, mu_t, sigma_t)},
    ]


def histogram_figure(hist, names: dict[str, str] | None = None) -> go.Figure:
    """Overlaid densities on shared bins with the N(0, 1) prior (``analysis.latent.Histograms``)."""
    colours = [SOURCE_COLOUR, TARGET_COLOUR, "#9467bd", "#8c564b"]
    fig = go.Figure()
    width = np.diff(hist.edges)
    for i, (key, dens) in enumerate(hist.density.items()):
        fig.add_trace(go.Bar(x=hist.centers, y=dens, width=width, opacity=0.5,
                             name=(names or {}).get(key, key), marker_color=colours[i % 4]))
    fig.add_trace(go.Scatter(x=hist.centers, y=hist.prior, mode="lines", name="N(0, 1)",
                             line=dict(color=PRIOR_COLOUR, width=3)))
    fig.update_layout(barmode="overlay", xaxis_title="latent value", yaxis_title="density",
                      height=360, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def embedding_figure(points: np.ndarray, domain: np.ndarray, labels: np.ndarray | None = None,
                     colour_by: str = "domain", title: str = "") -> go.Figure:
    """Scatter of a 2-D map: colour by domain (source / target) or by class, with the domain
    always shown by the marker (circle = source, cross = target)."""
    if colour_by not in ("domain", "class"):
        raise ValueError(f"colour_by {colour_by!r}: choose 'domain' or 'class'")
    if colour_by == "class" and labels is None:
        raise ValueError("colour_by='class' needs labels")
    fig = go.Figure()
    for dom, name, symbol in ((1, "source", "circle"), (0, "target", "x")):
        m = domain == dom
        if colour_by == "domain":
            marker = dict(color=SOURCE_COLOUR if dom else TARGET_COLOUR, symbol=symbol, size=5)
        else:
            marker = dict(color=labels[m], colorscale="Turbo", cmin=0,
                          cmax=max(1, int(labels.max())), symbol=symbol, size=5)
        fig.add_trace(go.Scattergl(x=points[m, 0], y=points[m, 1], mode="markers", name=name,
                                   marker=marker,
                                   text=None if labels is None else [f"class {c}" for c in labels[m]]))
    fig.update_layout(title=title, height=420, xaxis=dict(showticklabels=False),
                      yaxis=dict(showticklabels=False), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def curves_figure(history: list[dict], keys: tuple[str, ...] = ("loss",),
                  acc_keys: tuple[str, ...] = ("target_test", "source_test")) -> go.Figure:
    """Training curves from a run's history: losses (left axis) and accuracies (right axis)."""
    steps = [h["step"] for h in history]
    fig = go.Figure()
    for k in keys:
        fig.add_trace(go.Scatter(x=steps, y=[h.get(k) for h in history], name=k, mode="lines"))
    for k in acc_keys:
        fig.add_trace(go.Scatter(x=steps, y=[h.get(k) for h in history], name=k,
                                 mode="lines+markers", yaxis="y2"))
    fig.update_layout(xaxis_title="step", yaxis=dict(title="loss"),
                      yaxis2=dict(title="accuracy", overlaying="y", side="right", range=[0, 1]),
                      height=360, margin=dict(l=10, r=10, t=30, b=10))
    return fig
