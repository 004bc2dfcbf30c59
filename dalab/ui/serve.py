"""Start ``streamlit run app.py`` as a subprocess on a free local port (for the browser smoke
test and the budget script). No Streamlit import: the server runs in its own process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

# The settings of .streamlit/config.toml, repeated as flags because that file is read only
# from the working directory. showErrorDetails "type": a visitor sees the exception's type and
# a generic message; the message, trace and server paths go to the server's log (issue 24).
STREAMLIT_FLAGS = ("--server.headless", "true", "--server.fileWatcherType", "none",
                   "--browser.gatherUsageStats", "false", "--client.showErrorDetails", "type")

ROOT = Path(__file__).resolve().parents[2]
# the URL path of every page: st.navigation names a page after its file (home is "/")
PAGE_PATHS = ["", "datasets", "kl_gap", "playground", "latent", "alignment", "modulation", "bridge", "train",
              "results", "translate"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux ``/proc``; NaN elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@contextmanager
def streamlit_server(cwd: str | Path | None = None, env: dict | None = None,
                     timeout: float = 60.0, log: str | Path | None = None):
    """Yield ``(url, process)`` of a headless app server; stopped (by its pid) on exit.
    ``cwd``: where ``runs/`` is looked up (default: the repository); ``env``: extra variables
    (e.g. ``DALAB_ZOO_DIR``). The flags repeat ``.streamlit/config.toml`` because that file is
    only read from the working directory."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", *STREAMLIT_FLAGS]
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=str(cwd or ROOT), env={**os.environ, **(env or {})},
                            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start (exit code {proc.poll()}); "
                                   f"see {log or 'its output'}")
            time.sleep(0.3)
        yield url, proc
    finally:
        stop_process(proc)
        if log:
            out.close()


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Terminate a server process, killing it when it has not exited after ``grace_s``."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_settled(page, timeout_s: float = 120.0, quiet_s: float = 0.5) -> float:
    """Wait until a Playwright ``page`` shows the app and its script has finished: Streamlit's
    root element reports ``data-test-script-state="notRunning"`` (what Streamlit's own e2e tests
    wait for) with page content and no spinner, for ``quiet_s`` seconds in a row. Returns the seconds from the
    call to the start of that calm (the time to a settled page)."""
    t0 = time.perf_counter()
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    done = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    content = '[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]'
    quiet_since = None
    while time.perf_counter() - t0 < timeout_s:
        # "notRunning" also holds for a moment before the first run starts: require content
        calm = (page.locator(done).count() > 0
                and page.locator('[data-testid="stSpinner"]').count() == 0
                and page.locator(content).count() > 0)
        if not calm:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since >= quiet_s:
            return quiet_since - t0
        time.sleep(0.05)
    raise TimeoutError(f"page {page.url} still running after {timeout_s} s")
