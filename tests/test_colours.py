"""Source vs target in the same two colours on every figure, and a legend wherever both
domains are drawn (issue 14, "What a student trips on")."""
import re
from pathlib import Path

import numpy as np

from dalab.analysis.latent import histograms_vs_prior
from dalab.ui import colours as C
from dalab.ui import figures as F

ROOT = Path(__file__).resolve().parents[1]


def _both_domain_figures():
    """One figure of each builder that draws both domains (``F.BOTH_DOMAINS``)."""
    rng = np.random.default_rng(0)
    pts, dom = rng.normal(size=(10, 2)), np.r_[np.ones(5), np.zeros(5)]
    hist = histograms_vs_prior({"source": rng.normal(size=200),
                                "target": rng.normal(1, 1, 200)}, bins=10)
    x = rng.normal(size=(20, 2))
    y = np.arange(20) % 2
    out = {"x_12": x, "x_21": x, "shared_1": x, "shared_2": x,
           "boundary_w": np.eye(2), "boundary_b": np.zeros(2)}
    return {
        "gaussians_figure": F.gaussians_figure(1.0, 1.0, -1.0, 1.0, 0.8),
        "histogram_figure": F.histogram_figure(hist),
        "kl_per_dimension_figure": F.kl_per_dimension_figure(rng.random(8), rng.random(8)),
        "embedding_figure": F.embedding_figure(pts, dom, np.arange(10) % 3, "domain"),
        "training_figure": F.training_figure(
            {"step": [1, 2], "loss": [2.0, 1.0]},
            [{"step": 2, "target_test": 0.3, "source_test": 0.5}]),
        "modulation_scatter_figure": F.modulation_scatter_figure(
            {k: rng.normal(size=(6, 2)) for k in ("mu_s", "mu_t", "mu_st", "mu_ts")}),
        "bridge_2d_figure": F.bridge_2d_figure(x, y, x, y, out),
    }


def _colour(trace):
    line = getattr(trace, "line", None)
    if getattr(trace, "mode", None) == "lines" and line is not None and line.color:
        return line.color
    marker = getattr(trace, "marker", None)
    colour = marker.color if marker is not None else None
    return colour if isinstance(colour, str) else (line.color if line is not None else None)


def _domain(name) -> str | None:
    first = str(name or "").split()[0] if name else ""
    return {C.SOURCE_COLOUR: "source", C.TARGET_COLOUR: "target"}.get(
        C.domain_colour(first) or C.domain_colour(name or ""))


def test_every_builder_that_draws_both_domains_is_listed_and_covered():
    assert set(_both_domain_figures()) == set(F.BOTH_DOMAINS)


def test_source_and_target_traces_have_the_apps_two_colours_and_a_legend():
    for name, fig in _both_domain_figures().items():
        named = [(t.name, _domain(t.name)) for t in fig.data]
        domains = {d for _, d in named if d}
        # plotly draws a legend by itself for two or more legend entries, unless told not to
        assert fig.layout.showlegend is not False, name
        assert sum(t.showlegend is not False for t in fig.data) >= 2, name
        if name == "bridge_2d_figure":  # colour = class there; the legend names the markers
            assert {"domain 1 (source): o", "domain 2 (target): x"} <= {n for n, _ in named}
            continue
        assert domains == {"source", "target"}, (name, named)
        for t in fig.data:
            d = _domain(t.name)
            if d:
                expect = C.SOURCE_COLOUR if d == "source" else C.TARGET_COLOUR
                assert _colour(t) == expect, (name, t.name, _colour(t))


def test_the_training_figures_accuracy_lines_follow_their_domain():
    fig = F.training_figure({"step": [1, 2], "loss": [2.0, 1.0]},
                            [{"step": 2, "target_test": 0.3, "source_test": 0.5}])
    by = {t.name: t.line.color for t in fig.data}
    assert by["target_test"] == C.TARGET_COLOUR and by["source_test"] == C.SOURCE_COLOUR


def test_results_bars_are_not_drawn_in_a_domains_colour():
    rows = [{"method": m, "mean": v, "sd": 0.01, "seeds": 3}
            for m, v in (("source_only", 0.5), ("dann", 0.7), ("target_only", 0.95))]
    fig = F.results_figure(rows)
    assert fig.data[0].marker.color == C.NEUTRAL_COLOUR
    assert {s.line.color for s in fig.layout.shapes} == {C.SOURCE_COLOUR, C.TARGET_COLOUR}


def test_the_two_colours_are_defined_once():
    """No page or UI module writes the source or target colour itself: they import it."""
    pattern = re.compile("|".join(re.escape(c) for c in (C.SOURCE_COLOUR, C.TARGET_COLOUR)),
                         re.IGNORECASE)
    files = [*sorted((ROOT / "dalab").rglob("*.py")), *sorted((ROOT / "pages").glob("*.py")),
             *sorted((ROOT / "tools").glob("*.py")), ROOT / "app.py"]
    offenders = [str(p.relative_to(ROOT)) for p in files
                 if p.name != "colours.py" and pattern.search(p.read_text())]
    assert offenders == []
    style = C.matplotlib_domain_style()
    assert style["source"]["color"] == C.SOURCE_COLOUR
    assert style["target"]["color"] == C.TARGET_COLOUR
