"""Runs on disk: ``model.safetensors`` + ``config.json``, safe and self-describing, and the
resumable checkpoints of a run in progress.

``config.json`` holds everything needed to rebuild the model and to explain the run: method,
config, model shape, pair (names, split seed, sizes, data fingerprint), seed, steps, status,
history, accuracies, device, timings, dalab version and the sha256 of the weights file. Every
file is written atomically (temp file in the same folder, then ``os.replace``), weights first,
so a crash never leaves a config that points at half-written weights. Loading reads JSON and
safetensors only (never pickle) and refuses weights whose hash does not match.

A run in progress (``fit(..., out=DIR, checkpoint_every=N)``) looks like this::

    DIR/config.json                          status "running", weights.file -> the checkpoint
    DIR/checkpoints/step-000050/model.safetensors
    DIR/checkpoints/step-000050/train_state.safetensors   optimizer tensors, RNG, method state
    DIR/checkpoints/step-000050/train_state.json          optimizer/scheduler scalars, counters
    DIR/metrics.csv                          one row per training step

A checkpoint folder is written under a temporary name and renamed into place; only then does
``config.json`` point at it, and only then are older checkpoints deleted. A ``kill -9`` at any
moment therefore leaves a run that loads (the last checkpoint's weights) and resumes
(:func:`read_checkpoint`); :func:`run_status` tells a live run from an interrupted one
("incomplete"). The final save writes ``DIR/model.safetensors`` and points ``config.json`` at
it (status "finished", "diverged" or "stopped").

DESIGN.md put save/load in ``zoo.py``; it lives here instead so that ``train`` (which saves the
last good checkpoint of a diverged run) does not import the pretrained-zoo index. ``zoo.py``
builds on this module.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model

from . import __version__
from .data.files import MAX_CLASSES
from .device import resolve_device
from .methods import Method, UnknownMethodError, build_method

FORMAT = "dalab-run/1"
WEIGHTS, CONFIG = "model.safetensors", "config.json"
CHECKPOINTS, STATE_TENSORS, STATE_JSON = "checkpoints", "train_state.safetensors", "train_state.json"
METRICS, DATA = "metrics.csv", "data.npz"
FINAL_STATUSES = ("finished", "diverged", "stopped")


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


def run_description(method: Method, pair, *, seed: int, steps: int, status: str,
                    message: str, accuracy: dict, history: list, device: str,
                    wall_time_s: float, steps_per_second: float, weights: dict,
                    extra: dict | None = None) -> dict:
    """The ``config.json`` record of a run (finished or in progress)."""
    return {
        "format": FORMAT,
        "dalab_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **method.spec(),
        "paper": method.paper,
        "uses_target_labels": method.uses_target_labels,
        "target_labels_per_class": method.target_labels_per_class(),
        "pair": pair.describe(),
        "seed": seed,
        "steps": steps,
        "status": status,
        "message": message,
        "accuracy": accuracy,
        "history": history,
        "device": device,
        "wall_time_s": wall_time_s,
        "steps_per_second": steps_per_second,
        "weights": weights,
        **(extra or {}),
    }


def _save_weights_to(method: Method, tmp: str) -> None:
    """``method``'s weights as safetensors at ``tmp``, written from the CPU (the method goes
    back to its device afterwards)."""
    was = next(method.parameters()).device
    method.to("cpu")
    try:
        save_model(method, tmp, metadata={"format": FORMAT})
    finally:
        method.to(was)


def _write_weights(method: Method, path: Path) -> dict:
    _atomic_write(path, lambda tmp: _save_weights_to(method, tmp))
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


SEALING = 1  # written inside every sealed config: a config with it and no seal was edited


def _config_text(info: dict) -> str:
    info = {**{k: v for k, v in info.items() if k != "sealed"}, "sealing": SEALING}
    return json.dumps({**info, "sealed": config_digest(info)}, indent=2, sort_keys=False)


def reseal_config(run_dir: str | Path) -> bool:
    """Seal the config.json of a run written before sealing existed (no ``sealed``, no
    ``sealing``), after checking its weights against its recorded hash; a sealed config is
    only checked. Returns whether it was (re)written. ``dalab zoo reseal`` uses it."""
    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    check_sealed(run_dir, info)
    if info.get("sealed") is not None:
        return False
    verified_weights(run_dir, info)
    _write_config(run_dir, info)
    return True


def _write_config(run_dir: Path, info: dict) -> None:
    text = _config_text(info)
    _atomic_write(run_dir / CONFIG, lambda tmp: Path(tmp).write_text(text))


def _staged(path: Path, write) -> Path:
    """``write(tmp)`` into a temporary file beside ``path``; returns it (not yet in place)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def save_run(run_dir: str | Path, method: Method, pair, result, *, seed: int,
             extra: dict | None = None, save_data: bool = False,
             keep_checkpoints: bool = False) -> Path:
    """Write ``method``'s weights and the run's description to ``run_dir`` (the final save).
    ``save_data`` stores the pair's arrays as ``data.npz`` (re-evaluation of array runs);
    checkpoints of the run are deleted unless ``keep_checkpoints``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if save_data:
        save_pair_data(run_dir, pair)
    # both files are written in full under temporary names first and then renamed into place
    # back to back, so an existing run (a --force overwrite, a resumed run's checkpoint
    # pointer) stays loadable until the new one is complete: only the two renames remain
    w_tmp = _staged(run_dir / WEIGHTS, lambda tmp: _save_weights_to(method, tmp))
    w = {"sha256": sha256_file(w_tmp), "bytes": w_tmp.stat().st_size}
    info = run_description(
        method, pair, seed=seed, steps=result.steps_done, status=result.status,
        message=result.message, accuracy=result.accuracy, history=result.history,
        device=result.device, wall_time_s=result.wall_time_s,
        steps_per_second=result.steps_per_second, weights={"file": WEIGHTS, **w},
        extra={**({"data": DATA} if (run_dir / DATA).is_file() else {}), **(extra or {})})
    text = _config_text(info)
    try:
        c_tmp = _staged(run_dir / CONFIG, lambda tmp: Path(tmp).write_text(text))
    except BaseException:
        w_tmp.unlink(missing_ok=True)
        raise
    os.replace(w_tmp, run_dir / WEIGHTS)
    os.replace(c_tmp, run_dir / CONFIG)
    if not keep_checkpoints:
        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
    return run_dir


def save_pair_data(run_dir: Path, pair) -> Path:
    """The pair's arrays as ``run_dir/data.npz`` (atomic, no pickles)."""
    arrays = pair.arrays()
    path = Path(run_dir) / DATA

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    _atomic_write(path, write)
    return path


# -- checkpoints ------------------------------------------------------------------------------
def _flatten_optimizer(name: str, sd: dict) -> tuple[dict, dict]:
    """An optimizer ``state_dict`` as (tensors for safetensors, the rest for JSON)."""
    tensors, state = {}, {}
    for pid, st in sd["state"].items():
        entry = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                key = f"optim/{name}/{pid}/{k}"
                tensors[key] = v.detach().to("cpu").contiguous()
                entry[k] = {"tensor": key}
            else:
                entry[k] = v
        state[str(pid)] = entry
    return tensors, {"state": state, "param_groups": sd["param_groups"]}


def _unflatten_optimizer(js: dict, tensors: dict) -> dict:
    state = {}
    for pid, entry in js["state"].items():
        state[int(pid)] = {k: (tensors[v["tensor"]] if isinstance(v, dict) and "tensor" in v
                               else v) for k, v in entry.items()}
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()}
              for g in js["param_groups"]]
    return {"state": state, "param_groups": groups}


def write_checkpoint(run_dir: str | Path, method: Method, pair, *, step: int, planned_steps: int,
                     seed: int, loop_state: dict, rng: dict, history: list, accuracy: dict,
                     device: str, fit_settings: dict, wall_time_s: float,
                     steps_per_second: float, run_id: str = "",
                     extra_tensors: dict | None = None) -> Path:
    """Write a resumable checkpoint of ``method`` at ``step`` and point ``config.json`` at it
    (status "running"); older checkpoints are deleted afterwards. ``loop_state``: the training
    loop's JSON-able counters; ``rng``: :func:`dalab.device.rng_state`; ``extra_tensors``:
    named CPU tensors of the loop (the weight average of ``fit(ema=...)``), read back with the
    checkpoint's other tensors."""
    run_dir = Path(run_dir)
    ck_root = run_dir / CHECKPOINTS
    ck_root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=ck_root))
    try:
        w = _write_weights(method, tmp / WEIGHTS)
        tensors, opt_json = {}, {}
        for oname, opt in method.optimizers.items():
            t, j = _flatten_optimizer(oname, opt.state_dict())
            tensors.update(t)
            opt_json[oname] = j
        for k, v in method.training_state().items():
            tensors[f"method/{k}"] = v.detach().to("cpu").contiguous()
        tensors.update(extra_tensors or {})
        tensors["rng/torch"] = rng["torch"]
        for i, c in enumerate(rng.get("cuda", [])):
            tensors[f"rng/cuda/{i}"] = c
        save_file(tensors, str(tmp / STATE_TENSORS), metadata={"format": FORMAT})
        state = {"step": step, "planned_steps": planned_steps, "seed": seed,
                 "weights_sha256": w["sha256"],
                 "optimizers": opt_json,
                 "schedulers": {k: s.state_dict() for k, s in method.schedulers.items()},
                 "rng": {"python": rng["python"], "numpy": rng["numpy"],
                         "cuda_devices": len(rng.get("cuda", []))},
                 "loop": loop_state}
        (tmp / STATE_JSON).write_text(json.dumps(state))
        final = ck_root / name
        if final.exists():  # left by a run killed before config.json pointed at it
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rel = f"{CHECKPOINTS}/{name}"
    info = run_description(
        method, pair, seed=seed, steps=step, status="running",
        message=f"training: checkpoint at step {step} of {planned_steps}", accuracy=accuracy,
        history=history, device=device, wall_time_s=wall_time_s,
        steps_per_second=steps_per_second, weights={"file": f"{rel}/{WEIGHTS}", **w},
        extra={"checkpoint": {"dir": rel, "step": step}, "planned_steps": planned_steps,
               "fit": fit_settings, "pid": os.getpid(), "host": socket.gethostname(),
               "run_id": run_id, "updated": time.time(),
               **({"data": DATA} if (run_dir / DATA).is_file() else {})})
    _write_config(run_dir, info)
    for old in ck_root.iterdir():  # the one config.json points at stays
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return final


def read_checkpoint(run_dir: str | Path) -> tuple[dict, dict, dict]:
    """``(info, state, tensors)`` of the checkpoint ``config.json`` points at: ``state`` from
    ``train_state.json``, ``tensors`` from ``train_state.safetensors`` (hash of the weights
    checked by the caller through :func:`load_run`)."""
    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    ck = info.get("checkpoint")
    if not ck:
        raise RunError(f"{run_dir / CONFIG}: no checkpoint to resume (status "
                       f"{info.get('status')!r}); only runs trained with checkpoint_every "
                       f"(--checkpoint-every) can be resumed")
    d = _inside(run_dir, ck["dir"])
    try:
        state = json.loads((d / STATE_JSON).read_text())
        tensors = load_file(str(d / STATE_TENSORS))
    except (OSError, ValueError, SafetensorError, RecursionError) as e:
        raise RunError(f"{d}: unreadable checkpoint ({type(e).__name__}: {e})") from None
    return info, state, tensors


def checkpoint_weights(run_dir: str | Path, state: dict) -> Path:
    """The weights file of the checkpoint ``state`` came from, hash-checked."""
    d = _inside(Path(run_dir), f"{CHECKPOINTS}/step-{state['step']:06d}")
    path = d / WEIGHTS
    if not path.is_file() or sha256_file(path) != state.get("weights_sha256"):
        raise RunError(f"{path}: checkpoint weights missing or changed (sha256 does not match "
                       f"{STATE_JSON}); cannot resume")
    return path


def restore_optimizers(method: Method, state: dict, tensors: dict) -> None:
    """Load optimizer and scheduler states (built by ``setup_optimizers``) and the method's
    training state from a checkpoint."""
    for oname, opt in method.optimizers.items():
        opt.load_state_dict(_unflatten_optimizer(state["optimizers"][oname], tensors))
    for sname, sch in method.schedulers.items():
        sch.load_state_dict(state["schedulers"][sname])
    method.load_training_state({k.removeprefix("method/"): v for k, v in tensors.items()
                                if k.startswith("method/")})


def checkpoint_rng(state: dict, tensors: dict) -> dict:
    """The RNG states of a checkpoint, in :func:`dalab.device.set_rng_state`'s form."""
    out = {"python": state["rng"]["python"], "numpy": state["rng"]["numpy"],
           "torch": tensors["rng/torch"]}
    n = state["rng"].get("cuda_devices", 0)
    if n:
        out["cuda"] = [tensors[f"rng/cuda/{i}"] for i in range(n)]
    return out


ACTIVE_RUNS: set[str] = set()  # run ids of fits in progress in this process (train.fit)


def label_use(info: dict) -> str:
    """How a run (``config.json`` record, zoo index entry or benchmark row) used target
    labels, for every place its number is shown: ``""`` (none, the unsupervised setting),
    ``"uses target labels"`` (``target_only``), ``"uses n target labels per class"`` or
    ``"uses all target train labels"`` (a declared semi-supervised budget)."""
    if info.get("uses_target_labels"):
        return "uses target labels"
    n = int(info.get("target_labels_per_class") or 0)
    if n == -1:
        return "uses all target train labels"
    if n:
        return f"uses {n} target label{'s' if n != 1 else ''} per class"
    return ""


def run_status(info: dict) -> str:
    """"finished" / "diverged" / "stopped" as recorded; a "running" run whose process is gone
    (or whose last checkpoint is over an hour old on another host) is "incomplete"."""
    status = info.get("status")
    if status != "running":
        return str(status)
    if info.get("host") == socket.gethostname():
        if info.get("pid") == os.getpid():
            return "running" if info.get("run_id") in ACTIVE_RUNS else "incomplete"
        try:
            os.kill(int(info.get("pid", -1)), 0)
            return "running"
        except (OSError, ValueError, OverflowError):
            return "incomplete"
    return "running" if time.time() - float(info.get("updated", 0)) < 3600 else "incomplete"


def _inside(run_dir: Path, rel: str) -> Path:
    """``run_dir / rel``, refused when it leaves ``run_dir`` (an edited config.json)."""
    root = run_dir.resolve()
    p = (run_dir / rel).resolve()
    if p != root and root not in p.parents:
        raise RunError(f"{run_dir / CONFIG}: path {rel!r} points outside the run directory")
    return p


def weights_path(run_dir: str | Path, info: dict) -> Path:
    """The weights file ``config.json`` points at (inside the run directory)."""
    try:
        rel = info["weights"]["file"]
    except (KeyError, TypeError):
        raise RunError(f"{Path(run_dir) / CONFIG}: no weights recorded") from None
    return _inside(Path(run_dir), rel)


def load_pair(run_dir: str | Path, info: dict | None = None):
    """The pair a run was trained on: its named domains (``origin`` "domains"), or the arrays
    it saved in ``data.npz`` (``--save-data``); the data fingerprint is checked when the run
    recorded one: a changed array copy is refused, rebuilt named domains that differ are
    returned with ``pair.fingerprint_note`` saying so. Raises :class:`RunError` when the data
    cannot be had."""
    from .data import DomainPair, pair_from_saved

    run_dir = Path(run_dir)
    info = info or read_run_info(run_dir)
    p = info.get("pair") or {}
    if p.get("origin", "domains") == "arrays":
        data = run_dir / DATA
        if not data.is_file():
            raise RunError(f"{run_dir}: trained on arrays that were not saved with the run "
                           f"(no {DATA}); evaluate it in Python with the same pair "
                           f"(dalab.evaluate(model, pair)), or train with save_data=True / "
                           f"--save-data")
        try:
            with np.load(data, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except Exception as e:  # noqa: BLE001 truncated zip (BadZipFile), EOFError, zlib...
            raise RunError(f"{data}: unreadable saved data ({type(e).__name__}: {e}); the "
                           f"run's weights are fine, its copy of the arrays is not") from None
        pair = pair_from_saved(arrays, p)
    else:
        pair = DomainPair(p["source"], p["target"], split_seed=p.get("split_seed", 0))
    want = p.get("fingerprint")
    pair.fingerprint_note = None
    if want and pair.fingerprint() != want:
        note = (f"the data differs from what the run was trained on (fingerprint "
                f"{pair.fingerprint()[:12]}, recorded {want[:12]})")
        if p.get("origin") == "arrays":  # the saved copy was changed: refuse
            raise RunError(f"{run_dir}: {note}")
        # named domains are rebuilt from the packages that ship them: a different version
        # (or CPU) can change derived pixels slightly; evaluate, and say so
        pair.fingerprint_note = note + "; the domains were rebuilt, perhaps by another version"
    return pair


class MetricsLog:
    """Per-step metrics as CSV (``step`` then one column per metric, in order of first
    appearance). Rows are buffered and written on :meth:`flush` (fit flushes at every
    evaluation and checkpoint, and at least every ``flush_s`` seconds); a metric that appears
    later (a method's second phase) rewrites the file once with the wider header.
    ``truncate_after=N`` drops rows after step N (a resumed run redoes them)."""

    def __init__(self, path: str | Path, truncate_after: int | None = None,
                 flush_s: float = 5.0):
        self.path = Path(path)
        self.columns: list[str] = []
        self.rows: list[dict] = []
        self.flush_s, self._last = flush_s, time.monotonic()
        if self.path.is_file():
            with open(self.path, newline="") as f:
                reader = csv.DictReader(f)
                self.columns = [c for c in (reader.fieldnames or []) if c != "step"]
                kept = [r for r in reader if r.get("step", "").isdigit()
                        and (truncate_after is None or int(r["step"]) <= truncate_after)]
            self._rewrite(kept)
        self._pending: list[dict] = []

    def _rewrite(self, rows: list[dict]) -> None:
        def write(tmp):
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, ["step", *self.columns], restval="")
                w.writeheader()
                w.writerows(rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, write)

    def write(self, step: int, metrics: dict) -> None:
        self._pending.append({"step": step, **{k: repr(float(v)) for k, v in metrics.items()}})
        if time.monotonic() - self._last > self.flush_s:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        if not self._pending:
            return
        new = [k for r in self._pending for k in r if k != "step" and k not in self.columns]
        if new or not self.path.is_file():
            old = []
            if self.path.is_file():
                with open(self.path, newline="") as f:
                    old = list(csv.DictReader(f))
            self.columns += list(dict.fromkeys(new))
            self._rewrite(old + self._pending)
        else:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, ["step", *self.columns], restval="").writerows(self._pending)
        self._pending = []

    def close(self) -> None:
        self.flush()


def read_metrics(run_dir: str | Path) -> list[dict]:
    """``metrics.csv`` of a run as a list of ``{"step": int, name: float, ...}`` (empty
    values are left out); ``[]`` when the run has none."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return metrics_rows(f)


def metrics_rows(lines) -> list[dict]:
    """Parse ``metrics.csv`` text (its header line first, any iterable of lines) as
    :func:`read_metrics` does; the Train page feeds it the lines appended since its last read."""
    return [{"step": int(r["step"]), **{k: float(v) for k, v in r.items()
                                        if k != "step" and v not in ("", None)}}
            for r in csv.DictReader(lines) if r.get("step", "").isdigit()]


def read_run_info(run_dir: str | Path) -> dict:
    """The run's ``config.json`` (validated); no weights are read."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise RunError(f"{path}: no such file; a run directory holds {CONFIG} and {WEIGHTS}")
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunError(f"{path}: not a readable JSON run description ({e})") from None
    except RecursionError:
        raise RunError(f"{path}: not a readable JSON run description (nested too deeply)") \
            from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise RunError(f"{path}: not a dalab run (format {info.get('format') if isinstance(info, dict) else None!r}, "
                       f"expected {FORMAT!r})")
    problem = _shape_problem(info)
    if problem:
        raise RunError(f"{path}: {problem}")
    return info



# what every run description holds, with its type (a hand-edited or truncated config.json
# is refused by name, never a KeyError)
REQUIRED = {"method": str, "config": dict, "input_shape": list, "num_classes": int,
            "pair": dict, "weights": dict, "seed": int, "steps": int, "status": str}


def _shape_problem(info: dict) -> str | None:
    for key, typ in REQUIRED.items():
        if not isinstance(info.get(key), typ) or isinstance(info.get(key), bool):
            return (f"{key!r} is missing or not a {typ.__name__}; a run description holds "
                    f"{', '.join(REQUIRED)}")
    shape = info["input_shape"]
    if not (1 <= len(shape) <= 3 and all(isinstance(s, int) and 0 < s <= 4096 for s in shape)):
        return f"input_shape {shape!r} is not (C, H, W) or (D,) with sizes in 1-4096"
    if not 2 <= info["num_classes"] <= MAX_CLASSES:
        return f"num_classes {info['num_classes']} is not in 2-{MAX_CLASSES}"
    w = info["weights"]
    if not isinstance(w.get("file"), str) or not isinstance(w.get("sha256"), str):
        return "'weights' lacks its 'file' or 'sha256'"
    if not isinstance(info["pair"].get("source"), str) or not isinstance(
            info["pair"].get("target"), str):
        return "'pair' lacks its 'source' or 'target'"
    return None


def config_digest(info: dict) -> str:
    """sha256 of a run description (canonical JSON, the ``sealed`` field left out): written
    as ``info["sealed"]`` so a hand-edited config.json (an accuracy, a shape) is noticed."""
    body = {k: v for k, v in info.items() if k != "sealed"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def check_sealed(run_dir: str | Path, info: dict) -> None:
    """Refuse a config.json edited after dalab wrote it. Runs written before sealing existed
    (no ``sealed`` field, e.g. older zoo entries) pass: their weights hash still holds."""
    seal = info.get("sealed")
    if seal is None and info.get("sealing"):
        raise RunError(f"{Path(run_dir) / CONFIG}: its seal was removed (it was written by a "
                       f"version that seals configs); refusing to load. Recorded numbers "
                       f"cannot be trusted: retrain, or restore the file")
    if seal is not None and seal != config_digest(info):
        raise RunError(f"{Path(run_dir) / CONFIG}: edited after the run was saved (its "
                       f"'sealed' digest does not match its contents); refusing to load. "
                       f"Recorded numbers (accuracy, shapes) cannot be trusted: retrain, or "
                       f"restore the file")


def verified_weights(run_dir: str | Path, info: dict) -> Path:
    """The weights file of a run after checking its sha256 against ``config.json``."""
    weights = weights_path(run_dir, info)
    if not weights.is_file():
        raise RunError(f"{weights}: weights file missing")
    actual = sha256_file(weights)
    if actual != info["weights"].get("sha256"):
        raise RunError(f"{weights}: sha256 {actual} does not match "
                       f"{info['weights'].get('sha256')} recorded in {CONFIG}; the file was "
                       f"changed or corrupted, refusing to load")
    return weights


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> tuple[Method, dict]:
    """Rebuild the method of a run and load its verified weights. Returns ``(method, info)``."""
    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    check_sealed(run_dir, info)
    weights = verified_weights(run_dir, info)
    try:
        method = build_method(info["method"], input_shape=info["input_shape"],
                              num_classes=info["num_classes"], config=info["config"], saved=True)
    except (UnknownMethodError, ValueError, TypeError) as e:
        raise RunError(f"{run_dir / CONFIG}: cannot rebuild the model ({e})") from None
    try:
        load_model(method, str(weights), strict=True)
    except (SafetensorError, RuntimeError, OSError, ValueError) as e:
        raise RunError(f"{weights}: weights do not fit {info['method']} ({e})") from None
    method.to(resolve_device(device))
    method.eval()
    return method, info
