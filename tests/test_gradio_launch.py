"""`make run`'s launcher (dalab/ui/launch.py) and the Translate page that embeds the Gradio
demo: a taken port is reported before anything starts; both apps come up and both stop on
Ctrl-C; the page embeds the demo when it answers and says how to start it when not."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dalab.ui.serve import free_port
from dalab.ui.launch import browser_url, port_free

pytestmark = pytest.mark.server  # the tier (pyproject.toml markers; make test-fast leaves it out)

ROOT = Path(__file__).resolve().parents[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture
def taken_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_port_helpers(taken_port):
    assert not port_free("127.0.0.1", taken_port)
    assert port_free("127.0.0.1", free_port())
    assert browser_url("0.0.0.0", 7861) == "http://127.0.0.1:7861"


def test_launcher_reports_a_taken_port_and_starts_nothing(taken_port):
    r = subprocess.run([sys.executable, "-m", "dalab.ui.launch", "--streamlit-port",
                        str(free_port()), "--gradio-port", str(taken_port)],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"Gradio port {taken_port}" in r.stderr and "already in use" in r.stderr


def test_gradio_app_alone_reports_a_taken_port(taken_port, capsys):
    from dalab.ui.gradio_app import main
    assert main(["--port", str(taken_port)]) == 2
    assert "already in use" in capsys.readouterr().err


def test_launcher_starts_both_apps_and_ctrl_c_stops_both(tmp_path):
    s_port, g_port = free_port(), free_port()
    env = {**os.environ, "DALAB_ZOO_DIR": str(tmp_path / "zoo"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "dalab.ui.launch", "--streamlit-port",
                             str(s_port), "--gradio-port", str(g_port), "--runs-dir",
                             str(tmp_path / "runs")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    urls = [f"http://127.0.0.1:{s_port}", f"http://127.0.0.1:{g_port}"]
    try:
        deadline = time.monotonic() + 90
        while not all(_answers(u) for u in urls):
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the apps did not come up within 90 s"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)                 # what Ctrl-C sends
        assert proc.wait(timeout=30) == 0
        out = proc.stdout.read()
        assert "Ctrl-C stops both" in out and "stopped both apps" in out
        for port in (s_port, g_port):                   # both children gone
            for _ in range(20):
                if port_free("127.0.0.1", port):
                    break
                time.sleep(0.25)
            assert port_free("127.0.0.1", port)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.mark.parametrize("up", [False, True])
def test_translate_page_embeds_the_demo_or_explains(up, monkeypatch):
    server = None
    port = free_port()
    if up:
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                                   "127.0.0.1"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        for _ in range(40):
            if _answers(f"http://127.0.0.1:{port}"):
                break
            time.sleep(0.25)
    try:
        monkeypatch.setenv("DALAB_GRADIO_URL", f"http://127.0.0.1:{port}")
        at = AppTest.from_file(str(ROOT / "pages" / "translate.py"), default_timeout=20).run()
        assert not at.exception
        kinds = [e.type for e in at.main]
        if up:
            assert "iframe" in kinds and not at.warning
        else:
            assert "iframe" not in kinds
            assert "does not answer" in at.warning[0].value and "make run" in at.warning[0].value
            assert f"http://127.0.0.1:{port}" in at.markdown[0].value   # a link to it
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
