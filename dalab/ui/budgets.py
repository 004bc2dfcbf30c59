"""Measure the app's budgets of DESIGN.md: ``python -m dalab.ui.budgets [--tiny] [--browser]``.

1. gamma slider -> new figures (<= 150 ms server side): ``modulation_view`` + the three figure
   builders on a cached batch of 128 images (what a slider move recomputes), and the whole
   page re-run by Streamlit's AppTest after ``slider.set_value`` (script + widgets + caches).
2. warm first paint of every page (<= 3 s): AppTest run time of each page with warm caches (a
   server-side proxy: no network, no browser rendering); with ``--browser``, also the time
   from navigation to a settled page in headless Chromium, second visit.
3. ``--browser``: resident memory (RSS) of the ``streamlit run app.py`` process after every
   page was visited.

Models: the zoo and ``runs/`` when they hold a cdlm model; ``--tiny`` (or when they don't)
trains the tiny test models (seconds) into a temporary zoo. Set OMP_NUM_THREADS=1 to
measure the 2-core budget machine's one-core case.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .serve import PAGE_PATHS, ROOT, rss_mb, streamlit_server, wait_settled

TINY = {"cdlm": (["batch_size=16", "latent_dim=16"], 20),
        "bridge": (["batch_size=16", "base_hidden=64", "base_layers=1", "n_latent=16",
                    "bridge_hidden=64", "bridge_layers=2", "n_projections=32"], 40)}
GAMMAS = [0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 0.8]


def tiny_zoo(root: Path) -> Path:
    from .. import zoo
    from ..train import train
    for method, (overrides, steps) in TINY.items():
        train(method, "mnist", "digits", steps, overrides=overrides, out=root / "runs" / method,
              eval_every=steps)
        zoo.add_run(root / "runs" / method, f"tiny-{method}", root=root / "zoo")
    return root / "zoo"


def slider_view_ms(path: str, n: int = 128) -> dict:
    """Milliseconds of one slider move's computation (``modulation_view`` + figures)."""
    import numpy as np

    from ..data import DomainPair
    from ..runs import load_run
    from . import figures as F
    from .modulation import encode_batch, modulation_view
    model, info = load_run(path)
    p = info["pair"]
    pair = DomainPair(p["source"], p["target"], p["split_seed"])
    rng = np.random.default_rng(0)
    i_s = rng.choice(len(pair.y_s_test), n, replace=False)
    i_t = rng.choice(len(pair.evaluation.y_test), n, replace=False)
    enc = encode_batch(model, pair.x_s_test[i_s], pair.evaluation.x_test[i_t],
                       pair.evaluation.y_test[i_t])
    times = []
    for g in [1.0] + GAMMAS:  # the first call warms up
        t = time.perf_counter()
        v = modulation_view(model, enc, g, 0.1, "full")
        F.image_rows_figure(v["images"]), F.modulation_scatter_figure(v["points"])
        F.kl_gap_figure(v["kl_s_t"], v["kl_st_ts"], v["predicted"], v["equation"])
        times.append(1000 * (time.perf_counter() - t))
    return {"median_ms": statistics.median(times[1:]), "max_ms": max(times[1:]),
            "latent_dim": int(info["config"]["latent_dim"]), "images": n}


def apptest_ms() -> dict:
    """AppTest: the modulation page's re-run per gamma1 move, and every page's warm run."""
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest
    set_log_level("error")  # bare-mode "missing ScriptRunContext" warnings: noise here
    out = {}
    at = AppTest.from_file(str(ROOT / "pages/modulation.py"), default_timeout=120).run()
    if at.exception or not at.slider:
        out["slider_rerun_ms"] = None
    else:
        times = []
        for g in GAMMAS:
            t = time.perf_counter()
            at.slider(key="modulation.gamma1").set_value(g).run()
            times.append(1000 * (time.perf_counter() - t))
        out["slider_rerun_ms"] = {"median": statistics.median(times), "max": max(times)}
    pages = {}
    for f in sorted((ROOT / "pages").glob("*.py")):
        AppTest.from_file(str(f), default_timeout=300).run()          # cold: fills the caches
        t = time.perf_counter()
        at = AppTest.from_file(str(f), default_timeout=300).run()     # warm
        pages[f.stem] = {"warm_s": time.perf_counter() - t, "exception": bool(at.exception)}
    out["pages"] = pages
    return out


def browser(env: dict, cwd: Path, log: Path) -> dict:
    """Headless Chromium: cold and warm time to a settled page, and the server's RSS."""
    from playwright.sync_api import sync_playwright
    out = {}
    with streamlit_server(cwd=cwd, env=env, log=log) as (url, proc), \
            sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        out["rss_mb_start"] = rss_mb(proc.pid)
        for visit in ("cold", "warm"):
            for path in PAGE_PATHS:
                t = time.perf_counter()
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                goto = time.perf_counter() - t
                out.setdefault(path or "home", {})[f"{visit}_s"] = goto + wait_settled(page)
        out["rss_mb_after_all_pages"] = rss_mb(proc.pid)
        b.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="measure on freshly trained tiny models")
    ap.add_argument("--browser", action="store_true", help="also time a real browser (chromium)")
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args(argv)
    from .models import available
    tmp = Path(tempfile.mkdtemp(prefix="dalab-budgets-"))
    cdlm = [m for m in available() if m["method"] == "cdlm"]
    if args.tiny or not cdlm:
        os.environ["DALAB_ZOO_DIR"] = str(tiny_zoo(tmp))
        os.chdir(tmp)  # no user runs: the tiny zoo only
        cdlm = [m for m in available() if m["method"] == "cdlm"]
    res = {"models": "tiny test models" if os.environ.get("DALAB_ZOO_DIR", "").startswith(
               str(tmp)) else "zoo/runs", "cdlm": cdlm[0]["label"],
           "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
           "slider_view": slider_view_ms(cdlm[0]["path"]), **apptest_ms()}
    if args.browser:
        res["browser"] = browser({k: os.environ[k] for k in ("DALAB_ZOO_DIR", "OMP_NUM_THREADS")
                                  if k in os.environ}, Path.cwd(), tmp / "streamlit.log")
    text = json.dumps(res, indent=2, default=float)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
