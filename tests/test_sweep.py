"""dalab sweep: DANN on the 2-D ellipse pair over a 2x1 grid, 20 steps, on a 2-CPU Ray."""
import math
import os
import sys
import threading
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest

from dalab import sweep
from dalab.cli import main
from dalab.runs import read_run_info
from dalab.train import train

GRID = ["--grid", "lr=0.005,0.02", "--grid", "lambda_w=1"]
ARGS = ["sweep", "--method", "dann", "--source", "ellipse-1", "--target", "ellipse-2",
        *GRID, "--steps", "20"]
ROOT = Path(__file__).resolve().parents[1]
NAMES = ["lr=0.005,lambda_w=1_seed0", "lr=0.02,lambda_w=1_seed0"]


@pytest.fixture
def ray_session():
    """A 2-CPU local Ray for the test, shut down afterwards whatever happens."""
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


class FakeRay:
    """Ray's calls that run_sweep makes, run in this process one after another."""

    def __init__(self):
        self.calls = []

    def is_initialized(self):
        return "init" in self.calls and "shutdown" not in self.calls

    def init(self, **kw):
        self.calls.append("init")
        self.init_kw = kw

    def shutdown(self):
        self.calls.append("shutdown")

    def remote(self, num_cpus):
        return lambda fn: SimpleNamespace(remote=lambda *a, **kw: partial(fn, *a, **kw))  # a "ref"

    def wait(self, refs, num_returns, timeout=None):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        return ref()


@pytest.mark.ray
def test_sweep_trains_each_configuration_then_skips_them(ray_session, tmp_path, capsys,
                                                         monkeypatch):
    out = tmp_path / "runs" / "sweep" / "dann_ellipse-1_to_ellipse-2"
    assert main([*ARGS, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count(": trained, target") == 2
    for name, lr in zip(NAMES, (0.005, 0.02)):
        info = read_run_info(out / name)
        assert info["status"] == "finished" and info["steps"] == 20
        assert info["config"]["lr"] == lr and info["config"]["lambda_w"] == 1.0
        assert info["seed"] == 0 and info["fit"]["checkpoint_every"] == 2  # resumable
    assert "| 0.005 | 1 | 0 | finished |" in text and "| 0.02 | 1 | 0 | finished |" in text
    assert ray_session.is_initialized()  # the caller's session is used and left open

    rows = sweep.sweep_rows(out)
    assert [r["name"] for r in rows] == NAMES
    assert [r["values"] for r in rows] == [{"lr": "0.005", "lambda_w": "1"},
                                           {"lr": "0.02", "lambda_w": "1"}]
    for r in rows:
        assert r["target_test"] == read_run_info(out / r["name"])["accuracy"]["target_test"]
        assert all(isinstance(r[n], float) for n in sweep.SCORE_NAMES)

    # resumable: a second call trains nothing and leaves the weights alone
    weights = {p: p.stat().st_mtime_ns for p in out.glob("*/model.safetensors")}
    assert main([*ARGS, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("already there, skipped") == 2 and "trained" not in text
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/model.safetensors")} == weights

    # the Results page lists it: the table and, for two keys, the heatmap
    from streamlit.testing.v1 import AppTest
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(str(ROOT / "pages/results.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    (table,) = [d for d in at.dataframe if "target test" in d.value.columns]
    assert list(table.value["lr"]) == ["0.005", "0.02"]
    assert list(table.value["target test"]) == [r["target_test"] for r in rows]
    assert "sweep_heatmap" in {c.key for c in at.get("plotly_chart")}


def test_an_interrupted_run_is_resumed(tmp_path, monkeypatch):
    """A run stopped half-way (a checkpoint, status "stopped") is continued, not restarted;
    with no Ray session open, run_sweep starts one on every core and shuts it down (Ray
    replaced by an in-process stand-in: one real Ray start per test file is enough)."""
    ray = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", ray)
    out = tmp_path / "sw"
    stop = threading.Event()
    train("dann", "ellipse-1", "ellipse-2", 20, overrides=["lr=0.005", "lambda_w=1"], seed=0,
          out=out / NAMES[0], checkpoint_every=2, stop_event=stop,
          callbacks=[lambda ev: ev.step >= 6 and stop.set()])
    assert read_run_info(out / NAMES[0])["status"] == "stopped"
    lines = []
    done = sweep.run_sweep("dann", "ellipse-1", "ellipse-2", {"lr": ["0.005"], "lambda_w": ["1"]},
                           steps=20, out=out, log=lines.append)
    assert ray.calls == ["init", "shutdown"] and ray.init_kw["num_cpus"] == os.cpu_count()
    (run,) = done["runs"]
    assert run["action"] == "resumed" and run["status"] == "finished", lines
    info = read_run_info(out / NAMES[0])
    assert info["status"] == "finished" and info["steps"] == 20
    assert (out / NAMES[0] / "selection.json").is_file()  # scored in the task, not the summary


def test_missing_ray_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    assert main([*ARGS, "--out", str(tmp_path / "sw")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'dalab[sweep]'" in err and "requirements-sweep.txt" in err
    assert not list((tmp_path / "sw").glob("*_seed0"))  # nothing trained


def test_bad_grids_fail_before_anything_runs(tmp_path, capsys):
    for grid, says in ((["--grid", "lr"], "expected KEY=V1,V2"),
                       (["--grid", "lr=0.1,"], "expected KEY=V1,V2"),
                       (["--grid", "lr=0.1", "--grid", "lr=0.2"], "given twice"),
                       (["--grid", "lr=0.1,0.1"], "repeated"),
                       (["--grid", "nope=1"], "lambda_w"),        # lists the valid keys
                       (["--grid", "lr=fast"], "not a valid float")):
        assert main(["sweep", "--method", "dann", "--source", "ellipse-1", "--target",
                     "ellipse-2", *grid, "--out", str(tmp_path / "sw")]) == 2
        assert says in capsys.readouterr().err, grid
    assert not (tmp_path / "sw").exists()


def test_a_sweep_folder_takes_more_values_but_not_another_sweep():
    old = {"format": sweep.FORMAT, "method": "dann", "source": "a", "target": "b",
           "grid": {"lr": ["0.1"], "lambda_w": ["1"]}, "seeds": 1, "steps": 20, "ema": None,
           "augment": False}
    merged = sweep.merge_spec(old, {**old, "grid": {"lr": ["0.2", "0.1"], "lambda_w": ["3"]},
                                    "seeds": 2})
    assert merged["grid"] == {"lr": ["0.1", "0.2"], "lambda_w": ["1", "3"]}
    assert merged["seeds"] == 2
    for change, says in (({"steps": 30}, "steps=20"), ({"ema": 0.99}, "ema=None"),
                         ({"grid": {"lr": ["0.1"]}}, "over lr, lambda_w, not lr")):
        with pytest.raises(sweep.SweepError, match=says):
            sweep.merge_spec(old, {**old, **change})


def _row(lr, w, seed, test, entropy):
    r = {"name": sweep.run_name({"lr": lr, "w": w}, seed), "values": {"lr": lr, "w": w},
         "seed": seed, "status": "finished", "target_test": test, "held_out": test}
    return {**r, **dict.fromkeys(sweep.SCORE_NAMES, 0.5), "prediction_entropy": entropy}


def test_summaries_of_a_two_key_grid():
    from dalab.ui.figures import sweep_heatmap_figure
    spec = {"grid": {"lr": ["0.1", "0.2"], "w": ["1", "3"]}, "seeds": 2}
    rows = [_row("0.1", "1", 0, 0.6, 0.3), _row("0.1", "1", 1, 0.8, 0.2),
            _row("0.1", "3", 0, 0.9, 0.9), _row("0.2", "1", 0, 0.5, 0.1)]   # (0.2, 3): none
    ys, xs, z = sweep.grid_means(rows, spec, "target_test")
    assert (ys, xs) == (["0.1", "0.2"], ["1", "3"])
    assert z[0] == pytest.approx([0.7, 0.9]) and z[1][0] == 0.5 and math.isnan(z[1][1])
    chosen = sweep.picks(rows)
    assert chosen["prediction_entropy"]["name"] == "lr=0.2,w=1_seed0"  # lower is better
    assert chosen["oracle"]["name"] == "lr=0.1,w=3_seed0"
    md = sweep.sweep_markdown(rows, spec)
    assert md.startswith("| lr | w | seed | status | entropy | SND | IWCV | DEV | target test |")
    assert "| 0.1 | 3 | 0 | finished | 0.9000 | 0.5000 | 0.5000 | 0.5000 | 0.9000 |" in md
    assert "- entropy pick: lr=0.2,w=1_seed0, target test 0.5000" in md
    assert sweep.table_rows(rows)[2] == {"lr": "0.1", "w": "3", "seed": 0, "status": "finished",
                                         "entropy": 0.9, "SND": 0.5, "IWCV": 0.5, "DEV": 0.5,
                                         "target test": 0.9}
    fig = sweep_heatmap_figure(rows, spec, "prediction_entropy")
    score, test = fig.data
    assert score.z[0] == pytest.approx((0.25, 0.9)) and test.z[0] == pytest.approx((0.7, 0.9))
    assert list(test.y) == ["0.1", "0.2"] and list(test.x) == ["1", "3"]
    assert "lower is better" in fig.layout.annotations[0].text
