"""The Bridge page's numbers (Tian, Engel et al., bridging autoencoders), without Streamlit.

- :func:`interpolation_rows`: the three rows of Fig. 5/6 between two source test images.
- :func:`domain_classifier_paths`: one independent classifier per data domain from the zoo
  (a ``source_only`` model of that domain, else a ``target_only`` one): the paper's protocol.
- :func:`page_transfer_accuracy`: transfer accuracy (Sec. 4.2) on a stratified random sample,
  with those classifiers, beside the bridge's own target accuracy.
- :func:`own_transfer_accuracy`: the same with the bridge's own heads (a fallback only: it
  measures the bridge agreeing with itself).
- :func:`toy_bridge`: the 2-D two-ellipse example of Fig. 2 (``bridge_2d``), small step count.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import zoo
from ..data import load_domain
from ..analysis.evaluate import transfer_accuracy
from ..experiments import bridge_2d

ROW_NAMES = ("in source (base latent path)", "ends transferred, path in target",
             "path transferred to target")


@torch.no_grad()
def interpolation_rows(model, x_a: np.ndarray, x_b: np.ndarray, steps: int = 8,
                       kind: str = "slerp") -> dict[str, np.ndarray]:
    """``Bridge.interpolate`` between two source images ``(C, H, W)``: ``{row name: (steps, C,
    H, W)}`` in the order of Fig. 5/6 (see ``ROW_NAMES``)."""
    device = next(model.parameters()).device
    xa, xb = (torch.from_numpy(np.array(x, np.float32)).to(device) for x in (x_a, x_b))
    rows = model.interpolate(xa, xb, steps=steps, kind=kind, domain="source").cpu().numpy()
    return dict(zip(ROW_NAMES, rows))


@torch.no_grad()
def own_transfer_accuracy(model, x_s: np.ndarray, x_t: np.ndarray) -> dict[str, float]:
    """Transfer accuracy with the bridge's shared-latent classifier ``f`` as both per-domain
    classifiers: ``f(E(z_s, source))`` labels a source image, ``f(E(z_t, target))`` (its
    ``predict``) a target image (``Bridge.shared_logits``); the score is how often an image and
    its transfer agree. (The paper uses separate classifiers per data domain: ``dalab.methods.
    bridge.transfer_accuracy`` accepts any, e.g. two source-only runs.)"""
    model.eval()
    return transfer_accuracy(model, x_s, x_t, lambda x: model.shared_logits(x, "source"),
                             lambda x: model.shared_logits(x, "target"))


def stratified_sample(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """About ``n`` indices into ``y``, the same share of every class, drawn at random (seeded),
    sorted. The test splits are class-sorted, so a plain ``[:n]`` would see a few classes."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    classes = np.unique(y)
    per = max(1, n // max(1, len(classes)))
    idx = [rng.permutation(np.flatnonzero(y == c))[:per] for c in classes]
    return np.sort(np.concatenate(idx)) if idx else np.arange(0)


def domain_classifier_paths(domains: "tuple[str, ...]") -> dict[str, str]:
    """For each data domain, the zoo path of a classifier trained on that domain's labels
    alone: a ``source_only`` entry whose source is the domain, else a ``target_only`` entry
    whose target is (an evaluation tool, as the paper's per-domain classifiers). Domains with
    none are left out."""
    entries, _ = zoo.scan()
    out = {}
    for d in domains:
        for method, side in (("source_only", "source"), ("target_only", "target")):
            hit = next((e for e in entries if e["method"] == method and e[side] == d), None)
            if hit is not None:
                out[d] = str(zoo.zoo_dir() / hit["path"])
                break
    return out


@torch.no_grad()
def page_transfer_accuracy(model, x_s, y_s, x_t, y_t, clf_s, clf_t, n: int = 500,
                           seed: int = 0) -> dict[str, float]:
    """The Bridge page's numbers on a stratified random sample of ``n`` test images per side:
    transfer accuracy both ways with the per-domain classifiers ``clf_s``, ``clf_t`` (the
    paper's protocol; no labels are read) and, beside it, the bridge's own target accuracy
    (``predict`` against the target test labels)."""
    model.eval()
    i_s, i_t = stratified_sample(y_s, n, seed), stratified_sample(y_t, n, seed)
    acc = transfer_accuracy(model, x_s[i_s], x_t[i_t], clf_s, clf_t)
    labels = model.predict_numpy(x_t[i_t])
    acc["target accuracy"] = float((labels == np.asarray(y_t)[i_t]).mean())
    return acc


def toy_bridge(steps: int = 400, seed: int = 0, labels: str = "source",
               n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """Fig. 2 on the embedded ``ellipse-1`` / ``ellipse-2`` domains: ``(x_1, y_1, x_2, y_2,
    out)`` with ``out`` from ``bridge_2d`` (``n`` training points per domain plotted)."""
    d1, d2 = load_domain("ellipse-1"), load_domain("ellipse-2")
    out = bridge_2d(d1.train.x, d1.train.y, d2.train.x, d2.train.y, steps=steps, seed=seed,
                    labels=labels)
    k1, k2 = min(n, len(d1.train.x)), min(n, len(d2.train.x))
    out = {k: (v[:k1] if k.endswith("_1") or k == "x_12" else v[:k2]
               if k.endswith("_2") or k == "x_21" else v) for k, v in out.items()}
    return (np.asarray(d1.train.x[:k1]), np.asarray(d1.train.y[:k1]),
            np.asarray(d2.train.x[:k2]), np.asarray(d2.train.y[:k2]), out)
