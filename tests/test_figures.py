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
    assert len(fig.data) == 3 * 2 + 2 and len(fig.data[0].x) == 2  # class 0, source: 0 and 3
    with pytest.raises(ValueError):
        F.embedding_figure(pts, dom, None, colour_by="class")
    fig = F.training_figure({"step": [1, 2], "loss": [2.0, 1.0]},
                            [{"step": 2, "target_test": 0.3, "source_test": 0.5}])
    assert list(fig.data[0].y) == [2.0, 1.0] and fig.data[1].yaxis == "y2"


def test_kl_per_dimension_figure_overlays_source_and_target():
    fig = F.kl_per_dimension_figure(np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0]))
    assert [t.name for t in fig.data] == ["source", "target"]
    assert list(fig.data[1].x) == [1.0, 2.0, 3.0] and fig.layout.barmode == "overlay"


def test_tile_images_and_png():
    rows = [np.zeros((3, 1, 4, 4)), np.ones((2, 1, 4, 4))]
    grid = F.tile_images(rows, pad=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 3) and grid.dtype == np.uint8
    assert grid[1, 1, 0] == 0 and grid[6, 1, 0] == 255  # first image of each row
    with pytest.raises(ValueError):
        F.tile_images([np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5))])
    assert F.png_bytes(grid)[:8] == b"\x89PNG\r\n\x1a\n"
    rgb = F.tile_images([np.full((1, 3, 4, 4), 0.5)])
    assert rgb[2, 2].tolist() == [128, 128, 128]


def test_image_rows_figure_names_its_rows():
    fig = F.image_rows_figure({"a": np.zeros((2, 1, 4, 4)), "b": np.ones((2, 1, 4, 4))}, pad=1)
    assert list(fig.layout.yaxis.ticktext) == ["a", "b"]
    assert np.asarray(fig.data[0].z).shape == (11, 11, 3)


def test_modulation_and_kl_gap_figures():
    pts = {k: np.random.default_rng(0).normal(size=(6, 2)) for k in ("mu_s", "mu_t", "mu_st", "mu_ts")}
    fig = F.modulation_scatter_figure(pts, (3, 4))
    assert [t.name for t in fig.data[:4]] == ["μ_s", "μ_t", "μ_st (Eq. 1 at ε = 0)",
                                              "μ_ts (Eq. 2 at ε = 0)"]
    assert len(fig.data) == 8 and fig.data[4].x[0] == pytest.approx(pts["mu_s"][:, 0].mean())
    assert fig.layout.xaxis.title.text == "dimension 3"
    fig = F.kl_gap_figure(2.0, 0.5, 0.25, "Eq. 10")
    assert list(fig.data[0].y) == [2.0, 0.5, 0.25] and "Eq. 10" in fig.data[0].x[2]


def test_bridge_2d_figure_draws_four_panels_and_the_boundary():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 2)), np.arange(8) % 2
    out = {"x_12": x, "x_21": x, "shared_1": x, "shared_2": x,
           "boundary_w": np.array([[1.0, 1.0], [0.0, 0.0]]), "boundary_b": np.zeros(2)}
    fig = F.bridge_2d_figure(x, y, x, y, out)
    assert len(fig.layout.annotations) == 4          # panel titles
    line = fig.data[-1]
    assert line.mode == "lines" and np.allclose(np.asarray(line.y), -np.asarray(line.x))


def test_method_cards_cover_every_method_and_count_the_zoo():
    from dalab.methods import get_method, list_methods
    from dalab.ui.cards import method_cards
    cards = method_cards(list_methods(), [{"method": "cdlm"}, {"method": "cdlm"}])
    assert [c["name"] for c in cards] == [m.name for m in list_methods()]
    assert all(c["equation"] for c in cards)  # a new method: declare Method.equation
    by = {c["name"]: c for c in cards}
    assert by["cdlm"]["equation"] == get_method("cdlm").equation  # read from the class
    assert by["cdlm"]["pages"] == "Modulation, KL-gap calculator, Latent vs prior"
    import re
    assert not any(re.search(r"\\quad[A-Za-z]", c["equation"]) for c in cards)  # "\\quadD"
    assert next(c for c in cards if c["name"] == "cdlm")["zoo"] == 2
