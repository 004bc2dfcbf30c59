"""Label-free selection scores (dalab/analysis/selection.py) against skada's scorers on the
same arrays, and their behaviour on models that are better or worse by construction."""
import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

from dalab.analysis import selection as S

skada = pytest.importorskip("skada")
from skada import make_da_pipeline  # noqa: E402
from skada.metrics import (DeepEmbeddedValidation, ImportanceWeightedScorer,  # noqa: E402
                           PredictionEntropyScorer, SoftNeighborhoodDensity)


@pytest.fixture(scope="module")
def da_problem():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(80, 3))
    ys = (xs[:, 0] + 0.3 * xs[:, 1] > 0).astype(int)
    xt = rng.normal(size=(60, 3)) * 0.8 + [0.6, 0.0, 0.3]
    x = np.concatenate([xs, xt])
    y = np.concatenate([ys, -np.ones(len(xt), int)])
    sd = np.concatenate([np.ones(len(xs), int), -2 * np.ones(len(xt), int)])
    pipe = make_da_pipeline(StandardScaler(), LogisticRegression()).fit(x, y, sample_domain=sd)
    return xs, ys, xt, x, y, sd, pipe


def test_entropy_matches_skada(da_problem):
    xs, ys, xt, x, y, sd, pipe = da_problem
    p_t = pipe.predict_proba(xt)
    ours = S.prediction_entropy(p_t)
    assert -ours / p_t.shape[1] == pytest.approx(PredictionEntropyScorer()(pipe, x, y, sample_domain=sd), rel=1e-6)


def test_snd_matches_skada(da_problem):
    xs, ys, xt, x, y, sd, pipe = da_problem
    ours = S.soft_neighborhood(pipe.predict_proba(xt))
    assert ours == pytest.approx(SoftNeighborhoodDensity()(pipe, x, y, sample_domain=sd), rel=1e-6)


def test_dev_matches_skada(da_problem):
    xs, ys, xt, x, y, sd, pipe = da_problem
    x_tr, x_val, _, y_val = train_test_split(xs, ys, test_size=0.33, random_state=check_random_state(0))
    scaler = pipe[0].base_estimator_ if hasattr(pipe[0], "base_estimator_") else pipe[0]
    f = scaler.transform
    loss = S.cross_entropy(pipe.predict_proba(x_val), y_val)
    ours = S.deep_embedded(f(x_tr), f(x_val), f(xt), loss)
    ref = DeepEmbeddedValidation(random_state=0)(pipe, x, y, sample_domain=sd)
    w = S.dev_weights(f(x_tr), f(x_val), f(xt))
    # the paper's Alg. 1, written out
    L = w * loss
    eta = -np.cov(L, w)[0, 1] / np.var(w, ddof=1)
    assert ours == pytest.approx(L.mean() + eta * w.mean() - eta, rel=1e-9)
    # skada 0.6: (n, 1) weights times (n,) losses broadcasts to (n, n); reproduce it exactly
    we = w[:, None] * loss[None, :]
    cov = np.cov(np.concatenate([we, w[:, None]], axis=1), rowvar=False)[0, 1]
    eta_sk = -cov / np.var(w, ddof=1)
    assert -(we.mean() + eta_sk * w.mean() - eta_sk) == pytest.approx(ref, rel=1e-6)
    assert abs(-ours - ref) > 1e-4  # the two differ: skada's is not Alg. 1


def test_iw_matches_skada(da_problem):
    xs, ys, xt, x, y, sd, _ = da_problem
    with sklearn.config_context(enable_metadata_routing=True):
        lr = LogisticRegression().set_score_request(sample_weight=True)
        pipe = make_da_pipeline(lr).fit(x, y, sample_domain=sd)
        ref = ImportanceWeightedScorer()(pipe, x, y, sample_domain=sd)
    ours = S.importance_weighted(pipe.predict(xs) == ys, xs, xt)
    assert ours == pytest.approx(ref, rel=1e-6)


def test_scores_prefer_the_better_model_by_construction():
    """Confident, clustered target predictions beat uniform ones on entropy and SND; a model
    that is wrong where the target lives loses on IW."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    sharp = np.eye(3)[y] * 0.96 + 0.01
    flat = np.full((200, 3), 1 / 3) + rng.normal(0, 0.01, (200, 3)).clip(-0.3, 0.3)
    flat = flat / flat.sum(1, keepdims=True)
    scattered = rng.dirichlet(np.ones(3), 200)
    scores = [{"prediction_entropy": S.prediction_entropy(p), "soft_neighborhood": S.soft_neighborhood(p)}
              for p in (flat, sharp, scattered)]
    assert S.best_by(scores[:2], "prediction_entropy") == 1
    assert S.best_by(scores[1:], "soft_neighborhood") == 0     # clusters beat scatter
    # SND's known blind spot (Saito et al. 2021, Sec. 5): one collapsed prediction for all
    assert scores[0]["soft_neighborhood"] > scores[1]["soft_neighborhood"]
    xs = np.r_[rng.normal(-2, 0.5, (50, 1)), rng.normal(2, 0.5, (50, 1))]
    xt = rng.normal(2, 0.5, (80, 1))
    right_on_target = np.r_[np.zeros(50), np.ones(50)]
    assert S.importance_weighted(right_on_target, xs, xt) > S.importance_weighted(1 - right_on_target, xs, xt)
    with pytest.raises(ValueError, match="choose one of"):
        S.best_by(scores, "accuracy")


def test_score_model_reads_no_target_label(monkeypatch):
    """score_model on a trained method: four finite numbers, with every door to target
    labels raising."""
    from dalab.data import pair_from_arrays
    from dalab.data.pair import TargetEvaluation
    from dalab.train import build_for, fit

    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    x = (rng.normal(size=(200, 2)) + y[:, None] * 2).astype(np.float32)
    pair = pair_from_arrays(x, y, x + 0.3, y)
    m = build_for("dann", pair, overrides=["batch_size=16"])
    fit(m, pair, 20, device="cpu", evaluate=False)

    def refuse(*a, **k):
        raise AssertionError("a target label was read")
    monkeypatch.setattr(TargetEvaluation, "train_labeled", refuse)
    out = S.score_model(m, pair, n=100)
    assert set(out) == set(S.SCORES) and all(np.isfinite(v) for v in out.values())
