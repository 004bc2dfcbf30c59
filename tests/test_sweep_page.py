"""The Train page's sweep (issue 14): the form checked as `dalab sweep --grid` is, a cap on the
runs, one job per server found again after a reload, Stop, runs listed as they finish; Ray
replaced by an in-process stand-in (test_sweep.py and test_bench_ray.py start a real one)."""
import importlib.machinery
import sys
import threading
import time
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from dalab.data import DataError
from dalab.methods import ConfigError
from dalab.runs import read_run_info
from dalab.sweep import SweepError
from dalab.ui import trainer as T

ROOT = Path(__file__).resolve().parents[1]
K = "train.sweep."


class GatedRay:
    """Ray's calls that run_tasks makes, run in this process; while ``gate`` is clear no task
    finishes (``wait`` times out), so a sweep stays "running" until the test opens it."""
    __spec__ = importlib.machinery.ModuleSpec("ray", None)  # importable, for ray_missing()

    def __init__(self):
        self.gate = threading.Event()
        self.cancelled = []
        self._up = False

    def is_initialized(self):
        return self._up

    def init(self, **kw):
        self._up, self.init_kw = True, kw

    def shutdown(self):
        self._up = False

    def remote(self, num_cpus):
        return lambda fn: SimpleNamespace(remote=lambda **kw: partial(fn, **kw))

    def wait(self, refs, num_returns, timeout=None):
        if not self.gate.wait(timeout):
            return [], refs
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        return ref()

    def cancel(self, ref, force=False):
        self.cancelled.append(ref)


@pytest.fixture
def ray(monkeypatch):
    fake = GatedRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    return fake


def _wait(pred, timeout=60.0):
    t0 = time.time()
    while not pred():
        assert time.time() - t0 < timeout, "timed out"
        time.sleep(0.05)


def test_the_form_is_checked_like_dalab_sweep_and_capped():
    plan = partial(T.sweep_plan, "dann", "ellipse-1", "ellipse-2")
    assert plan(["lr=0.005,0.02", " "], 1) == {"lr": ["0.005", "0.02"]}
    assert plan(["lr=0.005,0.02", "lambda_w=0.3,1"], 2) == {"lr": ["0.005", "0.02"],
                                                             "lambda_w": ["0.3", "1"]}
    for items, seeds, error, says in (
            (["", ""], 1, SweepError, "at least one config key"),
            (["lr=0.1,0.2,0.3", "lambda_w=1,2,3,4"], 1, SweepError,
             "3 x 4 values x 1 seed(s) = 12 runs: the page launches at most 9"),
            (["lr=0.1,0.2"], 5, SweepError, "= 10 runs"),
            (["lr"], 1, SweepError, "expected KEY=V1,V2"),
            (["lr=0.1,0.1"], 1, SweepError, "repeated"),
            (["lr=0.1", "lr=0.2"], 1, SweepError, "given twice"),
            (["nope=1"], 1, ConfigError, "lambda_w"),          # lists the valid keys
            (["lr=fast"], 1, ConfigError, "not a valid float")):
        with pytest.raises(error, match=says.replace("(", r"\(").replace(")", r"\)")):
            plan(items, seeds)
    with pytest.raises(DataError):
        T.sweep_plan("dann", "ellipse-1", "nope", ["lr=0.1"], 1)
    assert T.sweep_folder("dann", "mnist", "digits", {"lr": [], "lambda_w": []}, 100) == \
        Path("runs/sweep/dann_mnist_to_digits_lr,lambda_w_100steps")
    assert T.sweep_cpus(2) == 1 and T.sweep_cpus(1) == 1 and T.sweep_cpus(16) == 15


def test_a_sweep_job_lists_its_runs_as_they_finish_and_blocks_a_second_job(
        ray, tmp_path, train_jobs):
    out = tmp_path / "sw"
    job = T.start_sweep("dann", "ellipse-1", "ellipse-2", {"lr": ["0.005", "0.02"]}, seeds=1,
                        steps=10, num_cpus=1, out=out)
    assert T.current_job() is job and job.active
    with pytest.raises(T.BusyError, match="A sweep is training in this server"):
        T.start_job("dann", "ellipse-1", "ellipse-2", 10, out=tmp_path / "run")
    view = {}
    assert T.sweep_view(job, view)["rows"] == []     # nothing reported yet
    ray.gate.set()
    job.join(60)
    assert job.state == "finished" and ray.init_kw["num_cpus"] == 1
    got = T.sweep_view(job, view)
    assert got["status"] == "finished: 2 / 2 runs done" and got["progress"] == 1.0
    assert [r["lr"] for r in got["rows"]] == ["0.005", "0.02"]
    for r in got["rows"]:
        assert r["status"] == "finished" and isinstance(r["SND"], float)
    assert got["rows"][0]["target test"] == read_run_info(
        out / "lr=0.005_seed0")["accuracy"]["target_test"]
    assert T.sweep_view(job, view)["rows"] is got["rows"]  # nothing new: not read again
    again = T.start_sweep("dann", "ellipse-1", "ellipse-2", {"lr": ["0.005", "0.02"]}, seeds=1,
                          steps=10, num_cpus=1, out=out)
    again.join(60)
    assert [d["action"] for d in again.done] == ["skipped", "skipped"]


def _sweep_page():
    at = AppTest.from_file(str(ROOT / "pages/train.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    at.radio(key="train.mode").set_value("Sweep").run()
    assert not at.exception, at.exception
    return at


def _launch(at):
    return next((b for b in at.get("form_submit_button") if b.label == "Launch"), None)


def test_train_page_launches_a_sweep_reattaches_stops_and_lists_the_runs(
        ray, tmp_path, monkeypatch, train_jobs):
    monkeypatch.chdir(tmp_path)
    at = _sweep_page()
    at.selectbox(key=K + "source").set_value("ellipse-1")
    at.selectbox(key=K + "target").set_value("ellipse-2")
    at.text_input(key=K + "key1").set_value("lr=0.1,0.2,0.3,0.4")
    at.text_input(key=K + "key2").set_value("lambda_w=1,3,10")
    _launch(at).click().run()
    assert "= 12 runs: the page launches at most 9" in at.error[0].value
    assert T.current_job() is None
    at.text_input(key=K + "key1").set_value("lr=0.005,0.02")
    at.text_input(key=K + "key2").set_value("")
    at.number_input(key=K + "steps").set_value(10)
    _launch(at).click().run()
    assert not at.exception and not at.error, at.exception or at.error[0].value
    job = T.current_job()
    assert isinstance(job, T.SweepJob) and job.state == "running"
    assert _launch(at) is None  # the running sweep, not the form

    reloaded = AppTest.from_file(str(ROOT / "pages/train.py"), default_timeout=60).run()
    assert not reloaded.exception, reloaded.exception
    assert reloaded.radio(key="train.mode").value == "Sweep" and _launch(reloaded) is None
    assert any(str(job.out) in m.value for m in reloaded.markdown)
    assert reloaded.get("progress")[0].proto.text == "running: 0 / 2 runs done"
    reloaded.button(key=K + "stop").click().run()
    job.join(60)
    assert job.state == "stopped" and len(ray.cancelled) == 2
    reloaded.run()
    assert _launch(reloaded) is not None  # the form is back
    assert any("Sweep stopped" in s.value for s in reloaded.success)

    ray.gate.set()
    at.run()  # the first tab: its form is back, holding what it launched
    assert at.text_input(key=K + "key1").value == "lr=0.005,0.02"
    _launch(at).click().run()             # the same form again: the same sweep folder
    job2 = T.current_job() or T.get_job(job.out)
    assert job2 is not job and job2.out == job.out
    job2.join(60)
    at.run()
    assert not at.exception, at.exception
    (table,) = [d for d in at.dataframe if "target test" in d.value.columns]
    assert list(table.value["lr"]) == ["0.005", "0.02"]
    assert all(table.value["status"] == "finished")
    assert any("Sweep finished" in s.value for s in at.success)
    assert (tmp_path / job.out / "sweep.json").is_file()  # the Results page lists it
    assert str(job.out).startswith("runs/sweep/dann_ellipse-1_to_ellipse-2_lr_10steps")


def test_without_ray_the_page_says_how_to_install_it(tmp_path, monkeypatch, train_jobs):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)
    at = _sweep_page()
    assert any("pip install 'dalab[sweep]'" in i.value for i in at.info)
    assert _launch(at) is None
