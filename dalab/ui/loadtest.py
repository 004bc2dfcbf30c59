"""``python -m dalab.ui.loadtest``: a bounded load benchmark of the two apps, loopback only.

A benchmark command, not a test (its numbers depend on the machine). It

1. starts the Gradio demo in its own process on a free 127.0.0.1 port (the zoo's translation
   models, as ``make run`` does) and sends ``--concurrent`` simultaneous and then
   ``--sequential`` one-after-another requests to ``/translate_drawing`` (a drawn "1"),
   recording failures, median and p95 latency, the server's resident memory (RSS) before and
   after, and how many output PNGs its image folder holds (pruned: identical drawings share one
   file, old ones are deleted);
2. runs ``--sessions`` concurrent Streamlit sessions of the Modulation page through
   ``streamlit.testing`` (each a full script run on the shipped zoo) and records failures and
   their wall times.

Every loop is bounded in count and time; nothing leaves this machine. ``--json PATH`` writes
the figures (docs/reliability.md quotes them).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _drawn_one(path: Path) -> str:
    from PIL import Image
    a = np.zeros((280, 280, 4), np.uint8)
    for r in range(42, 238):
        c = 140 + (238 - r) // 12
        a[r, c - 9:c + 9] = (0, 0, 0, 255)
    Image.fromarray(a).save(path)
    return str(path)


def _stats(times: list[float]) -> dict:
    if not times:
        return {"median_s": None, "p95_s": None, "max_s": None}
    s = sorted(times)
    return {"median_s": round(statistics.median(s), 3),
            "p95_s": round(s[min(len(s) - 1, int(0.95 * len(s)))], 3),
            "max_s": round(s[-1], 3)}


def gradio_load(concurrent: int = 50, sequential: int = 200, timeout_s: float = 600,
                log=print) -> dict:
    from gradio_client import Client, handle_file

    from .gradio_app import IMAGE_DIR
    from .serve import free_port, rss_mb

    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "dalab.ui.gradio_app", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        client = None
        while client is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the demo did not start: {proc.stderr.read()[-2000:]}")
            try:
                client = Client(f"http://127.0.0.1:{port}", verbose=False)
            except Exception:  # noqa: BLE001 (not up yet)
                time.sleep(1)
        tmp = Path(tempfile.mkdtemp())
        sketch = {"background": None, "layers": [], "composite": handle_file(
            _drawn_one(tmp / "one.png"))}
        n_models = len(client.predict(api_name="/models")[1]["models"])
        client.predict(sketch, "source", api_name="/translate_drawing")  # warm-up
        rss_before = rss_mb(proc.pid)
        files_before = len(list(IMAGE_DIR.glob("*.png"))) if IMAGE_DIR.is_dir() else 0
        t_end = time.monotonic() + timeout_s

        def call(_):
            if time.monotonic() > t_end:
                return None, "time budget spent"
            t = time.perf_counter()
            try:
                _, items, results = client.predict(sketch, "source",
                                                   api_name="/translate_drawing")
                ok = len(items) >= 1 and all("label" in r or "error" in r for r in results)
                return time.perf_counter() - t, None if ok else "incomplete answer"
            except Exception as e:  # noqa: BLE001 (counted)
                return time.perf_counter() - t, f"{type(e).__name__}: {e}"

        out = {"models": n_models}
        for name, n, workers in (("concurrent", concurrent, concurrent),
                                 ("sequential", sequential, 1)):
            t0 = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                got = list(pool.map(call, range(n)))
            times = [t for t, err in got if t is not None and err is None]
            errors = [err for _, err in got if err]
            out[name] = {"requests": n, "failures": len(errors), "errors": errors[:5],
                         "wall_s": round(time.perf_counter() - t0, 1), **_stats(times)}
            log(f"gradio {name}: {n} requests, {len(errors)} failed, median "
                f"{out[name]['median_s']} s, p95 {out[name]['p95_s']} s")
        out["rss_mb_before"] = round(rss_before, 1)
        out["rss_mb_after"] = round(rss_mb(proc.pid), 1)
        out["output_pngs_before"] = files_before
        out["output_pngs_after"] = len(list(IMAGE_DIR.glob("*.png"))) if IMAGE_DIR.is_dir() else 0
        log(f"gradio RSS {out['rss_mb_before']} -> {out['rss_mb_after']} MB, output PNGs "
            f"{files_before} -> {out['output_pngs_after']}")
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def streamlit_load(sessions: int = 10, page: str = "modulation.py", log=print) -> dict:
    """``sessions`` concurrent AppTest runs of a page (each a whole script run on the zoo)."""
    from streamlit.testing.v1 import AppTest

    def one(_):
        t = time.perf_counter()
        try:
            at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=300).run()
            err = str(at.exception[0].value)[:200] if at.exception else None
        except Exception as e:  # noqa: BLE001 (counted)
            err = f"{type(e).__name__}: {e}"
        return time.perf_counter() - t, err

    one(0)  # warm the caches once, as a running server has them
    t0 = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        got = list(pool.map(one, range(sessions)))
    errors = [e for _, e in got if e]
    out = {"page": page, "sessions": sessions, "failures": len(errors), "errors": errors[:5],
           "wall_s": round(time.perf_counter() - t0, 1),
           **_stats([t for t, e in got if e is None])}
    log(f"streamlit {page}: {sessions} concurrent sessions, {len(errors)} failed, median "
        f"{out['median_s']} s, p95 {out['p95_s']} s")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m dalab.ui.loadtest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--concurrent", type=int, default=50)
    p.add_argument("--sequential", type=int, default=200)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args(argv)
    for k in ("concurrent", "sequential", "sessions"):
        if not 0 <= getattr(args, k) <= 1000:
            p.error(f"--{k} must be in 0-1000")
    result = {"command": "python -m dalab.ui.loadtest " + " ".join(argv or sys.argv[1:]),
              "machine": f"{os.cpu_count()} CPUs", "loadavg": os.getloadavg()}
    result["gradio"] = gradio_load(args.concurrent, args.sequential)
    if args.sessions:
        result["streamlit"] = streamlit_load(args.sessions)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    failed = result["gradio"]["concurrent"]["failures"] + result["gradio"]["sequential"][
        "failures"] + result.get("streamlit", {}).get("failures", 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
