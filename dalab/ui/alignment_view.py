"""The Alignment page's numbers and maps, without Streamlit, cached on disk.

A map (t-SNE or UMAP of ``n`` test images per domain) takes 5-20 s on the 2-core machine, so
every ``(model, method, n, seed)`` map and every ``(model, n, seed)`` set of scores is kept
under :func:`cache_root` (``$DALAB_ALIGNMENT_CACHE``, else ``<dalab cache>/alignment``: safe to
delete), keyed by the sha256 of the model's weights that its ``config.json`` records (a
retrained or resumed run gets new files). ``python -m dalab.ui.alignment_view`` fills the cache
for the shipped zoo at the page's defaults, so a class's first visit is fast.

The scores are compared on a common representation (:func:`dalab.analysis.alignment.
alignment_scores`: the first 8 principal components of the standardised features), because the
zoo's feature sizes differ (8, 64, 768, 784) and a linear domain classifier separates two
domains more easily in more dimensions; the same numbers on each model's own features are kept
as ``*_native`` and shown as such.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..analysis.alignment import COMMON_DIMS, alignment_scores, mmd_rbf, proxy_a_distance
from ..analysis.embed import Embedding, embed
from ..data import DomainPair
from ..data.embedded import cache_dir
from ..runs import RunError, load_run, read_run_info
from .models import at_chance, encode_test_sets

VERSION = 1  # bump when what is stored changes: old files are then ignored
ENV = "DALAB_ALIGNMENT_CACHE"


def cache_root() -> Path:
    return Path(os.environ.get(ENV) or cache_dir() / "alignment")


def _key(kind: str, **params) -> str:
    h = hashlib.sha1(json.dumps({"v": VERSION, "kind": kind, **params}, sort_keys=True,
                                default=str).encode()).hexdigest()[:20]
    return f"{kind}-{h}"


def model_key(path: str | Path) -> dict:
    """What identifies a model's features: its weights' sha256 and its pair (config.json)."""
    info = read_run_info(path)
    return {"weights": info["weights"]["sha256"], "pair": info["pair"]}


def _map_file(root: Path, mk: dict, method: str, n: int, seed: int) -> Path:
    return root / (_key("map", model=mk, method=method, n=n, seed=seed) + ".npz")


def _scores_file(root: Path, mk: dict, n: int, seed: int) -> Path:
    return root / (_key("scores", model=mk, n=n, seed=seed) + ".json")


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file and ``os.replace``; an unwritable cache is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp{path.suffix}"
        write(tmp)
        os.replace(tmp, path)
    except OSError:
        pass


def save_embedding(path: Path, e: Embedding) -> None:
    arrays = {"points": e.points, "domain": e.domain, "index": e.index,
              "params": np.array(json.dumps(e.params))}
    if e.labels is not None:
        arrays["labels"] = e.labels
    _atomic(path, lambda tmp: np.savez(tmp, **arrays))


def load_embedding(path: Path) -> Embedding | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return Embedding(points=z["points"], domain=z["domain"], index=z["index"],
                             labels=z["labels"] if "labels" in z else None,
                             params=json.loads(str(z["params"])))
    except (OSError, KeyError, ValueError):
        return None


def _load_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None


def feature_scores(f_s: np.ndarray, f_t: np.ndarray, seed: int = 0,
                   dims: int = COMMON_DIMS) -> dict:
    """:func:`alignment_scores` on the common representation (``a_distance``, ``mmd``,
    ``dims``, ``feature_dim``, ``representation``) plus ``a_distance_native``,
    ``mmd_native``: the same on the features as they are (not comparable across sizes)."""
    return {**alignment_scores(f_s, f_t, dims, seed),
            "a_distance_native": proxy_a_distance(f_s, f_t, seed=seed),
            "mmd_native": mmd_rbf(f_s, f_t)}


def _pair(info: dict) -> DomainPair:
    p = info["pair"]
    return DomainPair(p["source"], p["target"], p["split_seed"])


def default_loader(path: str):
    return load_run(path, device="cpu")


def is_cached(path: str, method: str, n: int, seed: int, root: Path | None = None) -> bool:
    """Whether the map and the scores of ``path`` are on disk (no model is loaded)."""
    root = root or cache_root()
    try:
        mk = model_key(path)
    except (RunError, OSError, KeyError, TypeError, ValueError):  # damaged: not cached
        return False
    return _map_file(root, mk, method, n, seed).is_file() and \
        _scores_file(root, mk, n, seed).is_file()


N_JOBS = 1  # t-SNE threads: 1000 points took 7.6 s on one, 25 s on two (2-core machine, busy)


def model_view(path: str, method: str | None, n: int, seed: int,
               load: Callable = default_loader, root: Path | None = None,
               n_jobs: int = N_JOBS) -> dict:
    """What the page shows for one model: ``{"embedding"`` (None when ``method`` is None: the
    scores alone), ``"scores"`` (:func:`feature_scores`), ``"cached"`` (True when nothing had
    to be computed), ``"seconds"`` (wall time of this call)}. The test images are encoded at
    most once, only when something is missing from the disk cache."""
    t0 = time.perf_counter()
    root = root or cache_root()
    mk = model_key(path)
    map_path = _map_file(root, mk, method, n, seed) if method else None
    scores_path = _scores_file(root, mk, n, seed)
    e = load_embedding(map_path) if map_path else None
    scores = _load_json(scores_path)
    cached = (e is not None or not method) and scores is not None
    if not cached:
        model, info = load(path)
        enc = encode_test_sets(model, _pair(info), n, seed)
        if scores is None:
            scores = feature_scores(enc["h_s"], enc["h_t"], seed)
            _atomic(scores_path, lambda tmp: Path(tmp).write_text(json.dumps(scores)))
        if method and e is None:
            e = embed(enc["h_s"], enc["h_t"], method=method, max_points=2 * n, seed=seed,
                      y_s=enc["y_s"], y_t=enc["y_t"], n_jobs=n_jobs)
            save_embedding(map_path, e)
    return {"embedding": e, "scores": scores, "cached": cached,
            "seconds": time.perf_counter() - t0}


def raw_scores(source: str, target: str, split_seed: int, n: int, seed: int,
               root: Path | None = None) -> dict:
    """CDLM Fig. 9's "Raw": :func:`feature_scores` of the pixels of ``n`` test images per
    domain (drawn with ``seed``), on the same common representation as the models'."""
    root = root or cache_root()
    path = root / (_key("raw", pair=[source, target, split_seed], n=n, seed=seed) + ".json")
    scores = _load_json(path)
    if scores is None:
        pair = DomainPair(source, target, split_seed)
        rng = np.random.default_rng(seed)
        x_s, x_t = pair.x_s_test, pair.evaluation.x_test
        scores = feature_scores(x_s[rng.choice(len(x_s), min(n, len(x_s)), replace=False)],
                                x_t[rng.choice(len(x_t), min(n, len(x_t)), replace=False)],
                                seed)
        _atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(scores)))
    return scores


AT_CHANCE_NOTE = ("at chance: its features carry no class, so domains that cannot be told "
                  "apart are no sign of alignment")


def compare_rows(models: list[dict], scores: dict[str, dict | None],
                 raw: dict[str, float]) -> list[dict]:
    """The comparison table: one row per model (entries of ``models.available``) whose
    ``scores[path]`` is known, best aligned first on the common representation, models at
    chance (``at_chance``) after every working one whatever their A-distance, with a note
    saying why. ``raw``: the raw pixels' common-representation A-distance per pair
    (``"mnist -> digits"``); ``below raw`` is CDLM Fig. 9's criterion (never for a model at
    chance)."""
    rows = []
    for m in models:
        s = scores.get(m["path"])
        if not s:
            continue
        pair = f"{m['source']} -> {m['target']}"
        chance = bool(m.get("at_chance")) or at_chance(m.get("accuracy"), m.get("num_classes"))
        rows.append({"model": m["label"], "pair": pair, "target accuracy": m.get("accuracy"),
                     "target labels": m.get("labels") or "none",
                     "features": s["feature_dim"], "A-distance": s["a_distance"],
                     "MMD²": s["mmd"],
                     "below raw pixels": (not chance and pair in raw
                                          and s["a_distance"] < raw[pair]),
                     "note": AT_CHANCE_NOTE if chance else ""})
    return sorted(rows, key=lambda r: (bool(r["note"]), r["A-distance"]))


def best_aligned(rows: list[dict]) -> str | None:
    """The best aligned working model of :func:`compare_rows` (never one at chance)."""
    return next((r["model"] for r in rows if not r["note"]), None)


def precompute(models: list[dict], methods=("tsne", "umap"), n: int = 500, seed: int = 0,
               load: Callable = default_loader, log: Callable[[str], None] = print) -> dict:
    """Fill the disk cache with each model's maps and scores; ``{label: seconds}``."""
    out = {}
    for m in models:
        for method in methods:
            r = model_view(m["path"], method, n, seed, load)
            out[f"{m['label']} {method}"] = round(r["seconds"], 2)
            log(f"{m['label']} {method}: {r['seconds']:.1f} s"
                + (" (already cached)" if r["cached"] else ""))
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    from .models import available
    ap = argparse.ArgumentParser(prog="python -m dalab.ui.alignment_view",
                                 description="Precompute the Alignment page's maps and "
                                             "scores for the zoo (and, with --runs, your runs)")
    ap.add_argument("--methods", nargs="+", default=["tsne", "umap"], choices=["tsne", "umap"])
    ap.add_argument("--n", type=int, default=500, help="points per domain (the page's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", action="store_true", help="also the runs under runs/")
    a = ap.parse_args(argv)
    models = [m for m in available(capability="encode") if a.runs or m["origin"] == "zoo"]
    t0 = time.perf_counter()
    precompute(models, a.methods, a.n, a.seed)
    print(f"{len(models)} model(s) in {time.perf_counter() - t0:.0f} s; cache: {cache_root()}")


if __name__ == "__main__":
    main()
