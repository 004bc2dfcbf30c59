"""2-D toy domains: DFA section 4.1 and the bridging paper's Fig. 2.

DFA (Sec. 4.1, 500 samples per domain):
- ``gauss-mean-s`` / ``gauss-mean-t``: same covariance [[4, 2], [2, 2]], means (5, 5) / (1, 1).
- ``gauss-cov-s`` / ``gauss-cov-t``: same mean (1, 1), covariances [[0.3, 0.2], [0.2, 0.2]] /
  [[4, 2], [2, 2]].
- ``moons-s`` / ``moons-t``: scikit-learn's ``make_moons`` with noise 0.1; each domain is one of
  the two interleaving half circles.
- ``blobs-s`` / ``blobs-t``: isotropic blobs centred at (11, 11) / (9, 9) (``make_blobs``,
  std 1.0, which the paper does not give).
These have no classes in the paper; each point gets label 0 (one class).

Bridging VAE (Fig. 2): ``ellipse-1`` (left, centre (-4, 0)) and ``ellipse-2`` (right, centre
(4, 0)), 1,000 points each, uniform in an ellipse with semi-axes (2, 1) and (1, 2)
(our choice: the paper gives a picture, not numbers). Two classes arranged orthogonally: in
domain 1 class A (0) is the upper half and class B (1) the lower; in domain 2 class A is the
left half and B the right, so a transfer must rotate rather than squeeze.

Points are float32 (N, 2); labels int64.
"""
from __future__ import annotations

import numpy as np

TOY_SEED = 7  # toy domains are fixed data, like the embedded image domains
N_DFA = 500   # DFA Sec. 4.1: "we generated 500 samples for each domain"
N_ELLIPSE = 1000


def _gauss(mean, cov, seed):
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(mean, cov, size=N_DFA).astype(np.float32)


def _moons(half: int):
    from sklearn.datasets import make_moons

    x, lab = make_moons(n_samples=2 * N_DFA, noise=0.1, random_state=TOY_SEED)
    return x[lab == half].astype(np.float32)


def _blobs(center, seed):
    from sklearn.datasets import make_blobs

    x, _ = make_blobs(n_samples=N_DFA, centers=[center], cluster_std=1.0, random_state=seed)
    return x.astype(np.float32)


def _ellipse(center_x: float, axes: tuple[float, float], split: str, seed: int):
    rng = np.random.default_rng(seed)
    r = np.sqrt(rng.uniform(0, 1, N_ELLIPSE))  # sqrt: uniform over the area
    t = rng.uniform(0, 2 * np.pi, N_ELLIPSE)
    dx, dy = axes[0] * r * np.cos(t), axes[1] * r * np.sin(t)
    y = (dy < 0) if split == "updown" else (dx > 0)  # class A = 0: upper / left
    pts = np.stack([center_x + dx, dy], axis=1).astype(np.float32)
    return pts, y.astype(np.int64)


_COV_WIDE = [[4.0, 2.0], [2.0, 2.0]]
_COV_NARROW = [[0.3, 0.2], [0.2, 0.2]]

TOY_LOADERS = {
    "gauss-mean-s": lambda: _gauss([5, 5], _COV_WIDE, TOY_SEED),
    "gauss-mean-t": lambda: _gauss([1, 1], _COV_WIDE, TOY_SEED + 1),
    "gauss-cov-s": lambda: _gauss([1, 1], _COV_NARROW, TOY_SEED + 2),
    "gauss-cov-t": lambda: _gauss([1, 1], _COV_WIDE, TOY_SEED + 3),
    "moons-s": lambda: _moons(0),
    "moons-t": lambda: _moons(1),
    "blobs-s": lambda: _blobs((11, 11), TOY_SEED + 4),
    "blobs-t": lambda: _blobs((9, 9), TOY_SEED + 5),
}


def load_toy(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "ellipse-1":
        return _ellipse(-4.0, (2.0, 1.0), "updown", TOY_SEED + 6)
    if name == "ellipse-2":
        return _ellipse(4.0, (1.0, 2.0), "leftright", TOY_SEED + 7)
    x = TOY_LOADERS[name]()
    return x, np.zeros(len(x), np.int64)


TOY_NAMES = tuple(TOY_LOADERS) + ("ellipse-1", "ellipse-2")
