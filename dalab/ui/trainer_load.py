"""How much an open Train page slows its trainer: ``python -m dalab.ui.trainer_load``.

Trains the same seeded run twice in this process, started as the page starts it
(:func:`dalab.ui.trainer.start_job`): once alone, once while the main thread plays the page:
every ``--poll`` seconds (the page's ``REFRESH_S`` by default) it calls what the Train page's
live fragment calls on each refresh (:func:`page_refresh`) and turns the figure into the JSON
that ``st.plotly_chart`` sends (Streamlit's own two calls). Prints the wall time of each run,
their ratio and the page thread's CPU time per refresh. No browser and no Streamlit server:
their own CPU use is not in the numbers.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from .trainer import REFRESH_S, Trainer, start_job


def page_refresh(trainer: Trainer, view_state: dict) -> dict:
    """One refresh of the Train page's live fragment, with Streamlit's figure serialization
    (``plotly_chart`` validates the figure again and writes it as JSON)."""
    import plotly
    import plotly.io

    from .trainer import live_view
    view = live_view(trainer, view_state)
    if view["figure"] is not None:
        fig = plotly.tools.return_figure_from_figure_or_data(view["figure"], validate_figure=True)
        plotly.io.to_json(fig, validate=False)
    return view


def run(method: str, source: str, target: str, steps: int, poll: float | None,
        out: Path) -> dict:
    """Wall time of one run; with ``poll``, the page refreshes meanwhile."""
    t0 = time.perf_counter()
    t = start_job(method, source, target, steps, seed=0, out=out)
    refreshes, page_cpu, view_state = 0, 0.0, {}
    while t.state in ("running", "stopping", "paused"):
        if poll is None:
            t.join(0.2)
            continue
        c0 = time.thread_time()
        page_refresh(t, view_state)
        page_cpu += time.thread_time() - c0
        refreshes += 1
        t.join(poll)
    t.join()
    wall = time.perf_counter() - t0
    return {"poll_s": poll, "wall_s": round(wall, 1), "state": t.state,
            "refreshes": refreshes,
            "page_cpu_ms_per_refresh": round(1000 * page_cpu / refreshes, 1) if refreshes else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dalab.ui.trainer_load", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="dann")
    ap.add_argument("--source", default="mnist")
    ap.add_argument("--target", default="digits")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--poll", type=float, default=REFRESH_S,
                    help="seconds between refreshes (default: the page's)")
    ap.add_argument("--json", help="also write the numbers here")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        alone = run(a.method, a.source, a.target, a.steps, None, Path(tmp) / "alone")
        print("alone:", alone, flush=True)
        polled = run(a.method, a.source, a.target, a.steps, a.poll, Path(tmp) / "polled")
        print("page open:", polled, flush=True)
    res = {"alone": alone, "page_open": polled,
           "slowdown": round(polled["wall_s"] / alone["wall_s"], 2),
           "threads": threading.active_count()}
    print(json.dumps(res))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
