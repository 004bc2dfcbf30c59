"""One command for both apps (``make run``): the Streamlit lab and the Gradio translation demo,
each in its own process; Ctrl-C (or SIGTERM) stops both, and when one exits the other is
stopped too.

``python -m dalab.ui.launch [--host 127.0.0.1] [--streamlit-port 8501] [--gradio-port 7861]``;
the same settings come from ``$DALAB_HOST``, ``$DALAB_STREAMLIT_PORT``, ``$DALAB_GRADIO_PORT``.
A port that is taken is reported before anything starts. The Translate page finds the demo
through ``$DALAB_GRADIO_URL``, which this launcher sets.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .serve import STREAMLIT_FLAGS

ROOT = Path(__file__).resolve().parents[2]   # the repository: app.py lives there
STOP_GRACE_S = 10.0                          # SIGTERM first, SIGKILL after this long


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (it can be bound). SO_REUSEADDR as the
    servers themselves set it: connections closing (TIME_WAIT) do not make a port taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def browser_url(host: str, port: int) -> str:
    """The address a browser on this machine uses (a wildcard host means loopback here)."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


def commands(host: str, streamlit_port: int, gradio_port: int, runs_dir: str) -> dict:
    """``{name: argv}`` of the two servers."""
    py = sys.executable
    return {
        "streamlit": [py, "-m", "streamlit", "run", str(ROOT / "app.py"),
                      "--server.address", host, "--server.port", str(streamlit_port),
                      *STREAMLIT_FLAGS],  # = .streamlit/config.toml
        "gradio": [py, "-m", "dalab.ui.gradio_app", "--host", host, "--port",
                   str(gradio_port), "--runs-dir", runs_dir],
    }


def stop(procs: dict) -> None:
    """SIGTERM every child still running, then SIGKILL what outlives the grace period."""
    for p in procs.values():
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs.values():
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv=None) -> int:
    env = os.environ
    p = argparse.ArgumentParser(prog="python -m dalab.ui.launch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=env.get("DALAB_HOST", "127.0.0.1"),
                   help="interface both apps listen on (default 127.0.0.1)")
    p.add_argument("--streamlit-port", type=int,
                   default=int(env.get("DALAB_STREAMLIT_PORT", 8501)))
    p.add_argument("--gradio-port", type=int, default=int(env.get("DALAB_GRADIO_PORT", 7861)))
    p.add_argument("--runs-dir", default="runs", help="where the user's runs live")
    args = p.parse_args(argv)

    taken = [f"{name} port {port}" for name, port in
             (("Streamlit", args.streamlit_port), ("Gradio", args.gradio_port))
             if not port_free(args.host, port)]
    if args.streamlit_port == args.gradio_port:
        taken.append(f"both apps asked for port {args.gradio_port}")
    if taken:
        print(f"dalab: cannot start: {', '.join(taken)} on {args.host} already in use. Stop "
              "what runs there or choose other ports, e.g. `make run "
              "DALAB_STREAMLIT_PORT=8502 DALAB_GRADIO_PORT=7862` or "
              "`python -m dalab.ui.launch --streamlit-port 8502 --gradio-port 7862`.",
              file=sys.stderr)
        return 2

    child_env = {**env, "DALAB_GRADIO_URL": env.get("DALAB_GRADIO_URL") or browser_url(
        args.host, args.gradio_port), "GRADIO_ANALYTICS_ENABLED": "False"}
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    procs = {}
    for name, argv_ in commands(args.host, args.streamlit_port, args.gradio_port,
                                args.runs_dir).items():
        # own session: Ctrl-C reaches this launcher only, which stops both children in order;
        # the caller's folder stays the working directory (runs/ is looked up there)
        procs[name] = subprocess.Popen(argv_, env=child_env, start_new_session=True)
    print(f"dalab: Streamlit lab at {browser_url(args.host, args.streamlit_port)}, "
          f"translation demo at {browser_url(args.host, args.gradio_port)} "
          "(it loads models first). Ctrl-C stops both.", flush=True)
    code = 0
    try:
        while stopping["signal"] is None:
            ended = [(n, pr.returncode) for n, pr in procs.items() if pr.poll() is not None]
            if ended:
                name, code = ended[0]
                print(f"dalab: {name} exited with code {code}; stopping the other app.",
                      file=sys.stderr, flush=True)
                break
            time.sleep(0.3)
    finally:
        stop(procs)
    if stopping["signal"] is not None:
        print("dalab: stopped both apps.", flush=True)
        return 0
    return code or 1


if __name__ == "__main__":
    sys.exit(main())
