"""A background trainer the Train page polls: start, pause, step, stop; it never calls
Streamlit (the page reads ``live_view()`` from a fragment).

One job at a time per server process: :func:`start_job` registers it by run directory and
refuses a second one while it trains (another tab, another user), :func:`current_job` finds it
again after a browser reload. What the page shows is computed here, without a UI:
:func:`status_text`, :func:`loss_series` (the run's ``metrics.csv``, read incrementally by
:class:`MetricsTail`) and :func:`live_view`.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from .. import runs
from ..train import fit_and_save, prepare, resolve_device

log = logging.getLogger(__name__)

ACTIVE = ("running", "paused", "stopping")  # a job in these states holds the server
REFRESH_S = 2.0    # the page's live view refreshes this often (1 s slowed the trainer)
MAX_POINTS = 400   # per loss line: longer runs are averaged into this many buckets


class BackgroundJob:
    """What a run and a sweep share: a daemon thread running ``_run``, ``state`` in
    :data:`ACTIVE` while it holds the server."""
    thread_name = "dalab-job"
    state = "idle"
    _thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this job was already started")
        self.state = "running"
        self._thread = threading.Thread(target=self._run, daemon=True, name=self.thread_name)
        self._thread.start()

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    failure = "The job failed"   # the page's line when ``_work`` raises

    def _work(self) -> tuple[str, str]:
        """The job itself, in the thread; returns its final ``(state, message)``."""
        raise NotImplementedError

    def _run(self) -> None:
        try:
            state, message = self._work()
        except Exception as e:  # a line on the page, the traceback in the server log
            log.exception("%s in the app failed", self.thread_name)
            state, message = "error", f"{self.failure}: {type(e).__name__}: {e}"
        with self._lock:
            self.state, self.message = state, message


class Trainer(BackgroundJob):
    """Runs ``fit`` in a daemon thread. States: idle, running, paused, stopping (from
    ``stop()`` until the thread has ended), finished, stopped, diverged, error. ``step()``
    while paused lets exactly one training step through."""
    thread_name = "dalab-trainer"

    def __init__(self, method: str, source: str, target: str, steps: int, *,
                 overrides: list[str] | None = None, seed: int = 0, device: str = "auto",
                 out: str | Path | None = None, eval_every: int | None = None):
        # build now so bad names/values (and an absent device) fail in the caller's thread,
        # before anything runs
        resolve_device(device)
        self.model, self.pair = prepare(method, source, target, overrides=overrides, seed=seed)
        self.method, self.source, self.target = method, source, target
        self.steps, self.seed, self.device, self.out = steps, seed, device, out
        self.eval_every = eval_every or max(1, steps // 20)
        self.state = "idle"
        self.message = ""
        self.step_done = 0
        self.history: list[dict] = []    # evaluation records
        self.result = None
        self.run_dir = None
        self._lock = threading.Lock()
        self._go = threading.Event()     # cleared = paused
        self._go.set()
        self._single = False
        self._stop = threading.Event()

    # -- control ----------------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            if self.state == "running":
                self._go.clear()
                self.state = "paused"

    def resume(self) -> None:
        with self._lock:
            if self.state == "paused":
                self._single = False
                self.state = "running"
                self._go.set()

    def step(self) -> None:
        """One step, then paused again."""
        if self.state == "paused":
            self._single = True
            self._go.set()

    def stop(self) -> None:
        with self._lock:
            if self.state in ("running", "paused"):
                self.state = "stopping"  # until the thread reports how it ended
        self._stop.set()
        self._go.set()

    def describe(self) -> str:
        return (f"`{self.out}` ({self.method} {self.source} -> {self.target}, "
                f"step {self.step_done} / {self.steps})")

    # -- reading ----------------------------------------------------------------------
    def snapshot(self) -> dict:
        with self._lock:
            # no copy of the per-step losses: the page reads them from metrics.csv
            return {"state": self.state, "message": self.message, "step": self.step_done,
                    "steps": self.steps, "history": list(self.history),
                    "run_dir": self.run_dir, "out": self.out}

    # -- the thread -------------------------------------------------------------------
    def _callback(self, ev) -> None:
        if ev.kind == "step":
            self.step_done = ev.step  # one int: no lock (per-step losses are in metrics.csv)
            if self._single:
                self._single = False
                self._go.clear()
            self._go.wait()  # blocks here while paused
        elif ev.kind == "eval":
            with self._lock:
                self.history.append(dict(ev.metrics))

    failure = "Training failed"

    def _work(self) -> tuple[str, str]:
        result, run_dir = fit_and_save(self.model, self.pair, self.steps, seed=self.seed,
                                       out=self.out, device=self.device,
                                       eval_every=self.eval_every,
                                       callbacks=[self._callback], stop_event=self._stop)
        with self._lock:
            self.result, self.run_dir = result, run_dir
        return result.status, result.message


# -- what the page shows ------------------------------------------------------------------
def status_text(snap: dict) -> str:
    """The progress bar's line: ``"stopping...: step 40 / 300"`` from the Stop click until
    the thread reports how it ended."""
    state = "stopping..." if snap["state"] == "stopping" else snap["state"]
    return f"{state}: step {snap['step']} / {snap['steps']}"


def loss_series(rows: list[dict], max_points: int = MAX_POINTS) -> dict[str, list]:
    """Per-step metrics (``runs.read_metrics`` rows) as plot lines: ``{"step": [...],
    "loss": [...], "loss_cls": [...], ...}``, one per metric whose name starts with "loss", in
    order of first appearance. Over ``max_points`` steps, consecutive steps are averaged in
    equal buckets (the step is the bucket's last); a bucket without the metric is None."""
    keys = list(dict.fromkeys(k for r in rows for k in r if k.startswith("loss")))
    size = -(-len(rows) // max_points) if rows else 1
    out: dict[str, list] = {"step": [], **{k: [] for k in keys}}
    for i in range(0, len(rows), size):
        bucket = rows[i:i + size]
        out["step"].append(int(bucket[-1]["step"]))
        for k in keys:
            vals = [r[k] for r in bucket if k in r]
            out[k].append(float(sum(vals) / len(vals)) if vals else None)
    return out


class MetricsTail:
    """A run's ``metrics.csv`` read incrementally: each :meth:`read` parses only the whole
    lines appended since the last one; a rewrite (a new column, a new run in the directory:
    a new file) or a shorter file is read again from the start. ``rows`` holds every row so
    far, as :func:`dalab.runs.read_metrics` gives them."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: list[dict] = []
        self._inode, self._pos, self._header = None, 0, ""

    def read(self) -> int:
        """Parse what was appended; returns the number of new rows."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return 0
        if st.st_ino != self._inode or st.st_size < self._pos:
            self.rows, self._inode, self._pos, self._header = [], st.st_ino, 0, ""
        if st.st_size == self._pos:
            return 0
        with open(self.path, "rb") as f:
            f.seek(self._pos)
            chunk = f.read(st.st_size - self._pos)
        chunk = chunk[:chunk.rfind(b"\n") + 1]  # a line still being written waits
        self._pos += len(chunk)
        lines = chunk.decode().splitlines(keepends=True)
        if not self._header and lines:
            self._header, lines = lines[0], lines[1:]
        new = runs.metrics_rows([self._header, *lines]) if lines else []
        self.rows += new
        return len(new)


def live_view(trainer: Trainer, view_state: dict) -> dict:
    """One refresh of the Train page's live view, without Streamlit: ``{"snapshot",
    "status", "progress", "figure", "accuracy"}``. ``view_state`` (a dict the caller keeps
    between refreshes, per page session) holds the metrics tail and the last figure; the
    figure is rebuilt only when the run moved (new metrics rows, a new evaluation, a new
    state), so a refresh of an unchanged run reads and plots nothing."""
    from .figures import training_figure
    snap = trainer.snapshot()
    if view_state.get("out") != str(trainer.out):
        view_state.clear()
        view_state["out"] = str(trainer.out)
        view_state["tail"] = MetricsTail(Path(trainer.out) / runs.METRICS) if trainer.out else None
    tail = view_state["tail"]
    if tail is not None:
        tail.read()
    version = (len(tail.rows) if tail else 0, len(snap["history"]), snap["state"])
    if view_state.get("version") != version:
        view_state["version"] = version
        rows = tail.rows if tail else []
        view_state["figure"] = (training_figure(loss_series(rows), snap["history"])
                                if rows or snap["history"] else None)
    last = snap["history"][-1] if snap["history"] else {}
    return {"snapshot": snap, "status": status_text(snap),
            "progress": min(1.0, snap["step"] / snap["steps"]),
            "figure": view_state["figure"], "accuracy": last.get("target_test")}


def trainer_threads(cpu_count: int | None, env) -> int | None:
    """Torch threads for a job in the app: all cores but one (the page, the server and a
    local browser keep one), at least one; None when ``OMP_NUM_THREADS`` is set (the user
    chose)."""
    if "OMP_NUM_THREADS" in env:
        return None
    return max(1, (cpu_count or 1) - 1)


# -- one job per server process ------------------------------------------------------------
class BusyError(RuntimeError):
    """A job is already training in this server."""


_JOBS: dict[str, Trainer] = {}   # by run directory, oldest first
_JOBS_LOCK = threading.Lock()
_KEEP = 8                       # finished jobs kept findable by run directory


def _start(make, out: str | Path):
    """Build a job with ``make()``, start it and register it under ``out``; refused while
    another job (a run or a sweep) is active."""
    with _JOBS_LOCK:  # held while the job is built: two clicks cannot both pass
        busy = next((j for j in _JOBS.values() if j.active), None)
        if busy is not None:
            what = "A sweep is" if isinstance(busy, SweepJob) else "A run is already"
            raise BusyError(f"{what} training in this server: {busy.describe()}. "
                            "Stop it, or wait until it ends, before starting another.")
        job = make()
        job.start()
        _JOBS[str(Path(out))] = job
        for key in [k for k, j in _JOBS.items() if not j.active][:-_KEEP]:
            del _JOBS[key]
        return job


def start_job(method: str, source: str, target: str, steps: int, *, out: str | Path,
              **kwargs) -> Trainer:
    """Build and start a :class:`Trainer` writing to ``out``, registered under it. Refused
    (:class:`BusyError`, naming the running run) while another job is active: the server
    trains one run at a time."""
    def make():
        job = Trainer(method, source, target, steps, out=out, **kwargs)
        threads = trainer_threads(os.cpu_count(), os.environ)
        if threads is not None:
            import torch
            torch.set_num_threads(threads)
        return job
    return _start(make, out)


def start_sweep(method: str, source: str, target: str, grid: dict[str, list[str]], *,
                seeds: int, steps: int, num_cpus: int | None = None,
                out: str | Path | None = None) -> "SweepJob":
    """Start a :class:`SweepJob` (folder: :func:`sweep_folder` unless ``out``), registered
    like a run: one job per server, found again after a reload."""
    out = out or sweep_folder(method, source, target, grid, steps)
    return _start(lambda: SweepJob(method, source, target, grid, seeds=seeds, steps=steps,
                                   num_cpus=num_cpus, out=out), out)


def get_job(out: str | Path | None) -> Trainer | None:
    with _JOBS_LOCK:
        return _JOBS.get(str(Path(out))) if out is not None else None


def current_job(out: str | Path | None = None) -> Trainer | None:
    """The job training now, if any; else the job of ``out`` (a page session's last run)."""
    with _JOBS_LOCK:
        busy = next((j for j in _JOBS.values() if j.active), None)
    return busy if busy is not None else get_job(out)


def forget_jobs(timeout: float = 30.0) -> None:
    """Stop every job and empty the registry (tests)."""
    with _JOBS_LOCK:
        jobs = list(_JOBS.values())
        _JOBS.clear()
    for j in jobs:
        j.stop()
        j.join(timeout)


# -- a small sweep from the page (dalab sweep's path: Ray tasks, one run each) ---------------
MAX_SWEEP_RUNS = 9     # the page launches at most this many runs; dalab sweep has no cap
MAX_SWEEP_KEYS = 2


def ray_missing() -> str | None:
    """None when Ray can be imported, else what to do (the page says it instead of failing)."""
    import importlib.util

    from ..sweep import INSTALL_HINT
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else (f"Sweeps run on Ray, which is not installed in this "
                               f"environment: {INSTALL_HINT}, then restart the app.")


def sweep_plan(method: str, source: str, target: str, grid_items: list[str], seeds: int,
               max_runs: int = MAX_SWEEP_RUNS) -> dict[str, list[str]]:
    """The page's sweep form, checked as ``dalab sweep --grid`` checks it (each item
    ``KEY=V1,V2,...``; blank items ignored), plus the page's limits: one or two keys, at
    most ``max_runs`` runs (values x seeds). Returns the grid; raises
    :class:`dalab.sweep.SweepError`, ``ConfigError`` (an unknown key or bad value, listing
    the valid ones) or ``DataError`` (an unknown domain) with the message to show."""
    import math

    from ..data import DomainPair
    from ..sweep import SweepError, check_grid, parse_grid

    items = [i.strip() for i in grid_items if i and i.strip()]
    if not items:
        raise SweepError("Give at least one config key and its values, e.g. lr=0.005,0.01 "
                         "(`dalab methods -v` lists each method's keys).")
    if len(items) > MAX_SWEEP_KEYS:
        raise SweepError(f"At most {MAX_SWEEP_KEYS} keys from the page; `dalab sweep` takes "
                         "more.")
    grid = parse_grid(items)
    n = math.prod(len(v) for v in grid.values()) * seeds
    if n > max_runs:
        sizes = " x ".join(str(len(v)) for v in grid.values())
        raise SweepError(f"{sizes} values x {seeds} seed(s) = {n} runs: the page launches at "
                         f"most {max_runs}; use fewer values, or `dalab sweep` for a larger "
                         "grid.")
    check_grid(method, grid)
    DomainPair(source, target)
    return grid


def sweep_folder(method: str, source: str, target: str, grid: dict, steps: int) -> Path:
    """``runs/sweep/<method>_<src>_to_<tgt>_<key,key>_<steps>steps`` (listed by the Results
    page, like every folder under ``dalab.sweep.SWEEP_ROOT``): the same form again
    resumes (and may add values or seeds to) the same sweep; other keys or steps get their
    own folder instead of the refusal ``dalab sweep`` gives."""
    from ..sweep import sweep_dir
    return sweep_dir(method, source, f"{target}_{','.join(grid)}_{steps}steps")


def sweep_cpus(cpu_count: int | None) -> int:
    """Ray CPUs for a sweep from the page: all cores but one (the server and the browser keep
    one, as for a single run), at least one."""
    return max(1, (cpu_count or 1) - 1)


class SweepJob(BackgroundJob):
    """:func:`dalab.sweep.run_sweep` in a daemon thread (its runs are Ray tasks, as for
    ``dalab sweep``). States: running, stopping, finished, stopped, error. ``done`` holds each
    run's outcome as Ray reports it (skipped runs first), so the page lists runs as they
    finish."""
    thread_name = "dalab-sweep"

    def __init__(self, method: str, source: str, target: str, grid: dict[str, list[str]], *,
                 seeds: int, steps: int, out: str | Path, num_cpus: int | None = None):
        from ..sweep import configurations
        self.method, self.source, self.target, self.grid = method, source, target, grid
        self.seeds, self.steps, self.out, self.num_cpus = seeds, steps, Path(out), num_cpus
        self.total = len(configurations(grid, seeds))
        self.message = ""
        self.done: list[dict] = []
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def stop(self) -> None:
        with self._lock:
            if self.state == "running":
                self.state = "stopping"
        self._stop.set()

    def describe(self) -> str:
        keys = ", ".join(f"{k} in {{{', '.join(v)}}}" for k, v in self.grid.items())
        return (f"`{self.out}` (sweep: {self.method} {self.source} -> {self.target}, {keys}, "
                f"{self.seeds} seed(s), {self.steps} steps; {len(self.done)} / {self.total} "
                "runs done)")

    def snapshot(self) -> dict:
        with self._lock:
            return {"state": self.state, "message": self.message, "done": list(self.done),
                    "total": self.total, "lines": list(self.lines[-20:]), "out": self.out}

    def _log(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def _result(self, outcome: dict) -> None:
        with self._lock:
            self.done.append(outcome)

    failure = "The sweep failed"

    def _work(self) -> tuple[str, str]:
        from ..sweep import run_sweep
        got = run_sweep(self.method, self.source, self.target, self.grid, seeds=self.seeds,
                        steps=self.steps, out=self.out, num_cpus=self.num_cpus, log=self._log,
                        on_result=self._result, stop_event=self._stop)
        failed = [r["name"] for r in got["runs"] if "error" in r]
        return ("stopped" if self._stop.is_set() else "finished",
                f"{len(failed)} run(s) failed: {', '.join(failed)}" if failed else "")


def sweep_status(snap: dict) -> str:
    state = "stopping..." if snap["state"] == "stopping" else snap["state"]
    return f"{state}: {len(snap['done'])} / {snap['total']} runs done"


def sweep_view(job: SweepJob, view_state: dict) -> dict:
    """One refresh of the page's sweep view: ``{"snapshot", "status", "progress", "rows",
    "warnings"}``; ``rows`` are the Results page's sweep table rows
    (:func:`dalab.sweep.table_rows` of :func:`dalab.sweep.sweep_rows`) of the runs reported
    so far (their scores were computed in the Ray task), rebuilt only when another run has
    been reported."""
    from ..sweep import sweep_rows, table_rows
    snap = job.snapshot()
    version = (str(job.out), len(snap["done"]))
    if view_state.get("version") != version:
        warnings: list[str] = []
        names = {d["name"] for d in snap["done"]}
        rows = sweep_rows(job.out, log=warnings.append, names=names) if names else []
        view_state.update(version=version, rows=table_rows(rows), warnings=warnings)
    return {"snapshot": snap, "status": sweep_status(snap),
            "progress": min(1.0, len(snap["done"]) / max(1, snap["total"])),
            "rows": view_state["rows"], "warnings": view_state["warnings"]}
