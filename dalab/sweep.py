"""``python -m dalab sweep``: one method on one pair over a grid of config values x seeds, each
configuration an ordinary, resumable run trained in its own Ray task.

The cartesian product of the grids (``--grid lr=0.005,0.01 --grid lambda_w=0.3,1``) times the
seeds is laid out under ``runs/sweep/<method>_<src>_to_<tgt>/<key=value,...>_seed<k>``; each run
is :func:`dalab.train.train` with its values as ``--set`` overrides and a checkpoint every tenth
of its steps. As in the benchmark (:func:`dalab.bench.run_bench`, whose run-state rule this
module shares), a finished run is skipped and an interrupted one resumed
(:func:`dalab.train.resume`), so a killed sweep continues where it stopped. ``sweep.json`` in the
sweep folder records the grid, seeds and step count; :func:`sweep_rows` reads the runs back with
their target test accuracy and label-free scores (:func:`dalab.bench.run_scores`).

Ray is an optional dependency (``pip install 'dalab[sweep]'``), imported only when runs are to be
trained. By default a local Ray instance gets every core (``ray.init(num_cpus=os.cpu_count())``)
and runs one run per core, each task with ``torch.set_num_threads(1)``; ``address`` joins an
existing cluster instead, whose nodes must see the sweep folder at the same path (a shared file
system) and have dalab installed.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
import statistics
import threading
import time
from pathlib import Path
from typing import Callable

from .bench import SCORE_LABELS, _state, run_scores, score_picks
from .methods import get_method
from .methods.config import make_config
from .runs import CONFIG, FINAL_STATUSES, RunError, read_run_info, run_status

SWEEP_ROOT = Path("runs") / "sweep"
SPEC_FILE = "sweep.json"
FORMAT = "dalab-sweep/1"
INSTALL_HINT = "pip install 'dalab[sweep]' (or pip install -r requirements-sweep.txt)"


class SweepError(ValueError):
    """A bad grid, a sweep folder holding another sweep, or Ray missing; says what to do."""


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.,=-]+", "_", text)  # custom domain names hold paths


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["lr=0.005,0.01", "lambda_w=1"]`` -> ``{"lr": ["0.005", "0.01"], "lambda_w": ["1"]}``
    (order kept: the first key is the outer loop, the table's first column)."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key, values = key.strip(), [v.strip() for v in raw.split(",")]
        if not sep or not key or not all(values):
            raise SweepError(f"--grid {item!r}: expected KEY=V1,V2,... (e.g. lr=0.005,0.01)")
        if key in grid:
            raise SweepError(f"--grid {key}: given twice; list all its values in one --grid")
        if len(set(values)) < len(values):
            raise SweepError(f"--grid {item!r}: a value is repeated")
        grid[key] = values
    return grid


def configurations(grid: dict[str, list[str]], seeds: int) -> list[dict]:
    """The cartesian product of ``grid`` times ``range(seeds)``:
    ``[{"name", "values": {key: value}, "seed"}]``, seeds innermost."""
    out = []
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo))
        for k in range(seeds):
            out.append({"name": run_name(values, k), "values": values, "seed": k})
    return out


def run_name(values: dict[str, str], seed: int) -> str:
    """``lr=0.01,lambda_w=1_seed0`` (``defaults_seed0`` for an empty grid)."""
    text = ",".join(f"{k}={v}" for k, v in values.items()) or "defaults"
    return f"{_short(_clean(text))}_seed{seed}"


MAX_NAME = 120  # characters of a folder name made from values (file systems allow 255 bytes)


def _short(name: str) -> str:
    """``name`` if short enough for a folder, else its head and a hash of the whole (still
    one name per configuration)."""
    if len(name) <= MAX_NAME:
        return name
    import hashlib
    return f"{name[:MAX_NAME - 13]}~{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def sweep_dir(method: str, source: str, target: str, root: str | Path = SWEEP_ROOT) -> Path:
    return Path(root) / _short(_clean(f"{method}_{source}_to_{target}"))


def check_grid(method: str, grid: dict[str, list[str]]) -> None:
    """Every configuration of the grid builds a valid config of ``method`` (unknown keys and bad
    values fail here, listing what is valid, before anything is sent to Ray)."""
    cls = get_method(method)
    for combo in itertools.product(*grid.values()):
        make_config(cls.Config, overrides=[f"{k}={v}" for k, v in zip(grid, combo)])


def read_spec(out: str | Path) -> dict:
    path = Path(out) / SPEC_FILE
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as e:
        raise SweepError(f"{out}: no readable {SPEC_FILE} ({type(e).__name__}: {e})") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise SweepError(f"{path}: not a {FORMAT} file")
    return spec


def merge_spec(old: dict | None, new: dict) -> dict:
    """A second sweep into the same folder may add values and seeds, nothing else: another
    method, pair, step count, engine option (EMA, augment) or set of keys would mix runs that
    do not compare."""
    if old is None:
        return new
    for key in ("method", "source", "target", "steps", "ema", "augment"):
        if old.get(key) != new[key]:
            raise SweepError(f"the sweep folder holds a sweep with {key}={old.get(key)!r}, not "
                             f"{new[key]!r}: pass another --out")
    if list(old["grid"]) != list(new["grid"]):
        keys = lambda g: ", ".join(g) or "no keys"  # noqa: E731
        raise SweepError(f"the sweep folder holds a sweep over {keys(old['grid'])}, not "
                         f"{keys(new['grid'])}: pass another --out")
    grid = {k: old["grid"][k] + [v for v in vs if v not in old["grid"][k]]
            for k, vs in new["grid"].items()}
    return {**old, "grid": grid, "seeds": max(old["seeds"], new["seeds"])}


def import_ray():
    try:
        import ray
    except ImportError:
        raise SweepError(f"dalab sweep and dalab bench --ray run on Ray, which is not "
                         f"installed: {INSTALL_HINT}") from None
    return ray


def train_one(run_dir: str, method: str, source: str, target: str, values: dict, seed: int,
              steps: int, ema: float | None, augment: bool, state: str | None,
              device: str = "auto", score: bool = True, extra: dict | None = None) -> dict:
    """One run, in a Ray worker's process (one thread): trained, or resumed when ``state`` is
    "incomplete", then scored when ``score`` (:func:`dalab.bench.run_scores`, cached in the
    run, so the summary scores in parallel too). The task of ``dalab sweep`` and of
    ``dalab bench --ray`` alike. A failure is returned, not raised, so the other runs go on; a
    failed scoring is left to the summary, which reports it."""
    import torch

    from .train import resume, train

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    try:
        if state == "incomplete":
            _, res, _ = resume(run_dir, device=device)
        else:
            _, res, _ = train(method, source, target, steps, seed=seed, out=run_dir,
                              overrides=[f"{k}={v}" for k, v in values.items()],
                              checkpoint_every=max(1, steps // 10), ema=ema, augment=augment,
                              device=device, extra=extra)
    except Exception as e:  # noqa: BLE001 (reported with its type; the sweep goes on)
        return {"error": f"{type(e).__name__}: {e}"}
    if res.status == "finished" and score:
        try:
            run_scores(run_dir)
        except (RunError, ValueError, RuntimeError):
            pass
    return {"status": res.status, "target_test": res.accuracy.get("target_test"),
            "steps": res.steps_done, "wall_time_s": time.perf_counter() - t0}


def run_sweep(method: str, source: str, target: str, grid: dict[str, list[str]], *,
              seeds: int = 1, steps: int | None = None, out: str | Path | None = None,
              address: str | None = None, num_cpus: int | None = None,
              ema: float | None = None, augment: bool = False,
              log: Callable[[str], None] = print,
              on_result: Callable[[dict], None] | None = None,
              stop_event: threading.Event | None = None) -> dict:
    """Train every missing run of the sweep (``grid`` from :func:`parse_grid`) as Ray tasks and
    return ``{"out", "spec", "runs": [{"name", "action", ...outcome}]}``; "action" is
    "skipped", "trained" or "resumed", and a failed run has an "error". Ray is started only
    when something is to be trained: locally with ``num_cpus`` (default ``os.cpu_count()``),
    or joined at ``address``. A Ray session already open (``ray.init`` by the caller) is used
    as it is and left open. ``on_result`` is called with each run's outcome as it comes
    (skipped ones first); ``stop_event`` stops the sweep (:func:`run_tasks`)."""
    from .data import DomainPair

    check_grid(method, grid)
    DomainPair(source, target)  # unknown or unloadable domains fail before Ray starts
    steps = steps or get_method(method).default_steps
    out = Path(out or sweep_dir(method, source, target)).resolve()
    new = {"format": FORMAT, "method": method, "source": source, "target": target,
           "grid": grid, "seeds": seeds, "steps": steps, "ema": ema, "augment": augment}
    spec = merge_spec(read_spec(out) if (out / SPEC_FILE).is_file() else None, new)
    out.mkdir(parents=True, exist_ok=True)
    (out / SPEC_FILE).write_text(json.dumps(spec, indent=1))

    jobs, outcomes = [], []
    for job in configurations(grid, seeds):
        state = _state(out / job["name"])
        if state in FINAL_STATUSES or state == "running":
            why = "being trained by another process" if state == "running" else \
                f"already there{'' if state == 'finished' else f' ({state})'}"
            log(f"{job['name']}: {why}, skipped")
            outcomes.append({"name": job["name"], "action": "skipped", "status": state})
            if on_result is not None:
                on_result(outcomes[-1])
        else:
            jobs.append((job, state))
    if jobs:
        outcomes += run_tasks([
            {"name": job["name"], "action": "resumed" if state == "incomplete" else "trained",
             "args": dict(run_dir=str(out / job["name"]), method=method, source=source,
                          target=target, values=job["values"], seed=job["seed"],
                          steps=spec["steps"], ema=spec["ema"], augment=spec["augment"],
                          state=state)}
            for job, state in jobs], address=address, num_cpus=num_cpus, log=log,
            on_result=on_result, stop_event=stop_event)
    return {"out": out, "spec": spec, "runs": outcomes}


def run_tasks(jobs: list[dict], *, address: str | None = None, num_cpus: int | None = None,
              log: Callable[[str], None] = print,
              on_result: Callable[[dict], None] | None = None,
              stop_event: threading.Event | None = None) -> list[dict]:
    """Run each job (``{"name", "action", "args"}``, ``args`` the keywords of
    :func:`train_one`) as a one-CPU Ray task and return ``[{"name", "action", ...outcome}]`` in
    the order they finish, logging each as it does (and passing it to ``on_result``). Ray is
    started locally with ``num_cpus`` (default ``os.cpu_count()``) or joined at ``address``,
    and shut down afterwards; a session the caller opened is used as it is and left open.
    Shared by :func:`run_sweep` and :func:`dalab.bench.run_bench` (``--ray``).

    When ``stop_event`` is set, the tasks still pending are cancelled (a task training is
    killed: its run is left "incomplete" with its last checkpoint, and the next sweep resumes
    it) and each gets the outcome ``{"action": "stopped", "status": "stopped"}``."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started and address:
        ray.init(address=address, log_to_driver=False)
    elif started:
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False,
                 log_to_driver=False)
    where = ("the Ray session already open" if not started else address
             or f"{num_cpus or os.cpu_count()} local CPUs")
    log(f"{len(jobs)} run(s) to Ray ({where})")
    try:
        task = ray.remote(num_cpus=1)(train_one)
        pending = {task.remote(**job["args"]): job for job in jobs}
        outcomes = []
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1,
                                timeout=None if stop_event is None else 0.5)
            if not ready:
                if stop_event.is_set():
                    for ref, job in pending.items():
                        ray.cancel(ref, force=True)
                        outcomes.append({"name": job["name"], "action": "stopped",
                                         "status": "stopped"})
                        log(f"{job['name']}: stopped (the next sweep resumes or trains it)")
                        if on_result is not None:
                            on_result(outcomes[-1])
                    break
                continue
            (ref,) = ready
            job, got = pending.pop(ref), ray.get(ref)
            outcomes.append({"name": job["name"], "action": job["action"], **got})
            if on_result is not None:
                on_result(outcomes[-1])
            tag = f"[{len(outcomes)}/{len(jobs)}] {job['name']}"
            if "error" in got:
                log(f"{tag}: failed: {got['error']}")
            else:
                acc = got["target_test"]
                log(f"{tag}: {job['action']}, target {'-' if acc is None else f'{acc:.4f}'} "
                    f"({got['status']}, {got['steps']} steps, {got['wall_time_s']:.0f} s)")
        return outcomes
    finally:
        if started:
            ray.shutdown()


# -- summaries ---------------------------------------------------------------------------------

SCORE_NAMES = tuple(SCORE_LABELS)   # prediction_entropy, soft_neighborhood, ...


def sweep_rows(out: str | Path, log: Callable[[str], None] = print,
               names: set[str] | None = None) -> list[dict]:
    """One row per run of the sweep in ``out`` that exists on disk (only those in ``names``
    when given), in grid order: ``{"name", "values": {key: value}, "seed", "status",
    "target_test", "held_out", <each label-free score>}`` (scores and accuracies None for a run
    not finished, or whose scoring failed: logged)."""
    spec = read_spec(out)
    rows = []
    for job in configurations(spec["grid"], spec["seeds"]):
        run_dir = Path(out) / job["name"]
        if (names is not None and job["name"] not in names) or not (run_dir / CONFIG).is_file():
            continue
        row = {"name": job["name"], "values": job["values"], "seed": job["seed"],
               "status": _status(run_dir), "target_test": None, "held_out": None,
               **dict.fromkeys(SCORE_NAMES)}
        if row["status"] == "finished":
            try:
                got = run_scores(run_dir)
                row.update({k: got[k] for k in ("target_test", "held_out", *SCORE_NAMES)})
            except (RunError, ValueError, RuntimeError, KeyError) as e:
                log(f"{job['name']}: not scored ({e})")
        rows.append(row)
    return rows


def _status(run_dir: Path) -> str:
    try:
        return run_status(read_run_info(run_dir))
    except RunError:
        return "unreadable"


def find_sweeps(root: str | Path = SWEEP_ROOT) -> list[Path]:
    """The sweep folders under ``root`` (each holds a ``sweep.json``), sorted by name."""
    return sorted(p.parent for p in Path(root).glob("*/" + SPEC_FILE))


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def table_rows(rows: list[dict]) -> list[dict]:
    """Flat rows for a table widget: the grid values, seed, status, the label-free scores
    (named as in the benchmark: entropy, SND, IWCV, DEV) and the target test accuracy."""
    return [{**r["values"], "seed": r["seed"], "status": r["status"],
             **{SCORE_LABELS[n]: r[n] for n in SCORE_NAMES}, "target test": r["target_test"]}
            for r in rows]


def picks(rows: list[dict]) -> dict[str, dict]:
    """Per label-free score, the finished run it would pick (its direction respected), and
    under "oracle" the run with the best held-out target-train accuracy (uses target labels)."""
    scored = [r for r in rows if r["target_test"] is not None]
    if not scored:
        return {}
    return {name: scored[i] for name, i in score_picks(scored).items()}


def sweep_markdown(rows: list[dict], spec: dict) -> str:
    """The sweep as a markdown table (one line per run), then the run each label-free score
    picks next to the oracle's pick."""
    keys = list(spec["grid"])
    head = keys + ["seed", "status"] + [SCORE_LABELS[n] for n in SCORE_NAMES] + ["target test"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["values"][k] for k in keys] + [str(r["seed"]), r["status"]]
        cells += [_fmt(r[n]) for n in SCORE_NAMES] + [_fmt(r["target_test"])]
        lines.append("| " + " | ".join(cells) + " |")
    chosen = picks(rows)
    if chosen:
        lines.append("")
        for n, r in chosen.items():
            who = "oracle (held-out target labels)" if n == "oracle" else f"{SCORE_LABELS[n]} pick"
            lines.append(f"- {who}: {r['name']}, target test {_fmt(r['target_test'])}")
    return "\n".join(lines) + "\n"


def grid_means(rows: list[dict], spec: dict, field: str) -> tuple[list[str], list[str], list]:
    """For a two-key grid: ``(first key's values, second key's values, matrix)`` with
    ``matrix[i][j]`` the mean of ``field`` over the seeds of (value i, value j), NaN where no
    finished run has it. The heatmap's data."""
    k1, k2 = list(spec["grid"])
    v1, v2 = spec["grid"][k1], spec["grid"][k2]
    cells: dict[tuple, list[float]] = {}
    for r in rows:
        if r[field] is not None:
            cells.setdefault((r["values"][k1], r["values"][k2]), []).append(r[field])
    matrix = [[statistics.mean(cells[(a, b)]) if (a, b) in cells else math.nan for b in v2]
              for a in v1]
    return v1, v2, matrix
