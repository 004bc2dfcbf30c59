"""Evaluation protocols: accuracy, per-class accuracy, confusion matrix, the bridge's transfer
accuracy and LST-Net's reverse protocol, from a loaded model or a run directory. Target labels
are read here, for evaluation only; no method's training ever calls this module."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..data import DomainPair
from ..device import rng_state, seed_everything, set_rng_state
from ..methods import Method
from ..methods.base import batched
from ..train import build_for, fit, predict_labels


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of samples of class i predicted as j."""
    cm = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def report(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict:
    """``{"accuracy", "per_class" (nan where a class is absent), "confusion"}``."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    acc = float(np.trace(cm) / cm.sum()) if cm.sum() else float("nan")
    return {"accuracy": acc, "per_class": per_class, "confusion": cm}


def evaluate_model(model: Method, pair: DomainPair, domain: str = "target") -> dict:
    """Report on the test split of the pair's target (or source) domain."""
    if domain == "target":
        x, y = pair.evaluation.x_test, pair.evaluation.y_test
    elif domain == "source":
        x, y = pair.x_s_test, pair.y_s_test
    else:
        raise ValueError(f"domain {domain!r}: choose 'target' or 'source'")
    return report(y, predict_labels(model, x), pair.num_classes)


def evaluate_run(run_dir: str | Path, domain: str = "target", device: str = "cpu") -> dict:
    """Load a run (hash-checked) and report on its pair's test split."""
    from ..runs import load_pair, load_run

    model, info = load_run(run_dir, device=device)
    return {**evaluate_model(model, load_pair(run_dir, info), domain), "run": info}


def agreement(labels_before: np.ndarray, labels_after: np.ndarray) -> float:
    """The share of positions where two label arrays agree (transfer accuracy's last step)."""
    a, b = np.asarray(labels_before), np.asarray(labels_after)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"need two equal, non-empty label arrays, got {a.shape} and {b.shape}")
    return float((a == b).mean())


def transfer_accuracy(bridge, x_s, x_t, classifier_s: Callable, classifier_t: Callable,
                      batch_size: int = 500, reference: str = "data") -> dict[str, float]:
    """Bridging-VAE transfer accuracy (Tian et al., Sec. 4.2): a classifier per data domain
    labels both sides of each transfer; the score is the :func:`agreement` of the two.

    ``source->target``: ``classifier_s(x_s)`` vs ``classifier_t(bridge.transfer(x_s,
    "target"))`` over ``x_s``; ``target->source`` the same the other way over ``x_t``.
    ``classifier_*``: a dalab ``Method`` (its ``predict``) or any ``fn(x) -> logits``, e.g.
    ``source_only`` models trained on each domain alone. ``reference="data"`` classifies the
    original inputs (the paper's wording); ``"decoded"`` classifies their base-VAE decodings
    (``G(E(x))``, what the authors' evaluation code does). No labels are read.
    """
    if reference not in ("data", "decoded"):
        raise ValueError(f"reference={reference!r} is not valid; choose one of data, decoded")

    def fn(c):
        return c.predict if isinstance(c, Method) else c

    def labels(x, frm, to, c_from, c_to):
        def ref(xb):
            return xb if reference == "data" else bridge.base_decode(
                bridge.base_encode(xb, frm), frm)
        a = batched(lambda xb: fn(c_from)(ref(xb)), x, batch_size, module=bridge)
        b = batched(lambda xb: fn(c_to)(bridge.transfer(xb, to)), x, batch_size,
                    module=bridge)
        return agreement(a.argmax(1), b.argmax(1)) if len(x) else 0.0

    return {"source->target": labels(x_s, "source", "target", classifier_s, classifier_t),
            "target->source": labels(x_t, "target", "source", classifier_t, classifier_s)}


def evaluate_reverse(method, pair: DomainPair, steps: int = 1500, batch_size: int = 64,
                     seed: int = 0) -> dict[str, float]:
    """LST-Net's reverse protocol (Sec. 3, "Similarly, we trained a classifier on USPS ...
    and then evaluated it on the translated MNIST test dataset"): fit a fresh classifier
    ``h_2`` on the *labelled target train split* (an evaluation-only oracle, exactly as the
    paper did; the translator never sees these labels): an ordinary ``fit`` of
    ``target_only`` (the source-only LeNet and its SGD schedule) for ``steps`` steps. Reports
    ``h_2`` on the target test set (``target_classifier_on_target``) and on the source test set
    translated into the target domain, ``h_2(G_2(E_1(x_1)))`` (``reverse``). Runs on CPU; the
    method and the global random generators are left as they were."""
    state = rng_state()
    try:
        seed_everything(seed)
        h2 = build_for("target_only", pair, overrides=[f"batch_size={batch_size}"], seed=seed)
        fit(h2, pair, steps, device="cpu", seed=seed, eval_every=steps)
    finally:
        set_rng_state(state)
    tgt = h2.predict_numpy(pair.evaluation.x_test)
    x_moved = batched(lambda xb: method.translate(xb, to="target"), pair.x_s_test, module=method)
    moved = h2.predict_numpy(x_moved)
    return {"target_classifier_on_target": float((tgt == pair.evaluation.y_test).mean()),
            "reverse": float((moved == pair.y_s_test).mean())}
