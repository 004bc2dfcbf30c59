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


class Trainer:
    """Runs ``fit`` in a daemon thread. States: idle, running, paused, stopping (from
    ``stop()`` until the thread has ended), finished, stopped, diverged, error. ``step()``
    while paused lets exactly one training step through."""

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
        self._thread: threading.Thread | None = None

    # -- control ----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this trainer was already started")
        self.state = "running"
        self._thread = threading.Thread(target=self._run, daemon=True, name="dalab-trainer")
        self._thread.start()

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

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def describe(self) -> str:
        return (f"`{self.out}` ({self.method} {self.source} -> {self.target}, "
                f"step {self.step_done} / {self.steps})")

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

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

    def _run(self) -> None:
        try:
            result, run_dir = fit_and_save(self.model, self.pair, self.steps, seed=self.seed,
                                           out=self.out, device=self.device,
                                           eval_every=self.eval_every,
                                           callbacks=[self._callback], stop_event=self._stop)
            with self._lock:
                self.result, self.run_dir = result, run_dir
                self.state, self.message = result.status, result.message
        except Exception as e:  # a line on the page, the traceback in the server log
            log.exception("training in the app failed")
            with self._lock:
                self.state = "error"
                self.message = f"Training failed: {type(e).__name__}: {e}"


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


def start_job(method: str, source: str, target: str, steps: int, *, out: str | Path,
              **kwargs) -> Trainer:
    """Build and start a :class:`Trainer` writing to ``out``, registered under it. Refused
    (:class:`BusyError`, naming the running run) while another job is active: the server
    trains one run at a time."""
    with _JOBS_LOCK:  # held while the trainer is built: two clicks cannot both pass
        busy = next((j for j in _JOBS.values() if j.active), None)
        if busy is not None:
            raise BusyError(f"A run is already training in this server: {busy.describe()}. "
                            "Stop it, or wait until it ends, before starting another.")
        job = Trainer(method, source, target, steps, out=out, **kwargs)
        threads = trainer_threads(os.cpu_count(), os.environ)
        if threads is not None:
            import torch
            torch.set_num_threads(threads)
        job.start()
        _JOBS[str(Path(out))] = job
        for key in [k for k, j in _JOBS.items() if not j.active][:-_KEEP]:
            del _JOBS[key]
        return job


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
