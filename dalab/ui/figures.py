"""Plotly figure builders: pure functions of arrays, tested without a UI.

Every page builds its figures here so what is drawn can be checked by pytest (AppTest cannot
see inside plotly charts).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis import kl as K

from .colours import (NEUTRAL_COLOUR, PRIOR_COLOUR, SOURCE_COLOUR,  # noqa: F401 (re-exported)
                      TARGET_COLOUR, domain_colour)

# The builders below that draw both domains: each colours them with the two colours of
# dalab/ui/colours.py and shows a legend (tests/test_figures.py checks both).
BOTH_DOMAINS = ("gaussians_figure", "histogram_figure", "kl_per_dimension_figure",
                "embedding_figure", "training_figure", "modulation_scatter_figure",
                "bridge_2d_figure")


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
    # the curve is cut at 4 (it reaches 16 at 0.2), but never below the chosen dot
    top = max(min(4.0, float(r.max()) * 1.05), 1.1 * K.gap_ratio(gamma1))
    fig.update_layout(xaxis_title="γ1", yaxis_title="KL(st‖ts) / KL(s‖t)",
                      yaxis_range=[0, top], height=380, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def gaussians_figure(mu_s, sigma_s, mu_t, sigma_t, gamma1, n: int = 401) -> go.Figure:
    """The KL-gap calculator's four Gaussians of one latent dimension as densities: the source
    ``s = N(mu_s, sigma_s)``, the target ``t`` and the fully modulated codes ``z_st, z_ts`` with
    CDLM Eq. 5-6's moments (:func:`dalab.analysis.kl.modulated_moments`, the ones Eq. 9 uses).
    Each curve has a grid of its own over ``mu +- 5 sigma`` besides the shared one, so a narrow
    Gaussian next to a wide one is still drawn whole."""
    mu_st, sd_st, mu_ts, sd_ts = (float(v) for v in
                                  K.modulated_moments(mu_s, sigma_s, mu_t, sigma_t, gamma1))
    curves = [("s", "source N(μ_s, σ_s)", mu_s, sigma_s, SOURCE_COLOUR, "solid"),
              ("t", "target N(μ_t, σ_t)", mu_t, sigma_t, TARGET_COLOUR, "solid"),
              ("z_st", "(Eq. 5)", mu_st, sd_st, MODULATION_STYLE["mu_st"][1], "dash"),
              ("z_ts", "(Eq. 6)", mu_ts, sd_ts, MODULATION_STYLE["mu_ts"][1], "dash")]
    lo = min(m - 5 * sd for _, _, m, sd, _, _ in curves)
    hi = max(m + 5 * sd for _, _, m, sd, _, _ in curves)
    shared = np.linspace(lo, hi, n)
    fig = go.Figure()
    for short, what, m, sd, colour, dash in curves:
        x = np.union1d(shared, np.linspace(m - 5 * sd, m + 5 * sd, n))
        y = np.exp(-0.5 * ((x - m) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"{short} {what}: μ = {m:.3g}, "
                                 f"σ = {sd:.3g}", line=dict(color=colour, dash=dash)))
    fig.update_layout(xaxis_title="latent value", yaxis_title="density", height=380,
                      margin=dict(l=10, r=10, t=30, b=10), showlegend=True)
    return fig


def unit_sigma_note(sigma_s) -> str | None:
    """A warning for the KL-gap calculator when ``sigma_s != 1``: Eq. 9-10 (and Eq. 5-6's
    moments) assume a unit source sigma (CDLM Sec. 3.2.2); Eq. 7, 12 and 15 hold for any."""
    if abs(float(sigma_s) - 1.0) <= 1e-9:
        return None
    return (f"σ_s = {float(sigma_s):g}: Eq. 9-10 (and the moments of z_st, z_ts, Eq. 5-6) assume "
            "σ_s = 1 (Sec. 3.2.2), so their rows and the ratio are outside their assumptions "
            "here; Eq. 7, 12 and 15 hold for any σ.")


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
    others = ["#9467bd", "#8c564b"]  # sets that are neither domain, in order
    fig = go.Figure()
    width = np.diff(hist.edges)
    for i, (key, dens) in enumerate(hist.density.items()):
        fig.add_trace(go.Bar(x=hist.centers, y=dens, width=width, opacity=0.5,
                             name=(names or {}).get(key, key),
                             marker_color=domain_colour(key) or others[i % 2]))
    fig.add_trace(go.Scatter(x=hist.centers, y=hist.prior, mode="lines", name="N(0, 1)",
                             line=dict(color=PRIOR_COLOUR, width=3)))
    fig.update_layout(barmode="overlay", xaxis_title="latent value", yaxis_title="density",
                      height=360, margin=dict(l=10, r=10, t=30, b=10), showlegend=True)
    return fig


def kl_per_dimension_figure(kl_s: np.ndarray, kl_t: np.ndarray) -> go.Figure:
    """Overlaid histograms of the per-dimension KL to N(0, 1) of the source and target codes
    (``analysis.latent.prior_report(...)["kl"]``, ``(d,)`` each): how Gaussian a model's code
    is, all dimensions at once (DFA Fig. 7-9)."""
    fig = go.Figure([go.Histogram(x=kl_s, name="source", opacity=0.6,
                                  marker_color=SOURCE_COLOUR),
                     go.Histogram(x=kl_t, name="target", opacity=0.6,
                                  marker_color=TARGET_COLOUR)])
    fig.update_layout(barmode="overlay", height=260, xaxis_title="KL to N(0,1) per dimension",
                      yaxis_title="dimensions", margin=dict(l=10, r=10, t=30, b=10),
                      showlegend=True)
    return fig


# one per class (digit 0-9), then again; none is the source blue or the target red
CLASS_COLOURS = ("#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#2ca02c",
                 "#000000", "#e7ba52", "#5254a3")
EMBED_MARKER = 8  # px: the Alignment maps' dots (5 px was too small on a projector)
DOMAIN_SYMBOL = {1: "circle", 0: "x"}  # source = circle, target = cross on every map


def embedding_figure(points: np.ndarray, domain: np.ndarray, labels: np.ndarray | None = None,
                     colour_by: str = "domain", title: str = "") -> go.Figure:
    """Scatter of a 2-D map: colour by domain (source / target in the app's two colours) or by
    class (one colour per class, :data:`CLASS_COLOURS`, one legend entry per class that shows
    or hides the class in both domains), with the domain always shown by the marker (circle =
    source, cross = target; in class colouring two grey legend entries say so)."""
    if colour_by not in ("domain", "class"):
        raise ValueError(f"colour_by {colour_by!r}: choose 'domain' or 'class'")
    if colour_by == "class" and labels is None:
        raise ValueError("colour_by='class' needs labels")
    fig = go.Figure()
    names = {1: "source", 0: "target"}

    def hover(m):
        return None if labels is None else [f"class {c}" for c in labels[m]]

    if colour_by == "domain":
        for dom in (1, 0):
            m = domain == dom
            fig.add_trace(go.Scattergl(
                x=points[m, 0], y=points[m, 1], mode="markers", name=names[dom], text=hover(m),
                marker=dict(color=SOURCE_COLOUR if dom else TARGET_COLOUR, opacity=0.75,
                            symbol=DOMAIN_SYMBOL[dom], size=EMBED_MARKER)))
    else:
        for c in np.unique(labels):
            colour = CLASS_COLOURS[int(c) % len(CLASS_COLOURS)]
            for dom in (1, 0):
                m = (domain == dom) & (labels == c)
                fig.add_trace(go.Scattergl(
                    x=points[m, 0], y=points[m, 1], mode="markers", name=f"{int(c)}",
                    legendgroup=f"class {int(c)}", showlegend=dom == 1,
                    text=[f"class {int(c)}, {names[dom]}"] * int(m.sum()),
                    marker=dict(color=colour, symbol=DOMAIN_SYMBOL[dom], size=EMBED_MARKER,
                                opacity=0.75)))
        for dom in (1, 0):  # legend only: what the two shapes mean
            fig.add_trace(go.Scattergl(x=[None], y=[None], mode="markers",
                                       name=f"{'●' if dom else '✕'} {names[dom]}",
                                       legendgroup="domain", marker=dict(
                                           color=NEUTRAL_COLOUR, symbol=DOMAIN_SYMBOL[dom],
                                           size=EMBED_MARKER)))
        fig.update_layout(legend_title_text="class")
    fig.update_layout(title=title, height=420, xaxis=dict(showticklabels=False),
                      yaxis=dict(showticklabels=False), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def _number(v) -> float | None:
    """A plain float for plotly (a numpy scalar or a numeric string too); None when missing."""
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def training_figure(series: dict[str, list], history: list[dict],
                    acc_keys: tuple[str, ...] = ("target_test", "source_test")) -> go.Figure:
    """The Train page's curves: each loss component per step (``trainer.loss_series``, left
    axis) and the accuracies at each evaluation (``history``, right axis, 0-1). Every axis is
    explicitly linear and every value a plain float, so plotly never reads the numbers as
    category labels."""
    steps = [int(s) for s in series.get("step", [])]
    fig = go.Figure()
    for k, ys in series.items():
        if k != "step":
            fig.add_trace(go.Scatter(x=steps, y=[_number(v) for v in ys], name=k, mode="lines",
                                     yaxis="y", connectgaps=False))
    for k in acc_keys:
        pts = [(int(h["step"]), _number(h.get(k))) for h in history]
        pts = [(s, v) for s, v in pts if v is not None]
        if pts:
            fig.add_trace(go.Scatter(x=[s for s, _ in pts], y=[v for _, v in pts], name=k,
                                     mode="lines+markers", yaxis="y2",
                                     line=dict(color=domain_colour(k), dash="dot")))
    fig.update_layout(xaxis=dict(title="step", type="linear"),
                      yaxis=dict(title="loss (per step)", type="linear"),
                      yaxis2=dict(title="accuracy", type="linear", overlaying="y", side="right",
                                  range=[0, 1], tickformat=".2f", showgrid=False),
                      height=380, margin=dict(l=10, r=10, t=30, b=10), showlegend=True,
                      legend=dict(orientation="h", y=-0.2))
    return fig


def results_figure(rows: list[dict]) -> go.Figure:
    """One pair's benchmark rows (``dalab.ui.models.load_results``) as bars of the mean target
    test accuracy per method, best first, the sd over seeds as error bars (none for a single
    seed), and the ``source_only`` (lower bound) and ``target_only`` (upper bound, uses target
    labels) means as dashed reference lines instead of bars."""
    bounds = {r["method"]: r["mean"] for r in rows if r["method"] in ("source_only",
                                                                       "target_only")}
    bars = sorted((r for r in rows if r["method"] not in bounds), key=lambda r: -r["mean"])
    fig = go.Figure(go.Bar(
        x=[r["method"] for r in bars], y=[r["mean"] for r in bars],
        error_y=dict(type="data", array=[r["sd"] if r["seeds"] > 1 else 0.0 for r in bars]),
        text=[f"{r['mean']:.3f}" for r in bars], textposition="outside",
        hovertext=[f"{r['seeds']} seed(s)" for r in bars], marker_color=NEUTRAL_COLOUR))
    for method, name, colour in (("source_only", "source-only", SOURCE_COLOUR),
                                 ("target_only", "target-only", TARGET_COLOUR)):
        if method in bounds:
            fig.add_hline(y=bounds[method], line_dash="dash", line_color=colour,
                          annotation_text=f"{name} {bounds[method]:.3f}",
                          annotation_position="top left")
    fig.update_layout(yaxis_title="mean target test accuracy", yaxis_range=[0, 1.05],
                      height=380, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def row_curves_figure(records: list[dict]) -> go.Figure:
    """A benchmark row's learning curves, one colour per seed (:func:`dalab.ui.bench_runs.
    row_runs`): the training loss (window means, left) and the target test accuracy at each
    evaluation (right)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss (window mean)",
                                                        "target test accuracy"),
                        horizontal_spacing=0.12)
    palette = ("#636efa", "#00a087", "#ab63fa", "#ffa15a", "#19d3f3", "#b6e880")
    for i, r in enumerate(records):
        colour = palette[i % len(palette)]
        name = f"seed {r['seed']}"
        if r["loss"]:
            fig.add_trace(go.Scatter(x=r["loss_steps"], y=r["loss"], mode="lines", name=name,
                                     line=dict(color=colour), legendgroup=name), 1, 1)
        if r["eval_target"]:
            fig.add_trace(go.Scatter(x=r["eval_steps"], y=r["eval_target"],
                                     mode="lines+markers", name=name, showlegend=not r["loss"],
                                     line=dict(color=colour), legendgroup=name), 1, 2)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10))
    return fig


# -- the Playground (issue 25) ---------------------------------------------------------------

_CLASS_SYMBOLS = ("circle", "x")  # class 0, class 1: domain by colour, class by shape


def _domain_points(fig, pts, labels, domain: str, row=None, col=None) -> None:
    colour = domain_colour(domain)
    for k, symbol in enumerate(_CLASS_SYMBOLS):
        m = labels == k
        trace = go.Scatter(x=pts[m, 0], y=pts[m, 1], mode="markers", name=f"{domain}, class {k}",
                           marker=dict(color=colour, symbol=symbol, size=6, opacity=0.75,
                                       line=dict(width=0.5, color="white")),
                           legendgroup=domain)
        fig.add_trace(trace, row=row, col=col) if row else fig.add_trace(trace)


def playground_figures(f: dict) -> tuple[go.Figure, go.Figure, go.Figure]:
    """One Playground frame (:func:`dalab.ui.playground.frame`) as three figures: the input
    space (decision regions, both domains' points: blue source, red target, circle class 0,
    cross class 1), the feature space (both domains' features in 2-D) and the curves (target
    and source accuracy, feature MMD²) over the steps."""
    from plotly.subplots import make_subplots

    inp = go.Figure(go.Contour(x=f["grid_x"], y=f["grid_y"], z=f["p1"], zmin=0, zmax=1,
                               colorscale=[[0, "#f2f2f2"], [1, "#c9c9c9"]], showscale=False,
                               contours=dict(start=0.5, end=0.5, size=0.5, coloring="fill"),
                               line=dict(width=2, color="#555555"), hoverinfo="skip",
                               name="decision regions (grey: class 1)"))
    _domain_points(inp, f["x_s"], f["y_s"], "source")
    _domain_points(inp, f["x_t"], f["y_t"], "target")
    inp.update_layout(title="input space: points and the classifier's regions", height=360,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h"))
    feat = go.Figure()
    _domain_points(feat, f["f_s"], f["y_s"], "source")
    _domain_points(feat, f["f_t"], f["y_t"], "target")
    feat.update_layout(title="feature space: h of both domains (fixed 2-D projection)",
                       height=360, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
    h = f["history"]
    steps = [r["step"] for r in h]
    cur = make_subplots(rows=1, cols=2, subplot_titles=("accuracy", "feature MMD²"))
    cur.add_trace(go.Scatter(x=steps, y=[r["target_acc"] for r in h], name="target",
                             line=dict(color=TARGET_COLOUR)), 1, 1)
    cur.add_trace(go.Scatter(x=steps, y=[r["source_acc"] for r in h], name="source",
                             line=dict(color=SOURCE_COLOUR)), 1, 1)
    cur.add_trace(go.Scatter(x=steps, y=[r["mmd2"] for r in h], name="MMD²",
                             line=dict(color=NEUTRAL_COLOUR)), 1, 2)
    cur.update_yaxes(range=[0, 1.02], row=1, col=1)
    cur.update_xaxes(title_text="step")
    cur.update_layout(height=260, margin=dict(l=10, r=10, t=40, b=10))
    return inp, feat, cur


# -- images ---------------------------------------------------------------------------------

def tile_images(rows: list[np.ndarray], pad: int = 2) -> np.ndarray:
    """Rows of images ``(n, C, H, W)`` in [0, 1] (C = 1 or 3) -> one ``(H', W', 3)`` uint8 grid,
    ``pad`` white pixels between images. Rows may differ in length (short rows stay blank)."""
    if not rows:
        raise ValueError("tile_images needs at least one row")
    rows = [np.asarray(r, np.float32) for r in rows]
    _, c, h, w = rows[0].shape
    n = max(len(r) for r in rows)
    grid = np.ones((len(rows) * (h + pad) + pad, n * (w + pad) + pad, 3), np.float32)
    for i, r in enumerate(rows):
        if r.shape[1:] != (c, h, w):
            raise ValueError(f"row {i} has images of shape {r.shape[1:]}, expected {(c, h, w)}")
        for j, img in enumerate(r):
            img = np.repeat(img, 3, 0) if c == 1 else img[:3]
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            grid[y:y + h, x:x + w] = img.transpose(1, 2, 0)
    return (np.clip(grid, 0, 1) * 255).round().astype(np.uint8)


def image_rows_figure(rows: dict[str, np.ndarray], pad: int = 2, height: int | None = None
                      ) -> go.Figure:
    """Named rows of images ``{name: (n, C, H, W)}`` as one plotly image, the names on the left
    axis (used for the Modulation page's generations and the Bridge page's Fig. 5/6 rows)."""
    names = list(rows)
    grid = tile_images([rows[k] for k in names], pad)
    h = next(iter(rows.values())).shape[2] + pad
    fig = go.Figure(go.Image(z=grid))
    fig.update_layout(
        height=height or 60 + 70 * len(names), margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(showticklabels=False, showgrid=False),
        yaxis=dict(tickmode="array", tickvals=[pad + i * h + h / 2 for i in range(len(names))],
                   ticktext=names, showgrid=False))
    return fig


def png_bytes(grid: np.ndarray) -> bytes:
    """A ``(H, W, 3)`` uint8 grid (``tile_images``) as PNG bytes, for a download button."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(grid).resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST).save(
        buf, format="PNG")
    return buf.getvalue()


# -- CDLM modulation --------------------------------------------------------------------------

MODULATION_STYLE = {"mu_s": ("μ_s", SOURCE_COLOUR, "circle-open"),
                    "mu_t": ("μ_t", TARGET_COLOUR, "circle-open"),
                    "mu_st": ("μ_st (Eq. 1 at ε = 0)", "#17becf", "x"),
                    "mu_ts": ("μ_ts (Eq. 2 at ε = 0)", "#ff7f0e", "x")}


AVERAGE_LABEL_POSITION = {"mu_s": "top left", "mu_t": "top right", "mu_st": "bottom left",
                          "mu_ts": "bottom right"}  # four corners: labels never sit on each other


def modulation_scatter_figure(points: dict[str, np.ndarray], dims: tuple[int, int] = (0, 1)
                              ) -> go.Figure:
    """CDLM Fig. 4 in two panels: left, the means ``mu_s, mu_t`` and the transfer means
    ``mu_st, mu_ts`` of a batch in two latent dimensions (``points``: name -> ``(N, 2)``, one
    trace per set); right, zoomed on the four batch averages (one trace per average, in the
    legend as "average ..."): the means as large open diamonds, the transfer means as smaller
    filled crosses (so a transfer mean on top of its mean, as in PM1/PM2 where ``mu_st = mu_s``,
    still shows both), each labelled in its own corner, with an arrow from each mean to its
    transfer mean (Fig. 4's "pushed closer")."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.1,
                        subplot_titles=("each image", "the averages (zoomed)"))
    for key, pts in points.items():
        name, colour, symbol = MODULATION_STYLE.get(key, (key, None, "circle"))
        fig.add_trace(go.Scattergl(x=pts[:, 0], y=pts[:, 1], mode="markers", name=name,
                                   legendgroup=key, marker=dict(color=colour, symbol=symbol,
                                                                size=6, opacity=0.6)),
                      row=1, col=1)
    centres = {key: pts.mean(0) for key, pts in points.items()}
    for key, c in centres.items():
        name, colour, _ = MODULATION_STYLE.get(key, (key, None, "circle"))
        transfer = key in ("mu_st", "mu_ts")
        marker = (dict(color=colour, symbol="x", size=13, line=dict(width=1, color="black"))
                  if transfer else
                  dict(color="rgba(0,0,0,0)", symbol="diamond-open", size=24,
                       line=dict(width=3, color=colour)))
        fig.add_trace(go.Scatter(x=[c[0]], y=[c[1]], mode="markers+text",
                                 name=f"average {name.split(' ')[0]}", legendgroup="averages",
                                 text=[name.split(" ")[0]],
                                 textposition=AVERAGE_LABEL_POSITION.get(key, "top center"),
                                 textfont=dict(color=colour), marker=marker),
                      row=1, col=2)
    for start, end in (("mu_s", "mu_st"), ("mu_t", "mu_ts")):
        if start in centres and end in centres:
            (x0, y0), (x1, y1) = centres[start], centres[end]
            fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x2", yref="y2", axref="x2",
                               ayref="y2", showarrow=True, arrowhead=2, arrowwidth=1.5,
                               arrowcolor=MODULATION_STYLE[end][1], text="")
    if centres:
        c = np.array(list(centres.values()), np.float64)
        lo, hi = c.min(0), c.max(0)
        pad = max(float((hi - lo).max()) * 0.35, 1e-3 * (1.0 + float(np.abs(c).max())))
        fig.update_xaxes(range=[lo[0] - pad, hi[0] + pad], row=1, col=2)
        fig.update_yaxes(range=[lo[1] - pad, hi[1] + pad], row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(title_text=f"dimension {dims[0]}", row=1, col=col)
        fig.update_yaxes(title_text=f"dimension {dims[1]}", row=1, col=col)
    fig.update_layout(height=440, margin=dict(l=10, r=10, t=40, b=10), showlegend=True,
                      legend=dict(orientation="h", y=-0.2))
    return fig


def kl_gap_figure(kl_s_t: float, kl_st_ts: float, predicted: float, equation: str
                  ) -> go.Figure:
    """Three bars: measured ``KL(s||t)``, measured ``KL(st||ts)`` and the paper's prediction of
    the latter (``equation``), on a log scale: the values span decades (Eq. 10 at gamma1 = 1
    predicts 0, at 0.2 sixteen times the gap). A 0 is drawn at a floor a decade below the
    smallest positive value (the axis title says where); the labels keep the true values."""
    names = ["KL(s‖t) measured", "KL(st‖ts) measured", f"KL(st‖ts) predicted ({equation})"]
    values = [float(v) for v in (kl_s_t, kl_st_ts, predicted)]
    floor = min((v for v in values if v > 0), default=1.0) / 10
    fig = go.Figure(go.Bar(x=names, y=[max(v, floor) for v in values],
                           marker_color=["#7f7f7f", "#ff7f0e", "#2ca02c"],
                           text=[f"{v:.3g}" for v in values], textposition="auto"))
    fig.update_layout(yaxis=dict(type="log", title=f"KL (nats, summed over dimensions; log "
                                                   f"scale, 0 drawn at {floor:.2g})"),
                      height=380, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def gamma_grid_figure(values: np.ndarray, gamma1s, gamma2s, gamma1: float, gamma2: float,
                      title: str, log: bool = False, fmt: str = ".3g") -> go.Figure:
    """A ``(G1, G2)`` map over the ``(gamma1, gamma2)`` grid (rows gamma1, columns gamma2;
    :func:`dalab.ui.modulation.gamma_grid`), each cell labelled with its value, and the current
    setting marked by a ring (between cells when it lies between grid values). ``log``: colour
    by ``log10`` (the measured gap spans decades), the labels keep the true values."""
    from .modulation import grid_marker
    values = np.asarray(values, np.float64)
    z = np.log10(np.maximum(values, 1e-12)) if log else values
    text = [[format(v, fmt) for v in row] for row in values]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(len(gamma2s))), y=list(range(len(gamma1s))), text=text,
        texttemplate="%{text}", colorscale="Viridis",
        colorbar=dict(title=f"log10 {title}" if log else title),
        hovertemplate="γ1 row %{y}, γ2 column %{x}: %{text}<extra></extra>"))
    row, col = grid_marker(gamma1s, gamma2s, gamma1, gamma2)
    fig.add_trace(go.Scatter(x=[col], y=[row], mode="markers", showlegend=False,
                             hovertext=[f"now: γ1 = {gamma1:g}, γ2 = {gamma2:g}"],
                             hoverinfo="text",
                             marker=dict(symbol="circle-open", size=26, color="red",
                                         line=dict(width=3))))
    ticks = lambda vals: dict(tickmode="array", tickvals=list(range(len(vals))),  # noqa: E731
                              ticktext=[f"{float(v):g}" for v in vals])
    fig.update_layout(title=title, xaxis=dict(title="γ2", **ticks(gamma2s)),
                      yaxis=dict(title="γ1", **ticks(gamma1s)),
                      height=420, margin=dict(l=10, r=10, t=40, b=10))
    return fig


# -- bridge ---------------------------------------------------------------------------------

def bridge_2d_figure(x_1, y_1, x_2, y_2, out: dict) -> go.Figure:
    """Fig. 2 of the bridging paper from ``bridge_2d``'s arrays, four panels: (a) the two
    domains, (c) domain 1 transferred to 2 over domain 2, (d) domain 2 transferred to 1 over
    domain 1, (e) the shared 2-D space with the classifier's boundary. Colour = class."""
    from plotly.subplots import make_subplots

    titles = ("(a) domain 1 (o), domain 2 (x)", "(c) 1 → 2 (x) over domain 2",
              "(d) 2 → 1 (o) over domain 1", "(e) shared space + boundary")
    fig = make_subplots(rows=1, cols=4, subplot_titles=titles)

    def pts(col, x, y, symbol, faint=False, name=""):
        fig.add_trace(go.Scattergl(
            x=x[:, 0], y=x[:, 1], mode="markers", name=name, showlegend=False,
            marker=dict(color=y, colorscale="Turbo", cmin=0, cmax=max(1, int(max(y_1.max(),
                        y_2.max()))), symbol=symbol, size=4, opacity=0.15 if faint else 0.7)),
            row=1, col=col)

    pts(1, x_1, y_1, "circle", name="domain 1")
    pts(1, x_2, y_2, "x", name="domain 2")
    for name, symbol in (("domain 1 (source): o", "circle"), ("domain 2 (target): x", "x")):
        # the legend of the markers (the colour is the class here, so grey): no points
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(symbol=symbol, size=8, color=NEUTRAL_COLOUR)),
                      row=1, col=1)
    pts(2, x_2, y_2, "x", faint=True)
    pts(2, out["x_12"], y_1, "circle")
    pts(3, x_1, y_1, "circle", faint=True)
    pts(3, out["x_21"], y_2, "x")
    pts(4, out["shared_1"], y_1, "circle")
    pts(4, out["shared_2"], y_2, "x")
    w, b = np.asarray(out["boundary_w"]), np.asarray(out["boundary_b"])
    if w.shape == (2, 2):  # two classes: the line where the two logits are equal
        dw, db = w[0] - w[1], b[0] - b[1]
        s = np.concatenate([out["shared_1"], out["shared_2"]])
        xs = np.linspace(s[:, 0].min(), s[:, 0].max(), 50)
        if abs(dw[1]) > 1e-9:
            fig.add_trace(go.Scatter(x=xs, y=-(dw[0] * xs + db) / dw[1], mode="lines",
                                     line=dict(color="black", dash="dash"), showlegend=False),
                          row=1, col=4)
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=40, b=10), showlegend=True,
                      legend=dict(orientation="h", y=-0.15))
    return fig


# -- sweeps ---------------------------------------------------------------------------------

def sweep_heatmap_figure(rows: list[dict], spec: dict,
                         score: str = "soft_neighborhood") -> go.Figure:
    """A two-key sweep (``dalab.sweep.sweep_rows`` and its ``sweep.json`` spec) as two maps
    side by side, rows the first key's values and columns the second's: the label-free
    ``score`` and the target test accuracy, each cell the mean over the seeds (blank where no
    run finished), labelled with its value."""
    from plotly.subplots import make_subplots

    from ..analysis.selection import HIGHER_IS_BETTER
    from ..sweep import SCORE_LABELS, grid_means

    k1, k2 = list(spec["grid"])
    better = "higher" if HIGHER_IS_BETTER[score] else "lower"
    titles = (f"{SCORE_LABELS[score]} ({better} is better, no target labels)",
              "target test accuracy (uses target labels)")
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.16)
    for col, field in ((1, score), (2, "target_test")):
        ys, xs, z = grid_means(rows, spec, field)
        text = [["" if v != v else f"{v:.3f}" for v in row] for row in z]
        fig.add_trace(go.Heatmap(
            z=z, x=xs, y=ys, text=text, texttemplate="%{text}", coloraxis=f"coloraxis{col}",
            hovertemplate=f"{k1} = %{{y}}, {k2} = %{{x}}: %{{text}}<extra></extra>"),
            row=1, col=col)
        fig.update_xaxes(title_text=k2, type="category", row=1, col=col)
        fig.update_yaxes(title_text=k1, type="category", row=1, col=col)
    fig.update_layout(coloraxis1=dict(colorscale="Viridis", reversescale=better == "lower",
                                      colorbar=dict(x=0.42, len=0.9)),
                      coloraxis2=dict(colorscale="Viridis", colorbar=dict(x=1.0, len=0.9)),
                      height=420, margin=dict(l=10, r=10, t=40, b=10))
    return fig
