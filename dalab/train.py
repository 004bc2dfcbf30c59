"""``fit()``: the one training loop every method uses (DESIGN.md, "Training").

The loop knows nothing of any objective: it moves balanced batches to the device, calls
``method.train_step``, guards against non-finite losses, evaluates target-test accuracy every
``eval_every`` steps into a history, reports to callbacks and honours a stop event.

``train()`` is the convenience the CLI and the app call: seed, build pair and method, fit,
save the run.
"""
from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from .data import DomainPair
from .methods import Method, build_method


@dataclass
class FitEvent:
    """What callbacks receive. ``kind``: "start", "step", "eval" or "end"."""
    kind: str
    step: int
    total: int
    metrics: dict = field(default_factory=dict)


@dataclass
class FitResult:
    status: str                   # "finished" | "stopped" | "diverged"
    message: str
    steps_done: int               # steps whose weights the method now holds
    history: list[dict]           # one record per evaluation
    accuracy: dict                # {"target_test": ..., "source_test": ...} of the held weights
    wall_time_s: float
    device: str
    steps_per_second: float


class DivergedError(RuntimeError):
    """Raised by ``train(..., raise_on_divergence=True)``; the message says what to change."""


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" -> cuda, then mps, then cpu. An explicit device that is absent is an error."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None)
                                  and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for but is not available; use 'auto' or 'cpu'")
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@torch.no_grad()
def predict_labels(method: Method, x: np.ndarray, device=None, batch_size: int = 1000,
                   predict: Callable | None = None) -> np.ndarray:
    """Predicted classes of ``x`` in batches (eval mode, restored afterwards).
    ``predict`` defaults to ``method.predict``."""
    device = device or next(method.parameters()).device
    predict = predict or method.predict
    was_training = method.training
    method.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = torch.from_numpy(np.array(x[i:i + batch_size], np.float32)).to(device)
        out.append(predict(xb).argmax(1).cpu().numpy())
    method.train(was_training)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def accuracy(method: Method, x: np.ndarray, y: np.ndarray, device=None,
             batch_size: int = 1000, predict: Callable | None = None) -> float:
    """Share of ``x`` whose predicted class equals ``y``."""
    if len(y) == 0:
        return float("nan")
    return float((predict_labels(method, x, device, batch_size, predict) == y).mean())


def evaluate_pair(method: Method, pair: DomainPair, device=None) -> dict:
    """Target and source test accuracy, plus ``target_test_<suffix>`` for each of the
    method's ``extra_predictors``."""
    ev = pair.evaluation
    out = {"target_test": accuracy(method, ev.x_test, ev.y_test, device),
           "source_test": accuracy(method, pair.x_s_test, pair.y_s_test, device)}
    for suffix, fn in method.extra_predictors().items():
        out[f"target_test_{suffix}"] = accuracy(method, ev.x_test, ev.y_test, device,
                                                predict=fn)
    return out


def _snapshot(method: Method) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in method.state_dict().items()}


def fit(method: Method, pair: DomainPair, steps: int | None = None, *,
        device: str | torch.device = "auto", seed: int = 0, eval_every: int | None = None,
        callbacks: Iterable[Callable[[FitEvent], None]] = (),
        stop_event: threading.Event | None = None) -> FitResult:
    """Train ``method`` on ``pair`` for ``steps`` steps and return what happened.

    - ``eval_every`` (default: steps // 10, at least 1) evaluates target and source test
      accuracy into ``history``; a final evaluation always closes the run.
    - A non-finite loss stops the run: the weights of the last evaluation whose losses were
      finite are restored, ``status = "diverged"`` and ``message`` says what to try.
    - ``stop_event.set()`` from another thread stops after the current step (``"stopped"``).
    """
    steps = int(steps if steps is not None else method.default_steps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if tuple(pair.input_shape) != tuple(method.input_shape):
        raise ValueError(f"{method.name} was built for inputs {method.input_shape} but the pair "
                         f"{pair.name} has {pair.input_shape}")
    eval_every = max(1, int(eval_every or max(1, steps // 10)))
    dev = resolve_device(device)
    seed_everything(seed)
    method.to(dev)
    method.train()
    method.on_fit_start(steps)
    callbacks = list(callbacks)

    def emit(kind, step, metrics):
        for cb in callbacks:
            cb(FitEvent(kind, step, steps, metrics))

    batches = pair.batches(method.config.batch_size, seed=seed,
                           with_target_labels=method.uses_target_labels)
    history: list[dict] = []
    good_state, good_step = _snapshot(method), 0
    status, message, done = "finished", f"trained {steps} steps", 0
    sums: dict[str, float] = {}   # per metric: sum and count over the steps that reported it
    counts: dict[str, int] = {}
    emit("start", 0, {"device": str(dev)})
    t0 = time.perf_counter()
    train_time = 0.0
    for step in range(1, steps + 1):
        if stop_event is not None and stop_event.is_set():
            status, message = "stopped", f"stopped by request after {done} steps"
            break
        ts = time.perf_counter()
        b = next(batches).to(dev)
        metrics = method.train_step(b.x_s, b.y_s, b.x_t, step, y_t=b.y_t)
        train_time += time.perf_counter() - ts
        bad = [k for k, v in metrics.items() if not math.isfinite(v)]
        if bad:
            method.load_state_dict(good_state)
            status = "diverged"
            message = (f"step {step}: {', '.join(f'{k}={metrics[k]}' for k in bad)}; training "
                       f"stopped and the weights of step {good_step} (the last evaluation with "
                       f"finite losses) were restored. Try a smaller learning rate "
                       f"(--set lr=...) or loss weights.")
            done = good_step
            break
        done = step
        for k, v in metrics.items():
            sums[k] = sums.get(k, 0.0) + v
            counts[k] = counts.get(k, 0) + 1
        emit("step", step, metrics)
        if step % eval_every == 0 or step == steps:
            record = {"step": step, **evaluate_pair(method, pair, dev),
                      **{k: v / counts[k] for k, v in sums.items()},
                      "time_s": round(time.perf_counter() - t0, 3)}
            sums, counts = {}, {}
            history.append(record)
            good_state, good_step = _snapshot(method), step
            emit("eval", step, record)
    acc = evaluate_pair(method, pair, dev)
    wall = time.perf_counter() - t0
    result = FitResult(status=status, message=message, steps_done=done, history=history,
                       accuracy=acc, wall_time_s=round(wall, 3), device=str(dev),
                       steps_per_second=round(done / train_time, 2) if train_time > 0 else 0.0)
    emit("end", done, {"status": status, "message": message, **acc})
    return result


def prepare(method: str, source: str, target: str, *, overrides: list[str] | None = None,
            config: dict | None = None, seed: int = 0, split_seed: int = 0):
    """Build the pair and a freshly seeded method; every bad name or value fails here,
    before any training starts. Returns ``(method, pair)``."""
    pair = DomainPair(source, target, split_seed=split_seed)
    seed_everything(seed)
    model = build_method(method, input_shape=pair.input_shape, num_classes=pair.num_classes,
                         config=config, overrides=overrides)
    return model, pair


def fit_and_save(model: Method, pair: DomainPair, steps: int | None = None, *, seed: int = 0,
                 out: str | Path | None = None, raise_on_divergence: bool = False, **fit_kwargs):
    """``fit`` then save the run to ``out`` (if given). A diverged run is saved too (its last
    good weights, status "diverged") so nothing is lost. Returns ``(result, run_dir)``."""
    from . import runs

    result = fit(model, pair, steps, seed=seed, **fit_kwargs)
    run_dir = runs.save_run(out, model, pair, result, seed=seed) if out else None
    if result.status == "diverged" and raise_on_divergence:
        raise DivergedError(result.message)
    return result, run_dir


def train(method: str, source: str, target: str, steps: int | None = None, *,
          overrides: list[str] | None = None, config: dict | None = None, seed: int = 0,
          split_seed: int = 0, out: str | Path | None = None, raise_on_divergence: bool = False,
          **fit_kwargs):
    """``prepare`` + ``fit_and_save``: what the CLI and the app call. ``fit_kwargs`` go to
    :func:`fit` (device, eval_every, callbacks, stop_event). Returns
    ``(method, result, run_dir)``."""
    model, pair = prepare(method, source, target, overrides=overrides, config=config,
                          seed=seed, split_seed=split_seed)
    result, run_dir = fit_and_save(model, pair, steps, seed=seed, out=out,
                                   raise_on_divergence=raise_on_divergence, **fit_kwargs)
    return model, result, run_dir
