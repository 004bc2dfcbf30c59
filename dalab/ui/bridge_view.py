"""The Bridge page's numbers (Tian, Engel et al., bridging autoencoders), without Streamlit.

- :func:`interpolation_rows`: the three rows of Fig. 5/6 between two source test images.
- :func:`own_transfer_accuracy`: transfer accuracy (Sec. 4.2) with the bridge's own heads as the
  per-domain classifiers, so the page needs no second model.
- :func:`toy_bridge`: the 2-D two-ellipse example of Fig. 2 (``bridge_2d``), small step count.
"""
from __future__ import annotations

import numpy as np
import torch

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
