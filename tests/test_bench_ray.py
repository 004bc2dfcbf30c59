"""dalab bench --ray: the benchmark's (method, pair, seed) runs as dalab sweep's Ray tasks, on
a 2-CPU local Ray, the ellipse pair and 10 steps; the serial path's skip/resume rule kept."""
import pytest
import json
import os
import socket
import sys
import threading

from dalab import sweep
from dalab.bench import _write_recipe, run_name, summarize
from dalab.recipes import adhoc
from dalab.cli import main
from dalab.runs import CONFIG, read_run_info
from dalab.train import train

pytestmark = pytest.mark.ray  # the tier (pyproject.toml markers; make test-fast leaves it out)

PAIR = ["--pairs", "ellipse-1:ellipse-2"]
ARGS = ["bench", "--methods", "target_only,dann", *PAIR, "--seeds", "2",
        "--steps", "10", "--no-peers", "--docs", ""]


def _stopped_run(run_dir, method, seed):
    """A run stopped half-way with a checkpoint (a killed benchmark): to be resumed."""
    stop = threading.Event()
    _write_recipe(run_dir, adhoc(method, 10))  # as run_bench does before training
    train(method, "ellipse-1", "ellipse-2", 10, seed=seed, out=run_dir, checkpoint_every=1,
          stop_event=stop, callbacks=[lambda ev: ev.step >= 4 and stop.set()])
    assert read_run_info(run_dir)["status"] == "stopped"


def test_bench_on_ray_trains_resumes_and_skips_like_the_serial_path(tmp_path, capsys,
                                                                     monkeypatch):
    out = tmp_path / "runs"
    _stopped_run(out / run_name("dann", "ellipse-1", "ellipse-2", 0), "dann", 0)
    # a run another process is training (its pid is alive on this host): left alone
    busy = out / run_name("target_only", "ellipse-1", "ellipse-2", 1)
    _stopped_run(busy, "target_only", 1)
    info = json.loads((busy / CONFIG).read_text())
    info.update(status="running", pid=os.getppid(), host=socket.gethostname())
    (busy / CONFIG).write_text(json.dumps(info))
    tasks = []
    real = sweep.run_tasks
    monkeypatch.setattr(sweep, "run_tasks",
                        lambda jobs, **kw: tasks.extend(jobs) or real(jobs, **kw))

    assert main([*ARGS, "--ray", "--cpus", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "target_only ellipse-1->ellipse-2 seed 1: being trained by another process" in text
    assert "3 run(s) to Ray (2 local CPUs)" in text
    assert text.count(": trained, target") == 2 and text.count(": resumed, target") == 1
    assert {t["args"]["device"] for t in tasks} == {"auto"}
    for m in ("target_only", "dann"):
        for k in (0, 1):
            run = out / run_name(m, "ellipse-1", "ellipse-2", k)
            if run == busy:
                continue
            info = read_run_info(run)
            assert info["status"] == "finished" and info["steps"] == 10 and info["seed"] == k
            assert info["fit"]["checkpoint_every"] == 1  # resumable, as the serial path's
            # scored in the task for the selection table, except the labelled upper bound
            assert (run / "selection.json").is_file() == (m != "target_only")
    rows = summarize(out)
    assert {r["method"]: r["seeds"] for r in rows} == {"target_only": 1, "dann": 2}
    # a second call sends nothing to Ray and leaves the weights alone
    weights = {p: p.stat().st_mtime_ns for p in out.glob("*/*/*/model.safetensors")}
    tasks.clear()
    assert main([*ARGS, "--ray", "--cpus", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("already there, skipped") == 3 and not tasks and "to Ray" not in text
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/*/*/model.safetensors")} == weights


def test_bench_ray_options_are_checked_before_anything_trains(tmp_path, capsys, monkeypatch):
    out = tmp_path / "runs"
    for extra, says in ((["--cpus", "2"], "go with --ray"),
                        (["--address", "auto"], "go with --ray"),
                        (["--ray", "--device", "cuda"], "Ray tasks see no GPU")):
        assert main([*ARGS, *extra, "--out", str(out)]) == 2
        assert says in capsys.readouterr().err, extra
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    assert main([*ARGS, "--ray", "--out", str(out)]) == 2
    assert "pip install 'dalab[sweep]'" in capsys.readouterr().err
    assert not out.exists()  # nothing trained
