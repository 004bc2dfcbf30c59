"""Long runs survive: checkpoints, bit-exact resume, metrics.csv, and what a kill -9 leaves."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import dalab
from dalab import bench, recipes, runs, zoo
from dalab.cli import main
from dalab.train import fit, prepare, resume, train
from dalab.ui.models import available

SMALL = {"dann": ["batch_size=16"], "dfa_mcd": ["batch_size=16", "num_k=2"],
         "bridge": ["batch_size=16", "base_hidden=64", "bridge_hidden=64"],
         "lstnet": ["batch_size=8", "width=0.0625"]}


class _Died(Exception):
    """Raised from a callback right after a checkpoint: the process 'dies' there."""


def _die_after_checkpoint(at):
    def cb(ev):
        if ev.kind == "checkpoint" and ev.step == at:
            raise _Died
    return cb


@pytest.mark.slow
@pytest.mark.parametrize("method,steps", [("dann", 100), ("dfa_mcd", 20), ("bridge", 40),
                                          ("lstnet", 6)])
def test_two_halves_with_a_resume_equal_one_run_bit_for_bit(tmp_path, method, steps):
    """2 x steps/2 with a resume in between ends with the weights, optimizer moments and
    history of one uninterrupted run of the same seed (bridge: the resume falls on its switch
    from the base VAEs to the bridge)."""
    over = SMALL[method]
    m1, pair = prepare(method, "mnist", "digits", overrides=over, seed=0)
    r1 = fit(m1, pair, steps, seed=0, eval_every=steps // 4, out=tmp_path / "one",
             device="cpu", keep_checkpoints=False)
    m2, _ = prepare(method, "mnist", "digits", overrides=over, seed=0)
    with pytest.raises(_Died):
        fit(m2, pair, steps, seed=0, eval_every=steps // 4, out=tmp_path / "two",
            checkpoint_every=steps // 2, callbacks=[_die_after_checkpoint(steps // 2)],
            device="cpu")
    info = runs.read_run_info(tmp_path / "two")
    assert info["status"] == "running" and runs.run_status(info) == "incomplete"
    assert info["checkpoint"]["step"] == steps // 2
    m3, r3, run_dir = resume(tmp_path / "two", device="cpu")
    assert r3.status == "finished" and r3.steps_done == steps and run_dir == tmp_path / "two"
    s1, s3 = m1.state_dict(), m3.state_dict()
    assert s1.keys() == s3.keys()
    for k in s1:
        assert torch.equal(s1[k], s3[k]), k
    for name, o1 in m1.optimizers.items():
        st1, st3 = o1.state_dict()["state"], m3.optimizers[name].state_dict()["state"]
        for pid in st1:
            for key, v in st1[pid].items():
                if torch.is_tensor(v):
                    assert torch.equal(v, st3[pid][key]), (name, pid, key)
    strip = lambda h: [{k: v for k, v in r.items() if k != "time_s"} for r in h]  # noqa: E731
    assert strip(r1.history) == strip(r3.history)
    # the resumed run's metrics.csv holds each step once, as the uninterrupted one
    assert [r["step"] for r in runs.read_metrics(tmp_path / "two")] == list(range(1, steps + 1))
    assert runs.read_metrics(tmp_path / "two") == runs.read_metrics(tmp_path / "one")
    final = runs.read_run_info(tmp_path / "two")
    assert final["status"] == "finished" and final["weights"]["file"] == runs.WEIGHTS
    assert not (tmp_path / "two" / runs.CHECKPOINTS).exists()  # removed once finished


def test_resume_refuses_another_method_pair_or_length(tmp_path):
    m, pair = prepare("dann", "ellipse-1", "ellipse-2", seed=0)
    with pytest.raises(_Died):
        fit(m, pair, 20, out=tmp_path / "r", checkpoint_every=10,
            callbacks=[_die_after_checkpoint(10)])
    other, _ = prepare("dann", "ellipse-1", "ellipse-2", overrides=["lr=0.5"])
    with pytest.raises(ValueError, match="config"):
        fit(other, pair, resume_from=tmp_path / "r")
    same, _ = prepare("dann", "ellipse-1", "ellipse-2")
    with pytest.raises(ValueError, match="planned for 20 steps"):
        fit(same, pair, 30, resume_from=tmp_path / "r")
    _, swapped = prepare("dann", "ellipse-2", "ellipse-1")
    with pytest.raises(ValueError, match="trained on ellipse-1->ellipse-2"):
        fit(same, swapped, resume_from=tmp_path / "r")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 2)).astype(np.float32), np.arange(40) % 2
    a = dalab.pair_from_arrays(x, y, x + 1)
    b = dalab.pair_from_arrays(x, y, x + 2)
    with pytest.raises(_Died):
        fit(same, a, 20, out=tmp_path / "arr", checkpoint_every=10,
            callbacks=[_die_after_checkpoint(10)])
    with pytest.raises(ValueError, match="fingerprint"):
        fit(same, b, resume_from=tmp_path / "arr")
    with pytest.raises(ValueError, match="needs a run directory"):
        fit(same, pair, 5, checkpoint_every=2)


def test_metrics_csv_streams_every_step_and_widens_for_a_second_phase(tmp_path):
    """The bridge reports other metrics in its second phase: the file gains their columns."""
    _, res, run_dir = train("bridge", "ellipse-1", "ellipse-2", 12, out=tmp_path / "b",
                            overrides=["batch_size=16", "bridge_hidden=16"])
    rows = list(csv.DictReader(open(run_dir / runs.METRICS)))
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    assert {"loss", "swd", "recon_s"} <= set(rows[0])
    assert all(float(r["loss"]) == float(r["loss"]) for r in rows)  # every step has a loss


def test_cli_train_refuses_to_overwrite_a_run_and_resumes_one(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--method", "dann", "--source", "ellipse-1", "--target", "ellipse-2",
            "--steps", "20", "--out", str(out), "-q"]
    assert main(args) == 0
    before = (out / runs.WEIGHTS).read_bytes()
    assert main(args) == 2
    assert "already there" in capsys.readouterr().err and (out / runs.WEIGHTS).read_bytes() == before
    assert main(args + ["--force"]) == 0
    assert main(["train", "--resume", str(out), "-q"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert main(args[:-3] + ["--out", str(not_a_dir), "-q"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["train", "--source", "mnist", "-q"]) == 2
    assert "--method" in capsys.readouterr().err


_TRAINER = """
import sys
from dalab.train import train
train("dann", "mnist", "digits", 240, seed=0, out=sys.argv[1], checkpoint_every=20,
      eval_every=120, device="cpu", overrides=["batch_size=32"])
"""


@pytest.mark.slow
def test_kill_9_mid_run_leaves_a_run_everything_can_read_and_resume(tmp_path, capsys):
    bench_dir = tmp_path / "bench"
    run_dir = bench_dir / bench.run_name("dann", "mnist", "digits", 0)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _TRAINER, str(run_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                info = json.loads((run_dir / runs.CONFIG).read_text())
                if info.get("checkpoint", {}).get("step", 0) >= 60:
                    break
            except (OSError, ValueError):
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail("no checkpoint at step 60 within 120 s")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    info = runs.read_run_info(run_dir)
    assert runs.run_status(info) == "incomplete" and 60 <= info["steps"] < 240
    # eval: loads the checkpoint's weights and says the run is incomplete
    assert main(["eval", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "status incomplete" in out and "--resume" in out
    # the benchmark summary leaves it out of the table and lists it
    assert bench.summarize(bench_dir) == []
    assert bench.incomplete_runs(bench_dir) == [
        f"{bench.run_name('dann', 'mnist', 'digits', 0)} (incomplete)"]
    # the zoo does not take it
    assert zoo.build_from_bench(bench_dir, root=tmp_path / "zoo", log=lambda s: None) == []
    # the app's model list shows it, flagged
    [entry] = [e for e in available(tmp_path) if e["origin"] == "run"]
    assert entry["status"] == "incomplete" and "incomplete, step" in entry["label"]
    # and it resumes to the planned 240 steps
    _, res, _ = resume(run_dir, device="cpu")
    assert res.status == "finished" and res.steps_done == 240
    assert [r["step"] for r in runs.read_metrics(run_dir)] == list(range(1, 241))
    assert bench.summarize(bench_dir)[0]["seeds"] == 1


def test_bench_resumes_a_half_finished_run(tmp_path):
    """run_bench continues an incomplete run instead of training it again from step 0."""
    run_dir = tmp_path / bench.run_name("dann", "ellipse-1", "ellipse-2", 0)
    m, pair = prepare("dann", "ellipse-1", "ellipse-2", seed=0)
    bench._write_recipe(run_dir, recipes.adhoc("dann", 40))  # as run_bench does
    with pytest.raises(_Died):
        fit(m, pair, 40, seed=0, out=run_dir, checkpoint_every=20,
            callbacks=[_die_after_checkpoint(20)])
    logs = []
    bench.run_bench(tmp_path, ["dann"], [("ellipse-1", "ellipse-2")], seeds=1, steps=40,
                    log=logs.append)
    assert "resuming" in logs[0]
    assert runs.read_run_info(run_dir)["status"] == "finished"
    assert [r["step"] for r in runs.read_metrics(run_dir)] == list(range(1, 41))


def test_a_checkpoint_left_half_written_is_ignored(tmp_path):
    """A kill between renaming a checkpoint into place and pointing config.json at it: the
    config still names the previous checkpoint, which loads; resuming overwrites the orphan."""
    m, pair = prepare("dann", "ellipse-1", "ellipse-2", seed=0)
    with pytest.raises(_Died):
        fit(m, pair, 30, seed=0, out=tmp_path / "r", checkpoint_every=10,
            callbacks=[_die_after_checkpoint(10)])
    orphan = tmp_path / "r" / runs.CHECKPOINTS / "step-000020"
    orphan.mkdir()
    (orphan / runs.WEIGHTS).write_bytes(b"half")
    (tmp_path / "r" / runs.CHECKPOINTS / ".step-000030.abc").mkdir()
    model, info = runs.load_run(tmp_path / "r")
    assert info["steps"] == 10
    _, res, _ = resume(tmp_path / "r")
    assert res.steps_done == 30 and runs.load_run(tmp_path / "r")[1]["status"] == "finished"


@pytest.mark.slow
def test_optimizers_are_built_on_the_fit_device_and_saved_state_is_safetensors(tmp_path):
    m, pair = prepare("cdlm", "mnist", "digits", overrides=["batch_size=8"], seed=0)
    with pytest.raises(_Died):
        fit(m, pair, 4, out=tmp_path / "c", checkpoint_every=2, device="cpu",
            callbacks=[_die_after_checkpoint(2)])
    assert set(m.optimizers) == {"phi", "theta"} and set(m.schedulers) == {"phi"}
    ck = tmp_path / "c" / runs.CHECKPOINTS / "step-000002"
    assert sorted(p.name for p in ck.iterdir()) == sorted([runs.STATE_JSON, runs.STATE_TENSORS,
                                                           runs.WEIGHTS])
    state = json.loads((ck / runs.STATE_JSON).read_text())
    assert state["step"] == 2 and state["schedulers"]["phi"]["last_epoch"] == 2
    assert np.isfinite(state["optimizers"]["phi"]["param_groups"][0]["lr"])


def test_tensorboard_event_files_next_to_metrics_csv(tmp_path):
    """--tensorboard writes event files (tensorboard is in requirements-dev.txt); their scalars
    are the per-step metrics of metrics.csv."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    _, _, run_dir = train("dann", "ellipse-1", "ellipse-2", 10, eval_every=5,
                          out=tmp_path / "tb", tensorboard=True)
    [events] = list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    acc = EventAccumulator(str(events.parent))
    acc.Reload()
    loss = [e.value for e in acc.Scalars("train/loss")]
    assert len(loss) == 10
    assert loss == pytest.approx([r["loss"] for r in runs.read_metrics(run_dir)], rel=1e-6)
    assert [e.step for e in acc.Scalars("eval/target_test")] == [5, 10]


@pytest.mark.slow
def test_ctrl_c_saves_a_resumable_run_and_resume_matches_an_uninterrupted_one(tmp_path):
    """SIGINT mid-run (no --checkpoint-every): the step in progress finishes, a checkpoint and
    the run are saved (status "stopped", exit 130), and --resume ends bit for bit where an
    uninterrupted run ends."""
    out = tmp_path / "ctrl-c"
    args = ["-m", "dalab", "train", "--method", "dann", "--source", "mnist", "--target",
            "digits", "--steps", "150", "--eval-every", "75", "--out", str(out), "-q",
            "--device", "cpu", "--set", "batch_size=32"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / runs.METRICS).is_file() and len(runs.read_metrics(out)) >= 30:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT" in err and "--resume" in err
    info = runs.read_run_info(out)
    assert info["status"] == "stopped" and 30 <= info["steps"] < 150
    assert runs.load_run(out)[1]["steps"] == info["steps"]  # loadable as it is
    assert main(["train", "--resume", str(out), "-q", "--device", "cpu"]) == 0
    resumed, _ = runs.load_run(out)
    whole, _, _ = train("dann", "mnist", "digits", 150, seed=0, eval_every=75, device="cpu",
                        overrides=["batch_size=32"])
    for k, v in whole.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    assert [r["step"] for r in runs.read_metrics(out)] == list(range(1, 151))
