"""Issue 14, Alignment page: the common representation, the disk cache, the comparison table
and the map's legend, without a UI (the page itself: tests/test_app_pages.py)."""
import json

import numpy as np
import pytest

from dalab.analysis.alignment import (COMMON_DIMS, alignment_scores, common_representation,
                                      proxy_a_distance)
from dalab.ui import alignment_view as AV
from dalab.ui import claims
from dalab.ui import figures as F


def _domains(d, n=200, shift=0.5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)) + shift


def test_common_representation_has_the_same_size_for_every_feature_size():
    for d in (8, 64, 768):
        a, b = _domains(d)
        a[:, 0] = 3.0  # a constant feature: no NaN
        b[:, 0] = 3.0
        p_s, p_t = common_representation(a, b)
        assert p_s.shape == (200, COMMON_DIMS) and p_t.shape == (200, COMMON_DIMS)
        assert np.isfinite(p_s).all() and np.isfinite(p_t).all()
        again = common_representation(a, b)
        assert np.array_equal(again[0], p_s)  # deterministic
    assert common_representation(*_domains(3))[0].shape == (200, 3)  # fewer features: all
    with pytest.raises(ValueError):
        common_representation(np.zeros((5, 4)), np.zeros((5, 3)))


def test_the_same_features_in_more_dimensions_score_alike_only_on_the_common_footing():
    """An 8-d code and the same code spread over 768 features (plus noise, as a wide layer
    holds it): on their own features the wide one looks far more separable; on the common
    representation the two agree."""
    rng = np.random.default_rng(1)
    a, b = _domains(8, n=300, shift=0.25)
    mix = rng.normal(size=(8, 768))
    wide_a = a @ mix + rng.normal(size=(300, 768))
    wide_b = b @ mix + rng.normal(size=(300, 768))
    narrow, wide = alignment_scores(a, b), alignment_scores(wide_a, wide_b)
    assert (narrow["dims"], wide["dims"]) == (8, 8)
    assert (narrow["feature_dim"], wide["feature_dim"]) == (8, 768)
    assert abs(narrow["a_distance"] - wide["a_distance"]) < 0.25
    assert "principal components of the 768" in wide["representation"]
    assert "all 8" in narrow["representation"]
    native_gap = abs(proxy_a_distance(a, b) - proxy_a_distance(wide_a, wide_b))
    assert native_gap > abs(narrow["a_distance"] - wide["a_distance"])


def test_compare_rows_never_rank_a_model_at_chance_best():
    models = [{"label": "zoo: bridge", "path": "b", "source": "mnist", "target": "digits",
               "accuracy": 0.10, "num_classes": 10, "at_chance": True},
              {"label": "zoo: dann", "path": "d", "source": "mnist", "target": "digits",
               "accuracy": 0.80, "num_classes": 10, "at_chance": False},
              {"label": "zoo: cdlm", "path": "c", "source": "mnist", "target": "digits",
               "accuracy": 0.85, "num_classes": 10, "at_chance": False}]
    s = lambda a: {"a_distance": a, "mmd": a / 10, "feature_dim": 8}  # noqa: E731
    rows = AV.compare_rows(models, {"b": s(0.0), "d": s(0.9), "c": s(0.3)},
                           {"mnist -> digits": 0.5})
    assert [r["model"] for r in rows] == ["zoo: cdlm", "zoo: dann", "zoo: bridge"]
    assert rows[-1]["note"] == AV.AT_CHANCE_NOTE and not rows[-1]["below raw pixels"]
    assert rows[0]["below raw pixels"] and not rows[1]["below raw pixels"]
    assert AV.best_aligned(rows) == "zoo: cdlm"
    assert AV.best_aligned(rows[-1:]) is None


def test_alignment_claim_does_not_hold_for_a_model_at_chance():
    assert claims.alignment_claim(0.1, 1.5)[2]
    paper, shown, holds = claims.alignment_claim(0.1, 1.5, at_chance=True,
                                                 representation="common 8-d")
    assert not holds and "at chance" in shown and "common 8-d" in shown


def test_embedding_figure_has_a_class_legend_large_markers_and_the_domain_colours():
    rng = np.random.default_rng(0)
    pts, dom = rng.normal(size=(40, 2)), np.r_[np.ones(20), np.zeros(20)]
    lab = np.arange(40) % 10
    fig = F.embedding_figure(pts, dom, lab, colour_by="class")
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == [str(c) for c in range(10)] + ["● source", "✕ target"]
    assert not {t.marker.color for t in fig.data} & {F.SOURCE_COLOUR, F.TARGET_COLOUR}
    assert all(t.marker.size >= 8 for t in fig.data)
    by_class = {}
    for t in fig.data[:20]:  # each class: one source (circle) and one target (cross) trace
        by_class.setdefault(t.legendgroup, set()).add(t.marker.symbol)
    assert all(v == {"circle", "x"} for v in by_class.values()) and len(by_class) == 10
    assert fig.data[0].marker.color != fig.data[2].marker.color  # classes differ in colour
    fig = F.embedding_figure(pts, dom, lab, colour_by="domain")
    assert [(t.name, t.marker.color) for t in fig.data] == [("source", F.SOURCE_COLOUR),
                                                           ("target", F.TARGET_COLOUR)]


@pytest.mark.slow
def test_model_view_is_cached_on_disk_by_the_weights_hash(tiny_zoo, tmp_path, monkeypatch):
    monkeypatch.setenv(AV.ENV, str(tmp_path / "cache"))
    path = str(tiny_zoo / "tiny-cdlm")
    assert not AV.is_cached(path, "tsne", 60, 0)
    first = AV.model_view(path, "tsne", 60, 0)
    assert not first["cached"] and first["embedding"].points.shape == (120, 2)
    assert set(first["scores"]) >= {"a_distance", "mmd", "dims", "feature_dim",
                                    "a_distance_native", "mmd_native", "representation"}
    assert AV.is_cached(path, "tsne", 60, 0)

    def no_load(p):
        raise AssertionError("the cache should have answered")
    again = AV.model_view(path, "tsne", 60, 0, load=no_load)
    assert again["cached"] and again["scores"] == first["scores"]
    assert np.array_equal(again["embedding"].points, first["embedding"].points)
    assert np.array_equal(again["embedding"].labels, first["embedding"].labels)
    assert AV.model_view(path, None, 60, 0, load=no_load)["embedding"] is None  # scores only
    assert not AV.is_cached(path, "umap", 60, 0) and not AV.is_cached(path, "tsne", 60, 1)
    copy = tmp_path / "retrained"  # other weights, same path layout: a miss
    copy.mkdir()
    info = json.loads((tiny_zoo / "tiny-cdlm" / "config.json").read_text())
    info["weights"]["sha256"] = "0" * 64
    (copy / "config.json").write_text(json.dumps(info))
    assert not AV.is_cached(str(copy), "tsne", 60, 0)
    raw = AV.raw_scores("mnist", "digits", 0, 60, 0)
    assert raw["dims"] == COMMON_DIMS and 0 <= raw["a_distance"] <= 2
