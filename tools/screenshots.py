"""One screenshot per page of the app (issue 14): ``docs/figures/app/<page>.png``.

Starts the app headless on a free loopback port (``dalab.ui.serve.streamlit_server``, as
``tests/test_browser.py`` does), opens every page in headless Chromium at 1280x720 (device
scale 1), waits until the page has settled (script not running, no spinner, no "Running..."
status widget; up to ``--timeout`` seconds a page), on Alignment presses "Compute" and waits
again, and saves a full-page PNG.

    OMP_NUM_THREADS=1 python tools/screenshots.py [--out docs/figures/app] [--timeout 60]

The models are the shipped zoo unless ``DALAB_ZOO_DIR`` says otherwise.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dalab.ui.serve import free_port, stop_process, streamlit_server, wait_settled  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# the file name and the URL path of each page (st.navigation names a page after its file)
PAGES = [("home", ""), ("datasets", "datasets"), ("latent", "latent"),
         ("alignment", "alignment"), ("modulation", "modulation"), ("kl_gap", "kl_gap"),
         ("bridge", "bridge"), ("translate", "translate"), ("results", "results"),
         ("train", "train")]
VIEWPORT = {"width": 1280, "height": 720}
MAX_HEIGHT = 6000  # px: a taller page is cut there
# Streamlit scrolls inside its main container, not the document, so Playwright's full_page
# alone gives the viewport: the page's height is read from the scrolling element instead
CONTENT_HEIGHT = """() => Math.max(document.documentElement.scrollHeight,
  ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
     .map(e => e.scrollHeight))"""


def settle(page, timeout_s: float) -> None:
    """``wait_settled`` plus: Streamlit's "Running..." status widget has gone."""
    t0 = time.perf_counter()
    wait_settled(page, timeout_s=timeout_s)
    status = page.locator('[data-testid="stStatusWidget"]')
    while status.count() and "Running" in status.first.inner_text():
        if time.perf_counter() - t0 > timeout_s:
            raise TimeoutError(f"{page.url}: still 'Running...' after {timeout_s} s")
        time.sleep(0.1)
    time.sleep(0.5)  # let the charts finish drawing


@contextmanager
def gradio_demo(cwd: Path, log: Path, timeout_s: float = 120.0):
    """The Translate page's Gradio demo on a free loopback port; yields its URL (or None when
    it did not answer in time: the page then shows its "does not answer" note)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dalab.ui.gradio_app", "--host",
                                 "127.0.0.1", "--port", str(port)], cwd=str(cwd),
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + timeout_s
            while proc.poll() is None and time.time() < deadline:
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    time.sleep(0.5)
            ok = proc.poll() is None and time.time() < deadline
            print(f"gradio demo: {url if ok else f'did not answer, see {log}'}", flush=True)
            yield url if ok else None
        finally:
            stop_process(proc)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "app")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds a page may take")
    ap.add_argument("--pages", nargs="*", help="only these pages (file names)")
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    tmp = Path(tempfile.mkdtemp(prefix="dalab-screenshots-"))  # an empty runs/: the zoo only
    failures, t_all = [], time.perf_counter()
    with gradio_demo(tmp, tmp / "gradio.log") as gradio_url:
        if gradio_url:
            env["DALAB_GRADIO_URL"] = gradio_url
        shoot(args, env, tmp, failures)
    print(f"total {time.perf_counter() - t_all:.1f} s (logs in {tmp})")
    for f in failures:
        print("FAILED", f, file=sys.stderr)
    return 1 if failures else 0


def shoot(args, env, tmp, failures):
    from playwright.sync_api import sync_playwright
    with streamlit_server(cwd=tmp, env=env, log=tmp / "streamlit.log") as (url, _proc), \
            sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else None, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            for name, path in PAGES:
                if args.pages and name not in args.pages:
                    continue
                t0 = time.perf_counter()
                try:
                    page.goto(f"{url}/{path}", wait_until="domcontentloaded",
                              timeout=args.timeout * 1000)
                    settle(page, args.timeout)
                    if name == "alignment":
                        button = page.get_by_role("button", name="Compute")
                        if button.count():
                            button.first.click()
                            time.sleep(1.0)  # let the rerun start
                            settle(page, args.timeout)
                    errors = page.locator('[data-testid="stException"]')
                    if errors.count():
                        failures.append(f"{name}: {errors.first.inner_text()[:300]}")
                except Exception as exc:  # noqa: BLE001 - record and go on with the others
                    failures.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                shot = args.out / f"{name}.png"
                page.mouse.move(0, 0)  # no tooltip of a hovered button in the picture
                try:
                    height = min(MAX_HEIGHT, max(VIEWPORT["height"],
                                                 int(page.evaluate(CONTENT_HEIGHT))))
                    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
                    time.sleep(1.5)  # charts redraw at the new size
                    page.screenshot(path=str(shot), full_page=True)
                finally:
                    page.set_viewport_size(VIEWPORT)
                print(f"{shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}: "
                      f"{time.perf_counter() - t0:.1f} s, {shot.stat().st_size // 1024} KiB",
                      flush=True)
        finally:
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
