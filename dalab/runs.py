"""Runs on disk: ``model.safetensors`` + ``config.json``, safe and self-describing.

``config.json`` holds everything needed to rebuild the model and to explain the run: method,
config, model shape, pair (names, split seed, sizes), seed, steps, status, history,
accuracies, device, timings, dalab version and the sha256 of the weights file. Both files are
written atomically (temp file in the same folder, then ``os.replace``), weights first, so a
crash never leaves a config that points at half-written weights. Loading reads JSON and
safetensors only (never pickle) and refuses weights whose hash does not match.

DESIGN.md put save/load in ``zoo.py``; it lives here instead so that ``train`` (which saves the
last good checkpoint of a diverged run) does not import the pretrained-zoo index. ``zoo.py``
builds on this module.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from . import __version__
from .methods import Method, UnknownMethodError, build_method

FORMAT = "dalab-run/1"
WEIGHTS, CONFIG = "model.safetensors", "config.json"


class RunError(ValueError):
    """A run directory that cannot be loaded; the message names the file and the problem."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_run(run_dir: str | Path, method: Method, pair, result, *, seed: int,
             extra: dict | None = None) -> Path:
    """Write ``method``'s weights and the run's description to ``run_dir``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    weights = run_dir / WEIGHTS
    was = next(method.parameters()).device
    method.to("cpu")
    try:
        _atomic_write(weights, lambda tmp: save_model(method, tmp,
                                                      metadata={"format": FORMAT}))
    finally:
        method.to(was)
    info = {
        "format": FORMAT,
        "dalab_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **method.spec(),
        "paper": method.paper,
        "uses_target_labels": method.uses_target_labels,
        "pair": pair.describe(),
        "seed": seed,
        "steps": result.steps_done,
        "status": result.status,
        "message": result.message,
        "accuracy": result.accuracy,
        "history": result.history,
        "device": result.device,
        "wall_time_s": result.wall_time_s,
        "steps_per_second": result.steps_per_second,
        "weights": {"file": WEIGHTS, "sha256": sha256_file(weights),
                    "bytes": weights.stat().st_size},
        **(extra or {}),
    }
    text = json.dumps(info, indent=2, sort_keys=False)
    _atomic_write(run_dir / CONFIG, lambda tmp: Path(tmp).write_text(text))
    return run_dir


def read_run_info(run_dir: str | Path) -> dict:
    """The run's ``config.json`` (validated); no weights are read."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise RunError(f"{path}: no such file; a run directory holds {CONFIG} and {WEIGHTS}")
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunError(f"{path}: not a readable JSON run description ({e})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise RunError(f"{path}: not a dalab run (format {info.get('format') if isinstance(info, dict) else None!r}, "
                       f"expected {FORMAT!r})")
    return info


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[Method, dict]:
    """Rebuild the method of a run and load its verified weights. Returns ``(method, info)``."""
    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    weights = run_dir / info["weights"]["file"]
    if not weights.is_file():
        raise RunError(f"{weights}: weights file missing")
    actual = sha256_file(weights)
    if actual != info["weights"]["sha256"]:
        raise RunError(f"{weights}: sha256 {actual} does not match {info['weights']['sha256']} "
                       f"recorded in {CONFIG}; the file was changed or corrupted, refusing to load")
    try:
        method = build_method(info["method"], input_shape=info["input_shape"],
                              num_classes=info["num_classes"], config=info["config"])
    except (UnknownMethodError, ValueError, TypeError) as e:
        raise RunError(f"{run_dir / CONFIG}: cannot rebuild the model ({e})") from None
    try:
        load_model(method, str(weights), strict=True)
    except (SafetensorError, RuntimeError, OSError) as e:
        raise RunError(f"{weights}: weights do not fit {info['method']} ({e})") from None
    from .train import resolve_device  # late: train imports this module's users
    method.to(resolve_device(device))
    method.eval()
    return method, info
