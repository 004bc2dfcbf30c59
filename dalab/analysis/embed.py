"""2-D maps of source and target features: t-SNE (openTSNE) and UMAP (umap-learn).

``embed(f_s, f_t, method="tsne"|"umap", max_points=2000, seed=0)`` subsamples each domain to
at most ``max_points // 2`` points (seeded), embeds them jointly, or with ``fit_on="source"``
fits the map on the source alone and places the target into it (openTSNE's / UMAP's
``transform``): then the picture shows where target points land in the source's map instead
of a compromise between both.

Reading t-SNE/UMAP: distances between clusters and cluster sizes mean little; what the
picture shows is which points are neighbours. A target cluster sitting on the source cluster
of the same class is the sign of alignment. ``cache_key`` lets the app cache a map.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

METHODS = ("tsne", "umap")
FIT_ON = ("both", "source")


@dataclass
class Embedding:
    points: np.ndarray          # (n, 2)
    domain: np.ndarray          # (n,) 1 = source, 0 = target (DESIGN.md label convention)
    index: np.ndarray           # (n,) row of each point in its own domain's input
    labels: np.ndarray | None   # (n,) class labels if given (target labels: display only)
    params: dict = field(default_factory=dict)


def cache_key(f_s: np.ndarray, f_t: np.ndarray, **params) -> str:
    """A stable key for (features, parameters): sha1 over the arrays' bytes and the params."""
    h = hashlib.sha1()
    for a in (f_s, f_t):
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()


def subsample(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, k, replace=False)) if n > k else np.arange(n)


def _ensure_numba_cache():
    """UMAP (numba) caches compiled code next to its package unless told otherwise; that
    folder may be read-only. Point it at a writable one before umap is imported."""
    if not os.environ.get("NUMBA_CACHE_DIR"):
        path = os.path.join(tempfile.gettempdir(), f"dalab-numba-{os.getuid()}")
        os.makedirs(path, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = path


def embed(f_s: np.ndarray, f_t: np.ndarray, *, method: str = "tsne", max_points: int = 2000,
          seed: int = 0, y_s: np.ndarray | None = None, y_t: np.ndarray | None = None,
          fit_on: str = "both", perplexity: float = 30.0, n_neighbors: int = 15,
          n_jobs: int = 2) -> Embedding:
    """Embed ``f_s`` ``(N_s, D)`` and ``f_t`` ``(N_t, D)`` into 2-D."""
    if method not in METHODS:
        raise ValueError(f"method {method!r}: choose one of {', '.join(METHODS)}")
    if fit_on not in FIT_ON:
        raise ValueError(f"fit_on {fit_on!r}: choose one of {', '.join(FIT_ON)}")
    f_s = np.asarray(f_s, np.float32).reshape(len(f_s), -1)
    f_t = np.asarray(f_t, np.float32).reshape(len(f_t), -1)
    if f_s.shape[1] != f_t.shape[1]:
        raise ValueError(f"feature sizes differ: {f_s.shape[1]} vs {f_t.shape[1]}")
    rng = np.random.default_rng(seed)
    i_s = subsample(len(f_s), max_points // 2, rng)
    i_t = subsample(len(f_t), max_points // 2, rng)
    a, b = f_s[i_s], f_t[i_t]
    if len(a) + len(b) < 5:
        raise ValueError("need at least 5 points to embed")
    params = {"method": method, "max_points": max_points, "seed": seed, "fit_on": fit_on,
              "perplexity": perplexity, "n_neighbors": n_neighbors}
    if method == "tsne":
        from openTSNE import TSNE

        perp = min(perplexity, (len(a) + len(b) - 1) / 3.0)
        # Barnes-Hut is several times faster than the FFT method below ~10k points
        # (measured: 200 points 5.9 s vs 44 s on this 2-core machine under load)
        grad = "bh" if len(a) + len(b) < 10_000 else "fft"
        tsne = TSNE(perplexity=perp, random_state=seed, n_jobs=n_jobs, verbose=False,
                    negative_gradient_method=grad)
        if fit_on == "both":
            pts = np.asarray(tsne.fit(np.concatenate([a, b])))
        else:
            emb = tsne.fit(a)
            pts = np.concatenate([np.asarray(emb), np.asarray(emb.transform(b))])
    else:
        _ensure_numba_cache()
        import umap

        reducer = umap.UMAP(n_neighbors=min(n_neighbors, len(a) - 1), random_state=seed,
                            n_components=2)
        if fit_on == "both":
            pts = reducer.fit_transform(np.concatenate([a, b]))
        else:
            pts = np.concatenate([reducer.fit_transform(a), reducer.transform(b)])
    labels = None
    if y_s is not None and y_t is not None:
        labels = np.concatenate([np.asarray(y_s)[i_s], np.asarray(y_t)[i_t]])
    return Embedding(points=np.asarray(pts, np.float32),
                     domain=np.r_[np.ones(len(a), np.int64), np.zeros(len(b), np.int64)],
                     index=np.r_[i_s, i_t], labels=labels, params=params)
