"""How well two feature sets are aligned: proxy A-distance, MMD, sliced Wasserstein, and class
centroid distances (DFA Table 7). Inputs are numpy arrays ``(N, D)``; all functions are pure
and seeded."""
from __future__ import annotations

import numpy as np
import torch

from .. import losses


def proxy_a_distance(f_s: np.ndarray, f_t: np.ndarray, seed: int = 0,
                     test_fraction: float = 0.5, C: float = 1.0) -> float:
    """``2 (1 - 2 e)`` with ``e`` the held-out error of a linear domain classifier
    (Ben-David et al. 2007; Ganin et al. 2016, Sec. 5.1.2). 0: indistinguishable;
    2: perfectly separable. Features are standardised; the classifier is logistic regression;
    the two domains are balanced by subsampling the larger one."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    n = min(len(f_s), len(f_t))
    if n < 4:
        raise ValueError("need at least 4 samples per domain")
    a = np.asarray(f_s)[rng.choice(len(f_s), n, replace=False)]
    b = np.asarray(f_t)[rng.choice(len(f_t), n, replace=False)]
    x = np.concatenate([a, b]).reshape(2 * n, -1)
    y = np.r_[np.ones(n), np.zeros(n)]  # source = 1, target = 0 (DESIGN.md)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction,
                                              random_state=seed, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    clf = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(x_tr), y_tr)
    err = 1.0 - clf.score(scaler.transform(x_te), y_te)
    return float(2.0 * (1.0 - 2.0 * min(err, 0.5)))


def _sq_dists(a, b):
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T, 0.0)


def mmd_rbf(x: np.ndarray, y: np.ndarray, bandwidth: float | None = None,
            max_samples: int = 2000, seed: int = 0) -> float:
    """Squared MMD with an RBF kernel ``exp(-d^2 / (2 h^2))`` (unbiased U-statistic,
    Gretton et al. 2012). ``h`` defaults to the median heuristic: the median pairwise distance
    of the pooled sample. Larger inputs are subsampled to ``max_samples`` per side."""
    rng = np.random.default_rng(seed)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x = x.reshape(len(x), -1)
    y = y.reshape(len(y), -1)
    if len(x) > max_samples:
        x = x[rng.choice(len(x), max_samples, replace=False)]
    if len(y) > max_samples:
        y = y[rng.choice(len(y), max_samples, replace=False)]
    if len(x) < 2 or len(y) < 2:
        raise ValueError("need at least 2 samples per side")
    if bandwidth is None:
        z = np.concatenate([x, y])
        d = np.sqrt(_sq_dists(z, z))
        bandwidth = float(np.median(d[np.triu_indices(len(z), 1)])) or 1.0
    g = 1.0 / (2 * bandwidth ** 2)
    kxx, kyy, kxy = (np.exp(-g * _sq_dists(x, x)), np.exp(-g * _sq_dists(y, y)),
                     np.exp(-g * _sq_dists(x, y)))
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


def sliced_wasserstein(x: np.ndarray, y: np.ndarray, n_projections: int = 128, seed: int = 0,
                       p: int = 2) -> float:
    """Sliced p-Wasserstein distance ``(E_theta W_p^p(theta.x, theta.y))^(1/p)`` with
    ``n_projections`` random unit directions drawn from ``seed``; unequal sample sizes are
    matched through quantiles. The computation is :func:`dalab.losses.sliced_wasserstein`
    (the bridge's training loss), on numpy arrays, in float64."""
    rng = np.random.default_rng(seed)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    theta = rng.normal(size=(x.shape[1], n_projections))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    swd = losses.sliced_wasserstein(torch.from_numpy(x), torch.from_numpy(y), p=p,
                                    projections=torch.from_numpy(theta), match_sizes=True)
    return float(swd) ** (1.0 / p)


def class_centroid_distance(f_s, y_s, f_t, y_t) -> dict:
    """DFA Table 7: L2 distance between the source and target centroid of each class, and the
    mean over classes present on both sides. ``y_t`` are target labels: evaluation only."""
    f_s, f_t = np.asarray(f_s).reshape(len(f_s), -1), np.asarray(f_t).reshape(len(f_t), -1)
    per_class = {}
    for c in np.union1d(np.unique(y_s), np.unique(y_t)):
        if (y_s == c).any() and (y_t == c).any():
            per_class[int(c)] = float(np.linalg.norm(f_s[y_s == c].mean(0) - f_t[y_t == c].mean(0)))
    if not per_class:
        raise ValueError("no class is present in both domains")
    return {"per_class": per_class, "mean": float(np.mean(list(per_class.values())))}


COMMON_DIMS = 8  # the smallest feature size of the shipped zoo (the bridges' 8-d shared code)


def common_representation(f_s: np.ndarray, f_t: np.ndarray, dims: int = COMMON_DIMS
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Source and target features ``(N_s, D)``, ``(N_t, D)`` on a footing shared by every
    model: each feature standardised over the pooled sample (a constant feature becomes 0),
    then projected onto the pooled sample's first ``k = min(dims, D, N_s + N_t - 1)``
    principal components. Returns ``(N_s, k)``, ``(N_t, k)`` (float64; deterministic, the
    components' signs do not matter to a distance). Models with 8, 64 or 768 features are
    then compared in the same number of dimensions, so a larger feature size no longer makes
    the domains easier to tell apart by itself."""
    a = np.asarray(f_s, np.float64).reshape(len(f_s), -1)
    b = np.asarray(f_t, np.float64).reshape(len(f_t), -1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    if dims < 1:
        raise ValueError(f"dims must be >= 1, got {dims}")
    z = np.concatenate([a, b])
    sd = z.std(0)
    z = (z - z.mean(0)) / np.where(sd > 1e-12, sd, 1.0)
    k = min(dims, z.shape[1], len(z) - 1)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    p = z @ vt[:k].T
    return p[:len(a)], p[len(a):]


def representation_text(k: int, feature_dim: int) -> str:
    """How :func:`common_representation`'s ``k`` dimensions were made from ``feature_dim``."""
    if k >= feature_dim:
        return f"all {feature_dim} standardised features (fewer than the common {COMMON_DIMS})"
    return f"the first {k} principal components of the {feature_dim} standardised features"


def alignment_scores(f_s: np.ndarray, f_t: np.ndarray, dims: int = COMMON_DIMS,
                     seed: int = 0) -> dict:
    """The proxy A-distance and the RBF MMD² of source and target on the common
    representation (:func:`common_representation`): ``{"a_distance", "mmd", "dims" (k),
    "feature_dim" (D), "representation" (a phrase)}``. Comparable across models of different
    feature sizes, unlike the same numbers on each model's own features."""
    p_s, p_t = common_representation(f_s, f_t, dims)
    d = int(np.asarray(f_s).reshape(len(f_s), -1).shape[1])
    k = int(p_s.shape[1])
    return {"a_distance": proxy_a_distance(p_s, p_t, seed=seed), "mmd": mmd_rbf(p_s, p_t),
            "dims": k, "feature_dim": d, "representation": representation_text(k, d)}
