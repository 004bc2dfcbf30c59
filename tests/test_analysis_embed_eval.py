import numpy as np
import pytest

from dalab.analysis import embed as E
from dalab.analysis import evaluate as V


def _clusters(n=150, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.eye(3, 10) * 8
    return (centers[y] + rng.normal(0, 0.5, (n, 10)) + shift).astype(np.float32), y


def _neighbour_agreement(points, labels):
    d = ((points[:, None] - points[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return (labels[d.argmin(1)] == labels).mean()


@pytest.mark.slow
@pytest.mark.parametrize("method,fit_on", [("tsne", "both"), ("tsne", "source"),
                                           ("umap", "source")])
def test_embedding_keeps_classes_apart_and_is_seeded(method, fit_on):
    f_s, y_s = _clusters(seed=0)
    f_t, y_t = _clusters(seed=1, shift=0.2)
    e = E.embed(f_s, f_t, method=method, max_points=200, seed=3, y_s=y_s, y_t=y_t,
                fit_on=fit_on)
    assert e.points.shape == (200, 2) and e.domain.sum() == 100
    assert _neighbour_agreement(e.points, e.labels) > 0.95
    again = E.embed(f_s, f_t, method=method, max_points=200, seed=3, fit_on=fit_on)
    assert np.allclose(e.points, again.points, atol=1e-4)


def test_embed_errors_and_cache_key():
    f, _ = _clusters(20)
    with pytest.raises(ValueError, match="tsne, umap"):
        E.embed(f, f, method="pca")
    with pytest.raises(ValueError, match="feature sizes"):
        E.embed(f, f[:, :5])
    k = E.cache_key(f, f, method="tsne", seed=0)
    assert k == E.cache_key(f.copy(), f, method="tsne", seed=0)
    assert k != E.cache_key(f, f, method="tsne", seed=1)
    assert k != E.cache_key(f + 1, f, method="tsne", seed=0)


def test_report_and_transfer_accuracy():
    r = V.report(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), 4)
    assert r["accuracy"] == pytest.approx(0.6)
    assert r["confusion"][0].tolist() == [1, 1, 0, 0]
    assert r["per_class"][:3].tolist() == [0.5, 1.0, 0.0] and np.isnan(r["per_class"][3])
    assert V.agreement([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError):
        V.agreement([1], [1, 2])


def test_evaluate_run_matches_the_recorded_accuracy(tmp_path):
    from dalab.train import train
    _, res, run_dir = train("source_only", "ellipse-1", "ellipse-2", 30, out=tmp_path / "r")
    out = V.evaluate_run(run_dir)
    assert out["accuracy"] == pytest.approx(res.accuracy["target_test"])
    assert out["confusion"].sum() == 200
    src = V.evaluate_run(run_dir, domain="source")
    assert src["accuracy"] == pytest.approx(res.accuracy["source_test"])
