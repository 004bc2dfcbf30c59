"""Label-free model selection scores for unsupervised domain adaptation.

In unsupervised DA the target labels are unknown, so choosing a checkpoint, a seed or a
hyperparameter by target accuracy is an oracle. These scores use only what the setting allows
(labelled source images, unlabelled target images); each is a pure function of arrays and is
checked against skada's scorer (``skada.metrics``) on the same arrays in
``tests/test_selection.py``.

=========================  =======================================  ===========  ============
score                      reference                                better       skada
=========================  =======================================  ===========  ============
``prediction_entropy``     Morerio et al., ICLR 2018                lower        PredictionEntropyScorer
``soft_neighborhood``      Saito et al. (SND), ICCV 2021            higher       SoftNeighborhoodDensity
``importance_weighted``    Sugiyama et al., JMLR 2007 (IWCV)        higher       ImportanceWeightedScorer
``deep_embedded``          You et al. (DEV), ICML 2019              lower        DeepEmbeddedValidation
=========================  =======================================  ===========  ============

Arrays: ``proba`` ``(N, K)`` class probabilities; ``x``/features ``(N, ...)`` (flattened
inside); ``y`` ``(N,)`` integer labels (source only); ``loss`` ``(N,)`` per-sample losses.
:func:`score_model` computes all four for a trained :class:`~dalab.methods.Method` on a pair.
"""
from __future__ import annotations

import numpy as np

SCORES = ("prediction_entropy", "soft_neighborhood", "importance_weighted", "deep_embedded")
HIGHER_IS_BETTER = {"prediction_entropy": False, "soft_neighborhood": True,
                    "importance_weighted": True, "deep_embedded": False}


def _proba(p) -> np.ndarray:
    p = np.asarray(p, np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"expected class probabilities (N, K) with N >= 1, got shape {p.shape}")
    return p


def prediction_entropy(proba) -> float:
    """Mean entropy (nats) of the predicted class distribution on target images; lower is
    more confident. (skada's ``PredictionEntropyScorer`` averages ``-p log p`` over samples
    *and* classes and flips the sign: it equals ``-prediction_entropy / K``.)"""
    p = _proba(proba)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return float(terms.sum(1).mean())


def soft_neighborhood(proba, temperature: float = 0.05) -> float:
    """Soft neighbourhood density (SND, Saito et al. 2021, Eq. 1-3): the mean entropy of each
    target sample's softmax similarity to the others, similarities being dot products of
    L2-normalised class probabilities over ``temperature`` (the paper's 0.05). A model whose
    target predictions form dense, well-separated clusters scores high. The self-similarity is
    replaced by its negative, as skada does, which makes it negligible. Blind spot: near-
    identical predictions for every sample (a collapsed model) make every neighbourhood
    uniform and score highest; read SND beside the entropy."""
    p = _proba(proba)
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    s = p @ p.T / temperature
    np.fill_diagonal(s, -np.diag(s))
    s = s - s.max(1, keepdims=True)
    e = np.exp(s)
    q = e / e.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = np.where(q > 0, -q * np.log(q), 0.0).sum(1)
    return float(ent.mean())


def importance_weights(x_s, x_t, bandwidth: float = 1.0) -> np.ndarray:
    """``w_i = p_t(x_i) / p_s(x_i)`` on the source samples, each density a Gaussian kernel
    density estimate (``bandwidth``, sklearn's ``KernelDensity``), normalised to sum to 1
    (uniform when every weight underflows)."""
    from sklearn.neighbors import KernelDensity

    xs = np.asarray(x_s, np.float64).reshape(len(x_s), -1)
    xt = np.asarray(x_t, np.float64).reshape(len(x_t), -1)
    log_s = KernelDensity(bandwidth=bandwidth).fit(xs).score_samples(xs)
    log_t = KernelDensity(bandwidth=bandwidth).fit(xt).score_samples(xs)
    w = np.exp(log_t - log_s)
    total = w.sum()
    return w / total if total > 0 and np.isfinite(total) else np.full(len(xs), 1.0 / len(xs))


def importance_weighted(correct, x_s, x_t, bandwidth: float = 1.0) -> float:
    """Importance-weighted source validation accuracy (IWCV, Sugiyama et al. 2007): the
    accuracy on labelled source validation samples, each weighted by
    :func:`importance_weights` so the source sample looks like the target distribution.
    ``correct``: ``(N,)`` 1/0 per source sample."""
    w = importance_weights(x_s, x_t, bandwidth)
    return float(np.sum(w * np.asarray(correct, np.float64)))


def deep_embedded(feat_s_train, feat_s_val, feat_t, loss_val) -> float:
    """Deep embedded validation (DEV, You et al. 2019, Alg. 1): the source validation loss
    weighted by a domain classifier's density ratio in feature space, with a control variate.

    A logistic regression learns source (``feat_s_train``) vs target (``feat_t``) features;
    ``w = (n_train / n_target) * p(target | f) / p(source | f)`` on ``feat_s_val``;
    ``L = w * loss_val``; ``eta = -cov(L, w) / var(w)``; DEV = ``mean(L) + eta mean(w) - eta``.
    Lower is better. ``loss_val``: per-sample cross-entropy on the source validation set.

    skada 0.6's ``DeepEmbeddedValidation`` multiplies an ``(n, 1)`` weight column by an
    ``(n,)`` loss row, which broadcasts to an ``(n, n)`` matrix: its score is
    ``mean(w) mean(loss)`` with a control variate from two columns of that matrix, not Alg. 1.
    Ours follows the paper; the test reproduces skada's number from our weights and losses
    with its broadcast, so everything else (features, split, domain classifier) is checked."""
    w = dev_weights(feat_s_train, feat_s_val, feat_t)
    weighted = w * np.asarray(loss_val, np.float64)
    var_w = np.var(w, ddof=1) if len(w) > 1 else 0.0
    eta = 0.0 if var_w == 0 else -np.cov(weighted, w)[0, 1] / var_w
    return float(weighted.mean() + eta * w.mean() - eta)


def dev_weights(feat_s_train, feat_s_val, feat_t) -> np.ndarray:
    """DEV's density ratio on the source validation features: a logistic regression fitted on
    source-train (1) vs target (0) features, ``w = (n_train / n_target) p(t|f) / p(s|f)``."""
    from sklearn.linear_model import LogisticRegression

    f_tr = np.asarray(feat_s_train, np.float64).reshape(len(feat_s_train), -1)
    f_val = np.asarray(feat_s_val, np.float64).reshape(len(feat_s_val), -1)
    f_t = np.asarray(feat_t, np.float64).reshape(len(feat_t), -1)
    clf = LogisticRegression().fit(np.concatenate([f_tr, f_t]),
                                   np.r_[np.ones(len(f_tr)), np.zeros(len(f_t))])
    dom = clf.predict_proba(f_val)                       # columns: target (0), source (1)
    return (len(f_tr) / len(f_t)) * dom[:, 0] / dom[:, 1]


def cross_entropy(proba, y, eps: float = 1e-15) -> np.ndarray:
    """Per-sample cross-entropy ``-log p_y`` (probabilities clipped to ``[eps, 1 - eps]``)."""
    p = np.clip(_proba(proba), eps, 1 - eps)
    return -np.log(p[np.arange(len(p)), np.asarray(y, int)])


def score_model(model, pair, n: int = 1000, seed: int = 0, bandwidth: float = 1.0) -> dict:
    """All four scores for a trained method on ``pair``, from what unsupervised DA allows: the
    labelled source *test* split (our source validation set; split in two for DEV) and the
    unlabelled target *train* images (never a target label, never the target test split).
    Features for DEV and IW are ``model.encode(..., domain).h`` (the method's latent); ``n``
    samples per side at most (seeded)."""
    rng = np.random.default_rng(seed)
    xs_all, ys_all = pair.x_s_test, pair.y_s_test
    i_s = np.sort(rng.choice(len(ys_all), min(n, len(ys_all)), replace=False))
    i_t = np.sort(rng.choice(len(pair.x_t_train), min(n, len(pair.x_t_train)), replace=False))
    x_s, y_s, x_t = xs_all[i_s], ys_all[i_s], pair.x_t_train[i_t]
    p_t = model.predict_proba_numpy(x_t)
    p_s = model.predict_proba_numpy(x_s)
    h_s = model.encode_numpy(x_s, "source")["h"].reshape(len(x_s), -1)
    h_t = model.encode_numpy(x_t, "target")["h"].reshape(len(x_t), -1)
    half = rng.permutation(len(x_s))
    tr, val = np.sort(half[len(half) // 3:]), np.sort(half[:len(half) // 3])
    return {
        "prediction_entropy": prediction_entropy(p_t),
        "soft_neighborhood": soft_neighborhood(p_t),
        "importance_weighted": importance_weighted(p_s.argmax(1) == y_s, h_s, h_t, bandwidth),
        "deep_embedded": deep_embedded(h_s[tr], h_s[val], h_t, cross_entropy(p_s[val], y_s[val])),
    }


def best_by(scores: "list[dict]", name: str) -> int:
    """Index of the best entry of ``scores`` (dicts from :func:`score_model`) by score
    ``name``, respecting its direction (:data:`HIGHER_IS_BETTER`)."""
    if name not in HIGHER_IS_BETTER:
        raise ValueError(f"score={name!r} is not valid; choose one of {', '.join(SCORES)}")
    vals = np.array([s[name] for s in scores], np.float64)
    return int(np.nanargmax(vals) if HIGHER_IS_BETTER[name] else np.nanargmin(vals))
