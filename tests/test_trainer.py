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
