"""A background trainer the Train page polls: start, pause, step, stop; it never calls
Streamlit (the page reads ``snapshot()`` from a fragment)."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..train import fit_and_save, prepare, resolve_device

log = logging.getLogger(__name__)


class Trainer:
    """Runs ``fit`` in a daemon thread. States: idle, running, paused, finished, stopped,
    diverged, error. ``step()`` while paused lets exactly one training step through."""

    def __init__(self, method: str, source: str, target: str, steps: int, *,
                 overrides: list[str] | None = None, seed: int = 0, device: str = "auto",
                 out: str | Path | None = None, eval_every: int | None = None):
        # build now so bad names/values (and an absent device) fail in the caller's thread,
        # before anything runs
        resolve_device(device)
        self.model, self.pair = prepare(method, source, target, overrides=overrides, seed=seed)
        self.steps, self.seed, self.device, self.out = steps, seed, device, out
        self.eval_every = eval_every or max(1, steps // 20)
        self.state = "idle"
        self.message = ""
        self.step_done = 0
        self.losses: list[dict] = []     # every step's metrics (downsampled by the page)
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
        if self.state == "running":
            self._go.clear()
            self.state = "paused"

    def resume(self) -> None:
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
        self._stop.set()
        self._go.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # -- reading ----------------------------------------------------------------------
    def snapshot(self) -> dict:
        with self._lock:
            return {"state": self.state, "message": self.message, "step": self.step_done,
                    "steps": self.steps, "losses": list(self.losses),
                    "history": list(self.history), "run_dir": self.run_dir}

    # -- the thread -------------------------------------------------------------------
    def _callback(self, ev) -> None:
        if ev.kind == "step":
            with self._lock:
                self.step_done = ev.step
                self.losses.append({"step": ev.step, **ev.metrics})
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
