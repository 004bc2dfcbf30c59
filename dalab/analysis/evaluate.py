"""Accuracy, per-class accuracy, confusion matrix and transfer accuracy, from a loaded model
or a run directory. Target labels are read here, for evaluation only."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import DomainPair
from ..methods import Method
from ..train import predict_labels


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
    from ..runs import load_run

    model, info = load_run(run_dir, device=device)
    p = info["pair"]
    pair = DomainPair(p["source"], p["target"], split_seed=p["split_seed"])
    return {**evaluate_model(model, pair, domain), "run": info}


def transfer_accuracy(labels_before: np.ndarray, labels_after: np.ndarray) -> float:
    """Bridging-VAE transfer accuracy (Tian et al., Sec. 4): the share of points whose class,
    read by a classifier of the source data domain, equals the class of their transfer, read by
    a classifier of the target data domain."""
    a, b = np.asarray(labels_before), np.asarray(labels_after)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"need two equal, non-empty label arrays, got {a.shape} and {b.shape}")
    return float((a == b).mean())
