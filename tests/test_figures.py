import numpy as np
import pytest

from dalab.analysis.latent import histograms_vs_prior
from dalab.ui import figures as F


def test_gap_ratio_figure_marks_threshold_and_choice():
    fig = F.gap_ratio_figure(0.8)
    curve, dot = fig.data
    assert dot.x[0] == 0.8 and dot.y[0] == pytest.approx(0.0625)
    i = int(np.argmin(np.abs(np.asarray(curve.x) - 0.5)))
    assert curve.y[i] == pytest.approx(1.0, abs=0.02)
    assert any(s.x0 == 0.5 for s in fig.layout.shapes)


def test_gap_table_rows_match_the_formulas():
    rows = F.gap_table(1.0, 1.0, -1.0, 1.0, 0.75)
    by = {r["quantity"]: r["value"] for r in rows}
    assert by["KL(s‖t), diagonal Gaussians"] == pytest.approx(2.0)
    assert by["ratio ((1-γ1)/γ1)²"] == pytest.approx(1 / 9)
    assert by["KL(st‖ts), full modulation"] == pytest.approx(2.0 / 9)


def test_histogram_and_embedding_and_curves():
    rng = np.random.default_rng(0)
    h = histograms_vs_prior({"s": rng.normal(size=500), "t": rng.normal(1, 1, 500)}, bins=20)
    fig = F.histogram_figure(h, names={"s": "source"})
    assert [t.name for t in fig.data] == ["source", "t", "N(0, 1)"]
    pts, dom, lab = rng.normal(size=(10, 2)), np.r_[np.ones(5), np.zeros(5)], np.arange(10) % 3
    fig = F.embedding_figure(pts, dom, lab, colour_by="class")
    assert len(fig.data) == 2 and len(fig.data[0].x) == 5
    with pytest.raises(ValueError):
        F.embedding_figure(pts, dom, None, colour_by="class")
    fig = F.curves_figure([{"step": 1, "loss": 2.0, "target_test": 0.1, "source_test": 0.2},
                           {"step": 2, "loss": 1.0, "target_test": 0.3, "source_test": 0.5}])
    assert list(fig.data[0].y) == [2.0, 1.0] and fig.data[1].yaxis == "y2"
