"""``fit()``: the one training loop every method uses (DESIGN.md, "Training").

The loop knows nothing of any objective. It builds the method's optimizers and schedules after
moving it to the device (``Method.on_fit_start``), moves balanced batches to the device, calls
``method.train_step``, steps the schedules, guards against non-finite losses, evaluates every
``eval_every`` steps into a history, reports to callbacks and honours a stop event. With a run
directory (``out``) it streams per-step metrics to ``metrics.csv`` (and TensorBoard when asked),
writes a resumable checkpoint every ``checkpoint_every`` steps and saves the run at the end;
``resume_from`` continues a killed run to its planned step count and ends with the weights an
uninterrupted run of the same seed on the same device would have (bit for bit on the CPU).

``train()`` is the convenience the CLI and the app call: seed, build pair and method, fit,
save the run. ``resume()`` rebuilds a run from its directory and continues it.
"""
from __future__ import annotations

import math
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from . import runs
from .data import DomainPair
from .device import resolve_device, rng_state, seed_everything, set_rng_state
from .losses import entropy
from .methods import Method, build_method
from .methods.base import batched
from .methods.config import saved_values
from .nn import WeightAverage, random_affine

__all__ = ["DivergedError", "FitEvent", "FitResult", "accuracy", "evaluate_pair", "fit",
           "fit_and_save", "predict_labels", "prepare", "resolve_device", "resume",
           "seed_everything", "train"]


@dataclass
class FitEvent:
    """What callbacks receive. ``kind``: "start", "step", "eval", "checkpoint" or "end"."""
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
    run_dir: Path | None = None   # where the run was saved (fit(out=...) / resume_from)


class DivergedError(RuntimeError):
    """Raised by ``train(..., raise_on_divergence=True)``; the message says what to change."""


class FitArgumentError(ValueError):
    """``fit`` was called with arguments it cannot run (raised before any training step)."""


class _Interrupts:
    """SIGINT / SIGTERM during ``fit`` (main thread only): the first one asks the loop to stop
    after the current step, which saves a resumable checkpoint and the run ("stopped"); a
    second one interrupts at once (the default behaviour)."""

    def __init__(self):
        self.signal: int | None = None
        self._old = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal is not None:   # the second one: stop now
            self.__exit__()
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}
        return False


def predict_labels(method: Method, x: np.ndarray, device=None, batch_size: int = 1000,
                   predict: Callable | None = None) -> np.ndarray:
    """Predicted classes of ``x`` in batches (eval mode, restored afterwards); see
    :meth:`Method.predict_numpy`. ``device`` is the method's own (kept for callers)."""
    return method.predict_numpy(x, batch_size, predict)


def accuracy(method: Method, x: np.ndarray, y: np.ndarray, device=None,
             batch_size: int = 1000, predict: Callable | None = None) -> float:
    """Share of ``x`` whose predicted class equals ``y``."""
    if y is None or len(y) == 0:
        return float("nan")
    return float((method.predict_numpy(x, batch_size, predict) == y).mean())


def evaluate_pair(method: Method, pair: DomainPair, device=None) -> dict:
    """Source test accuracy, the target test accuracy when the pair has target labels (plus
    ``target_test_<suffix>`` for each of the method's ``extra_predictors``), and the label-free
    ``target_entropy``: the mean entropy (nats) of the predictions on the target test images."""
    ev = pair.evaluation
    logits = torch.from_numpy(method_logits(method, ev.x_test))
    out = {}
    if ev.has_labels:
        out["target_test"] = float((logits.argmax(1).numpy() == ev.y_test).mean()) \
            if len(ev.y_test) else float("nan")
    out["source_test"] = accuracy(method, pair.x_s_test, pair.y_s_test)
    out["target_entropy"] = float(entropy(logits)) if len(logits) else float("nan")
    if ev.has_labels:
        for suffix, fn in method.extra_predictors().items():
            out[f"target_test_{suffix}"] = accuracy(method, ev.x_test, ev.y_test, predict=fn)
    return out


def method_logits(method: Method, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """``method.predict`` over a numpy array: logits ``(N, K)``."""
    return batched(method.predict, x, batch_size, module=method)


def _snapshot(method: Method) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in method.state_dict().items()}


def _whole(name: str, value) -> int:
    """``value`` as an int if it is a whole number (``1.5``, ``True``, ``"3"`` are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) or (
            isinstance(value, float) and not value.is_integer()):
        raise FitArgumentError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def _check_fit_args(method: Method, pair, steps: int, checkpoint_every, out, resume_from,
                    tensorboard: bool) -> None:
    if steps < 1:
        raise FitArgumentError(f"steps must be >= 1, got {steps}")
    if tuple(pair.input_shape) != tuple(method.input_shape):
        raise FitArgumentError(f"{method.name} was built for inputs {method.input_shape} but the pair "
                         f"{pair.name} has {pair.input_shape}")
    if method.uses_target_labels and not pair.evaluation.has_labels:
        raise FitArgumentError(f"{method.name} trains on target labels, but this pair's target has "
                         "none (built from unlabelled arrays)")
    if method.target_labels_per_class() and not pair.evaluation.has_labels:
        raise FitArgumentError(f"{method.name} asks for {method.target_labels_per_class()} "
                               "target labels per class, but this pair's target has none "
                               "(built from unlabelled arrays); set target_labels_per_class=0")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise FitArgumentError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    if checkpoint_every and not (out or resume_from):
        raise FitArgumentError("checkpoint_every needs a run directory: pass out=DIR")
    if tensorboard:
        try:
            import tensorboard as _  # noqa: F401  (torch.utils.tensorboard needs the package)
        except ImportError:
            raise FitArgumentError("tensorboard=True needs the optional `tensorboard` package "
                             "(pip install tensorboard); metrics.csv is written without it") \
                from None


def progress_bar(desc: str, total: int, disable: bool = False, notebook: bool = False):
    """``(bar, callback)``: a tqdm progress bar over ``total`` steps and the ``fit`` callback
    that drives it (loss every 20 steps, the latest accuracy at each evaluation).
    ``notebook``: tqdm's notebook-aware bar (``tqdm.auto``)."""
    if notebook:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, disable=disable)
    last = {}

    def progress(ev):
        if ev.kind == "step":
            bar.update(1)
            if ev.step % 20 == 0:
                bar.set_postfix(loss=f"{ev.metrics['loss']:.3f}", **last, refresh=False)
        elif ev.kind == "eval":
            key = "target_test" if "target_test" in ev.metrics else "source_test"
            if key in ev.metrics:
                last[key.replace("_test", "_acc")] = f"{ev.metrics[key]:.3f}"
        elif ev.kind == "start":
            bar.update(ev.step)
            resumed = ev.metrics.get("resumed_from")
            bar.write(f"device: {ev.metrics['device']}"
                      + (f"; resumed at step {resumed}" if resumed is not None else ""))
        elif ev.kind == "end":
            bar.close()
    return bar, progress


class RunLockedError(FitArgumentError):
    """Another process is writing the run folder (``fit`` holds one lock per run folder)."""


class _RunLock:
    """An exclusive ``flock`` on ``run_dir/.lock`` for as long as a fit writes the folder; the
    file holds the writer's process id, named in the refusal. The kernel drops the lock when
    the process dies (``kill -9`` included), so a stale file never blocks."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.fd = None

    def __enter__(self):
        import fcntl
        import os
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunLockedError(f"{self.path.parent}: another process (pid {holder}) is "
                                 "writing this run; wait for it or stop it first") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return self

    def __exit__(self, *exc):
        import os
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # while still held: leaves no file behind
            os.close(self.fd)  # releases the flock
            self.fd = None


def fit(method: Method, pair: DomainPair, steps: int | None = None, *,
        out: str | Path | None = None, resume_from: str | Path | None = None,
        **kwargs) -> FitResult:
    """Train ``method`` on ``pair`` for ``steps`` steps and return what happened.

    - ``eval_every`` (default: steps // 10, at least 1) evaluates target and source test
      accuracy (and the label-free target entropy) into ``history``; a final evaluation
      always closes the run.
    - A non-finite loss stops the run: the weights of the last evaluation whose losses were
      finite are restored, ``status = "diverged"`` and ``message`` says what to try.
    - ``stop_event.set()`` from another thread stops after the current step (``"stopped"``).
    - ``out``: the run directory. Per-step metrics go to ``out/metrics.csv`` (and TensorBoard
      event files under ``out/tensorboard`` with ``tensorboard=True``); the run is saved there
      at the end (``save_data``: with a copy of the pair's arrays). ``checkpoint_every=N``
      writes a resumable checkpoint at step 0 and every N steps.
    - ``resume_from``: a run directory with a checkpoint; training continues from it, in it,
      to its planned step count (``steps`` may be omitted; another value is an error). The
      method must be built as the run's (same name, config and shapes); a pair of arrays must
      have the recorded data fingerprint (named domains are rebuilt, and may differ by a
      package version).
    - ``max_grad_norm``: clip each update's gradient norm (``Method.update``).
    - ``evaluate=False``: no test-split evaluation (``history`` holds the mean losses only,
      ``accuracy`` is empty), for methods without a classifier (the toy experiments).
    - ``ema=decay`` (e.g. 0.99): keep an exponential moving average of the weights
      (:class:`dalab.nn.WeightAverage`), the same for every method. Evaluations and the saved
      run use the average; ``target_test_raw`` records the raw weights beside it. The average
      is checkpointed, so a resumed run continues it exactly.
    - ``augment=True``: jitter every source and target training image by a small random
      affine map (:func:`dalab.nn.random_affine`: rotation <= 10 deg, scale 0.9-1.1, shift
      <= 2 px), the same for every method, baselines included. Images only.
    Both are recorded in the run's ``fit`` settings (and a resume keeps them).
    """
    folder = resume_from if resume_from is not None else out
    if folder is None:
        return _fit(method, pair, steps, out=out, resume_from=resume_from, **kwargs)
    with _RunLock(Path(folder)):
        return _fit(method, pair, steps, out=out, resume_from=resume_from, **kwargs)


def _fit(method: Method, pair: DomainPair, steps: int | None = None, *,
        device: str | torch.device = "auto", seed: int = 0, eval_every: int | None = None,
        callbacks: Iterable[Callable[[FitEvent], None]] = (),
        stop_event: threading.Event | None = None, out: str | Path | None = None,
        checkpoint_every: int | None = None, resume_from: str | Path | None = None,
        max_grad_norm: float | None = None, tensorboard: bool = False,
        save_data: bool = False, keep_checkpoints: bool = False, evaluate: bool = True,
        extra: dict | None = None, ema: float | None = None,
        augment: bool | None = None) -> FitResult:
    """The body of :func:`fit`, which holds the run folder's lock around it."""
    state = tensors = None
    if resume_from is not None:
        info, state, tensors = runs.read_checkpoint(resume_from)
        _check_resume(method, pair, info, state, steps)
        steps = state["planned_steps"]
        out = resume_from
        fs = info.get("fit", {})
        eval_every = eval_every or fs.get("eval_every")
        checkpoint_every = checkpoint_every or fs.get("checkpoint_every")
        max_grad_norm = max_grad_norm if max_grad_norm is not None else fs.get("max_grad_norm")
        ema = ema if ema is not None else fs.get("ema")
        augment = augment if augment is not None else fs.get("augment", False)
        seed = state["seed"]
    steps = _whole("steps", steps if steps is not None else method.default_steps)
    seed = _whole("seed", seed)
    if not 0 <= seed < 2 ** 32:
        raise FitArgumentError(f"seed must be in 0 .. 2**32-1, got {seed}")
    if max_grad_norm is not None and not (isinstance(max_grad_norm, (int, float))
                                          and not isinstance(max_grad_norm, bool)
                                          and math.isfinite(max_grad_norm)
                                          and max_grad_norm > 0):
        raise FitArgumentError(f"max_grad_norm must be a finite number > 0 (or None), got "
                               f"{max_grad_norm!r}")
    augment = bool(augment)
    _check_fit_args(method, pair, steps, checkpoint_every, out, resume_from, tensorboard)
    if ema is not None and not 0.0 < float(ema) < 1.0:
        raise FitArgumentError(f"ema must be a decay in (0, 1), e.g. 0.99; got {ema}")
    if augment and len(pair.input_shape) != 3:
        raise FitArgumentError(f"augment=True jitters images; the pair {pair.name} has inputs "
                               f"of shape {tuple(pair.input_shape)}")
    eval_every = max(1, int(eval_every or max(1, steps // 10)))
    run_dir = Path(out) if out is not None else None
    dev = resolve_device(device)
    seed_everything(seed)
    method.to(dev)
    method.train()
    method.max_grad_norm = max_grad_norm
    method.on_fit_start(steps)           # builds optimizers and schedules on the device
    n_labels = method.target_labels_per_class()
    if n_labels:                         # the declared budget, handed over once, seeded
        x_l, y_l = pair.evaluation.labelled_subset(n_labels, seed=pair.split_seed)
        method.receive_target_labels(torch.from_numpy(np.array(x_l)).to(dev),
                                     torch.from_numpy(np.array(y_l)).long().to(dev))
    callbacks = list(callbacks)
    fit_settings = {"eval_every": eval_every, "checkpoint_every": checkpoint_every,
                    "max_grad_norm": max_grad_norm, "device": str(dev),
                    "ema": float(ema) if ema is not None else None, "augment": augment}

    def emit(kind, step, metrics):
        for cb in callbacks:
            cb(FitEvent(kind, step, steps, metrics))

    history: list[dict] = []
    sums: dict[str, float] = {}   # per metric: sum and count over the steps that reported it
    counts: dict[str, int] = {}
    done, train_time, elapsed_before = 0, 0.0, 0.0
    if state is not None:            # resume: weights, optimizers, RNG, loop counters
        _restore(method, resume_from, state, tensors, dev)
        loop = state["loop"]
        done, history = state["step"], loop["history"]
        sums, counts = loop["sums"], loop["counts"]
        train_time, elapsed_before = loop["train_time"], loop["elapsed"]
    average = WeightAverage(method, float(ema)) if ema is not None else None
    if average is not None and state is not None:
        average.load_state_tensors(tensors)
    good_state, good_step = _snapshot(method), done
    status, message = "finished", f"trained {steps} steps"
    if run_dir is not None and state is None:  # a new run (or --force): no old metrics
        (run_dir / runs.METRICS).unlink(missing_ok=True)
    log = runs.MetricsLog(run_dir / runs.METRICS, truncate_after=done) if run_dir else None
    tb = _tensorboard(run_dir) if (tensorboard and run_dir) else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        if save_data:
            runs.save_pair_data(run_dir, pair)
    batches = pair.batches(method.config.batch_size, seed=seed,
                           with_target_labels=method.uses_target_labels, start=done)
    t0 = time.perf_counter() - elapsed_before
    run_id = uuid.uuid4().hex

    def last_accuracy():
        """The last evaluation's numbers, with the step they were measured at."""
        keys = ("target_test", "source_test", "target_entropy")
        if not history:
            return {}
        return {**{k: history[-1][k] for k in keys if k in history[-1]},
                "step": history[-1]["step"]}

    def checkpoint(step):
        loop_state = {"history": history, "sums": sums, "counts": counts,
                      "train_time": train_time, "elapsed": time.perf_counter() - t0}
        runs.write_checkpoint(
            run_dir, method, pair, step=step, planned_steps=steps, seed=seed,
            loop_state=loop_state, rng=rng_state(), history=history, accuracy=last_accuracy(),
            device=str(dev), fit_settings=fit_settings,
            wall_time_s=round(time.perf_counter() - t0, 3),
            steps_per_second=round(step / train_time, 2) if train_time > 0 else 0.0,
            run_id=run_id,
            extra_tensors=average.state_tensors() if average is not None else None)
        emit("checkpoint", step, {"run_dir": str(run_dir)})

    def evaluation():
        """``evaluate_pair`` of the weights the run reports: the average when ``ema``."""
        if average is None:
            return evaluate_pair(method, pair, dev)
        raw = evaluate_pair(method, pair, dev)
        with average.applied(method):
            out = evaluate_pair(method, pair, dev)
        if "target_test" in raw:
            out["target_test_raw"] = raw["target_test"]
        return out

    emit("start", done, {"device": str(dev), "resumed_from": done if state else None})
    runs.ACTIVE_RUNS.add(run_id)
    interrupts = _Interrupts()
    try:
        interrupts.__enter__()
        if checkpoint_every and state is None:
            checkpoint(0)
        for step in range(done + 1, steps + 1):
            if stop_event is not None and stop_event.is_set():
                status, message = "stopped", f"stopped by request after {done} steps"
                break
            if interrupts.signal is not None:
                status = "stopped"
                message = (f"interrupted by {signal.Signals(interrupts.signal).name} after "
                           f"{done} steps")
                break
            ts = time.perf_counter()
            b = next(batches).to(dev)
            if augment:
                b.x_s, b.x_t = random_affine(b.x_s), random_affine(b.x_t)
            metrics = method.train_step(b.x_s, b.y_s, b.x_t, step, y_t=b.y_t)
            method.step_schedules()
            if average is not None:
                average.update(method)
            train_time += time.perf_counter() - ts
            bad = [k for k, v in metrics.items() if not math.isfinite(v)]
            if bad:
                method.load_state_dict(good_state)
                status = "diverged"
                message = (f"step {step}: {', '.join(f'{k}={metrics[k]}' for k in bad)}; "
                           f"training stopped and the weights of step {good_step} (the last "
                           f"evaluation with finite losses) were restored. "
                           f"{_divergence_hint(method)}")
                done = good_step
                break
            done = step
            for k, v in metrics.items():
                sums[k] = sums.get(k, 0.0) + v
                counts[k] = counts.get(k, 0) + 1
            if log is not None:
                log.write(step, metrics)
            if tb is not None:
                for k, v in metrics.items():
                    tb.add_scalar(f"train/{k}", v, step)
            emit("step", step, metrics)
            if step % eval_every == 0 or step == steps:
                record = {"step": step, **(evaluation() if evaluate else {}),
                          **{k: v / counts[k] for k, v in sums.items()},
                          "time_s": round(time.perf_counter() - t0, 3)}
                sums, counts = {}, {}
                history.append(record)
                good_state, good_step = _snapshot(method), step
                if log is not None:
                    log.flush()
                if tb is not None:
                    for k, v in record.items():
                        if k != "step" and isinstance(v, float) and math.isfinite(v):
                            tb.add_scalar(f"eval/{k}", v, step)
                emit("eval", step, record)
            if checkpoint_every and step % checkpoint_every == 0 and step < steps:
                if log is not None:
                    log.flush()
                checkpoint(step)
        if status == "stopped" and run_dir is not None and done > 0:
            if log is not None:
                log.flush()
            checkpoint(done)  # a stopped run resumes: dalab train --resume
            message += f"; resumable from step {done} (dalab train --resume {run_dir})"
    finally:
        interrupts.__exit__()
        runs.ACTIVE_RUNS.discard(run_id)
        if log is not None:
            log.close()
        if tb is not None:
            tb.close()
    acc = evaluation() if evaluate else {}
    if average is not None and status != "diverged":
        method.load_state_dict(average.shadow)  # the run holds (and saves) the average
    wall = time.perf_counter() - t0
    result = FitResult(status=status, message=message, steps_done=done, history=history,
                       accuracy=acc, wall_time_s=round(wall, 3), device=str(dev),
                       steps_per_second=round(done / train_time, 2) if train_time > 0 else 0.0,
                       run_dir=run_dir)
    if run_dir is not None:
        resumable = status == "stopped" and done > 0
        ck = {"checkpoint": {"dir": f"{runs.CHECKPOINTS}/step-{done:06d}", "step": done}} \
            if resumable else {}
        runs.save_run(run_dir, method, pair, result, seed=seed,
                      extra={"fit": fit_settings, "planned_steps": steps, **ck, **(extra or {})},
                      keep_checkpoints=keep_checkpoints or resumable)
    emit("end", done, {"status": status, "message": message, **acc})
    return result


def _divergence_hint(method: Method) -> str:
    """What to change after a divergence, naming this method's real learning-rate keys."""
    import dataclasses
    keys = [f.name for f in dataclasses.fields(method.config) if f.name.startswith("lr")
            and isinstance(getattr(method.config, f.name), float)]
    sets = " or ".join(f"--set {k}=..." for k in keys) or "a smaller learning rate"
    return f"Try a smaller learning rate ({sets}), smaller loss weights or --max-grad-norm."


def _check_resume(method: Method, pair, info: dict, state: dict, steps) -> None:
    spec = method.spec()
    info = {**info, "config": saved_values(type(method).Config, info.get("config"))}
    for key in ("method", "config", "input_shape", "num_classes"):
        if info.get(key) != spec[key]:
            raise FitArgumentError(f"resume: the run was trained as {key}={info.get(key)!r}, the "
                             f"method given is {key}={spec[key]!r}")
    rec = info.get("pair", {})
    if (rec.get("source"), rec.get("target"), rec.get("split_seed", 0)) != (
            pair.source_name, pair.target_name, pair.split_seed):
        raise FitArgumentError(f"resume: the run was trained on {rec.get('source')}->"
                         f"{rec.get('target')} (split seed {rec.get('split_seed', 0)}), the pair "
                         f"given is {pair.name} (split seed {pair.split_seed})")
    want = rec.get("fingerprint")
    if want and want != pair.fingerprint() and pair.origin == "arrays":
        raise FitArgumentError(f"resume: the pair's data (fingerprint {pair.fingerprint()[:12]}) is "
                         f"not the data the run was trained on ({want[:12]})")
    if steps is not None and int(steps) != state["planned_steps"]:
        raise FitArgumentError(f"resume: the run was planned for {state['planned_steps']} steps "
                         f"(its schedules depend on it); got steps={steps}")


def _restore(method: Method, run_dir, state: dict, tensors: dict, dev) -> None:
    from safetensors.torch import load_model

    weights = runs.checkpoint_weights(run_dir, state)
    load_model(method, str(weights), strict=True, device=str(dev))
    runs.restore_optimizers(method, state, tensors)
    set_rng_state(runs.checkpoint_rng(state, tensors))


def _tensorboard(run_dir: Path):
    from torch.utils.tensorboard import SummaryWriter
    return SummaryWriter(str(run_dir / "tensorboard"))


def prepare(method: str, source: str, target: str, *, overrides: list[str] | None = None,
            config: dict | None = None, seed: int = 0, split_seed: int = 0):
    """Build the pair and a freshly seeded method; every bad name or value fails here,
    before any training starts. Returns ``(method, pair)``."""
    pair = DomainPair(source, target, split_seed=split_seed)
    return build_for(method, pair, overrides=overrides, config=config, seed=seed), pair


def build_for(method: str, pair, *, overrides: list[str] | None = None,
              config: dict | None = None, seed: int = 0) -> Method:
    """A freshly seeded ``method`` shaped for ``pair`` (which needs at least two classes)."""
    if pair.num_classes < 2:
        from .data import DataError
        raise DataError(f"{pair.name} has {pair.num_classes} class: training a classifier needs "
                        f"at least 2 (the one-class point clouds are for the DAL toy, "
                        f"dalab.experiments.dal_toy)")
    seed_everything(seed)
    return build_method(method, input_shape=pair.input_shape, num_classes=pair.num_classes,
                        config=config, overrides=overrides)


def fit_and_save(model: Method, pair: DomainPair, steps: int | None = None, *, seed: int = 0,
                 out: str | Path | None = None, raise_on_divergence: bool = False, **fit_kwargs):
    """``fit`` with the run saved to ``out`` (if given). A diverged run is saved too (its last
    good weights, status "diverged") so nothing is lost. Returns ``(result, run_dir)``."""
    result = fit(model, pair, steps, seed=seed, out=out, **fit_kwargs)
    if result.status == "diverged" and raise_on_divergence:
        raise DivergedError(result.message)
    return result, result.run_dir


def train(method: str, source: str, target: str, steps: int | None = None, *,
          overrides: list[str] | None = None, config: dict | None = None, seed: int = 0,
          split_seed: int = 0, out: str | Path | None = None, raise_on_divergence: bool = False,
          **fit_kwargs):
    """``prepare`` + ``fit_and_save``: what the CLI and the app call. ``fit_kwargs`` go to
    :func:`fit` (device, eval_every, callbacks, stop_event, checkpoint_every, ...). Returns
    ``(method, result, run_dir)``."""
    model, pair = prepare(method, source, target, overrides=overrides, config=config,
                          seed=seed, split_seed=split_seed)
    result, run_dir = fit_and_save(model, pair, steps, seed=seed, out=out,
                                   raise_on_divergence=raise_on_divergence, **fit_kwargs)
    return model, result, run_dir


def resume(run_dir: str | Path, pair: DomainPair | None = None, **fit_kwargs):
    """Continue the run in ``run_dir`` from its last checkpoint to its planned step count.
    The pair is rebuilt from the run (named domains, or its saved ``data.npz``) unless given.
    Returns ``(method, result, run_dir)``."""
    info = runs.read_run_info(run_dir)
    if runs.run_status(info) == "running":
        raise FitArgumentError(f"{run_dir}: the run is still training (process {info.get('pid')}); "
                         "stop it first")
    if info.get("status") in runs.FINAL_STATUSES and not info.get("checkpoint"):
        raise FitArgumentError(f"{run_dir}: the run has status {info['status']!r}: nothing to resume")
    pair = pair if pair is not None else runs.load_pair(run_dir, info)
    model = build_method(info["method"], input_shape=info["input_shape"],
                         num_classes=info["num_classes"], config=info["config"], saved=True)
    result = fit(model, pair, resume_from=run_dir, **fit_kwargs)
    return model, result, result.run_dir
