import time

import pytest

from dalab.data import DataError
from dalab.ui.trainer import Trainer


def _wait(pred, timeout=30.0):
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_pause_step_resume_finish(tmp_path):
    t = Trainer("dann", "ellipse-1", "ellipse-2", 200, out=tmp_path / "run", eval_every=50)
    t.start()
    _wait(lambda: t.step_done >= 3)
    t.pause()
    time.sleep(0.2)
    paused_at = t.step_done
    time.sleep(0.3)
    assert t.step_done == paused_at and t.state == "paused"  # paused really holds
    t.step()
    _wait(lambda: t.step_done == paused_at + 1)
    time.sleep(0.2)
    assert t.step_done == paused_at + 1  # exactly one step
    t.resume()
    t.join(30)
    snap = t.snapshot()
    assert snap["state"] == "finished" and snap["step"] == 200
    assert len(snap["history"]) == 4 and (tmp_path / "run" / "config.json").is_file()


def test_stop_while_paused(tmp_path):
    t = Trainer("source_only", "ellipse-1", "ellipse-2", 10_000)
    t.start()
    _wait(lambda: t.step_done >= 2)
    t.pause()
    t.stop()
    t.join(30)
    assert t.state == "stopped" and t.step_done < 10_000


def test_bad_input_fails_before_start():
    with pytest.raises(DataError):
        Trainer("dann", "mnist", "nope", 10)


def test_an_absent_device_fails_at_once_with_a_message():
    """Device "cuda" on a CPU machine: a ValueError in the caller's thread (the Train page
    shows it), not a traceback from the training thread."""
    import pytest
    import torch
    from dalab.ui.trainer import Trainer
    if torch.cuda.is_available():
        return  # this machine has the device: nothing to refuse
    with pytest.raises(ValueError, match="no CUDA GPU"):
        Trainer("dann", "ellipse-1", "ellipse-2", 10, device="cuda")


def test_a_failure_in_the_training_thread_is_one_line_without_a_traceback(monkeypatch):
    from dalab.methods.dann import DANN
    from dalab.ui.trainer import Trainer

    def boom(self, *a, **k):
        raise RuntimeError("broken step")
    monkeypatch.setattr(DANN, "train_step", boom)
    t = Trainer("dann", "ellipse-1", "ellipse-2", 10)
    t.start()
    t.join(30)
    assert t.state == "error" and t.message == "Training failed: RuntimeError: broken step"


def test_stop_shows_stopping_until_the_thread_has_stopped(tmp_path):
    """Issue 14: Stop showed nothing until the run had ended."""
    t = Trainer("source_only", "ellipse-1", "ellipse-2", 10_000, out=tmp_path / "run")
    t.start()
    _wait(lambda: t.step_done >= 2)
    t.stop()
    assert t.snapshot()["state"] == "stopping"  # at once, before the thread has noticed
    t.join(30)
    assert t.snapshot()["state"] == "stopped"
    t.stop()  # a second click after the end changes nothing
    assert t.state == "stopped"


def test_one_job_at_a_time_and_a_second_start_names_the_running_one(tmp_path, train_jobs):
    from dalab.ui import trainer as T
    a = T.start_job("source_only", "ellipse-1", "ellipse-2", 10_000, out=tmp_path / "a")
    assert T.current_job() is a and T.get_job(tmp_path / "a") is a
    with pytest.raises(T.BusyError, match=r"source_only ellipse-1 -> ellipse-2") as e:
        T.start_job("dann", "ellipse-1", "ellipse-2", 10, out=tmp_path / "b")
    assert str(tmp_path / "a") in str(e.value)
    assert T.get_job(tmp_path / "b") is None and not (tmp_path / "b").exists()
    a.stop()
    a.join(30)
    assert T.current_job() is None and T.current_job(tmp_path / "a") is a  # finished: by name
    b = T.start_job("source_only", "ellipse-1", "ellipse-2", 20, out=tmp_path / "b")
    b.join(30)
    assert b.state == "finished"


def test_live_view_rebuilds_the_figure_only_when_the_run_moved(tmp_path):
    from dalab.ui.trainer import live_view
    t = Trainer("dann", "ellipse-1", "ellipse-2", 40, out=tmp_path / "run", eval_every=20)
    t.start()
    t.join(30)
    state = {}
    v1 = live_view(t, state)
    assert v1["status"] == "finished: step 40 / 40" and v1["accuracy"] is not None
    names = [tr.name for tr in v1["figure"].data]
    assert names[:3] == ["loss", "loss_cls", "loss_dom"]
    assert len(v1["figure"].data[0].x) == 40  # every step from metrics.csv
    v2 = live_view(t, state)
    assert v2["figure"] is v1["figure"]  # nothing new: no rebuild, no re-read


def test_trainer_load_times_a_run_alone_and_with_the_page_polling(tmp_path, train_jobs):
    from dalab.ui.trainer_load import run
    alone = run("dann", "ellipse-1", "ellipse-2", 40, None, tmp_path / "alone")
    polled = run("dann", "ellipse-1", "ellipse-2", 40, 0.01, tmp_path / "polled")
    assert alone["state"] == polled["state"] == "finished" and alone["refreshes"] == 0
    assert polled["refreshes"] >= 1 and polled["page_cpu_ms_per_refresh"] > 0
