import json

import numpy as np
import pytest
import torch

from dalab.data import DomainPair
from dalab.runs import CONFIG, WEIGHTS, RunError, load_run, read_run_info
from dalab.train import accuracy, train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dann"
    model, res, run_dir = train("dann", "ellipse-1", "ellipse-2", 30, seed=1, out=out)
    return model, res, run_dir


def test_round_trip_gives_the_same_predictions(run):
    model, res, run_dir = run
    reloaded, info = load_run(run_dir)
    x = torch.from_numpy(np.array(DomainPair("ellipse-1", "ellipse-2").evaluation.x_test))
    model.eval()
    assert torch.equal(model.predict(x), reloaded.predict(x))
    assert info["accuracy"] == res.accuracy


def test_config_explains_the_run(run):
    _, res, run_dir = run
    info = read_run_info(run_dir)
    for key in ("method", "config", "pair", "seed", "steps", "history", "accuracy",
                "dalab_version", "weights", "status", "device", "uses_target_labels"):
        assert key in info
    assert info["pair"]["source"] == "ellipse-1" and info["pair"]["split_seed"] == 0
    assert info["config"]["lr"] == 0.01 and info["steps"] == 30
    assert len(info["weights"]["sha256"]) == 64
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temp files left


def test_weights_are_safetensors_not_pickle(run):
    raw = (run[2] / WEIGHTS).read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])
    assert "G.net.0.weight" in header and b"\x80\x04" not in raw[:2]


def test_tampered_weights_are_refused(run, tmp_path):
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(run[2], bad)
    raw = bytearray((bad / WEIGHTS).read_bytes())
    raw[-1] ^= 0xFF
    (bad / WEIGHTS).write_bytes(bytes(raw))
    with pytest.raises(RunError, match="sha256 .* does not match"):
        load_run(bad)


def test_broken_run_dirs_give_clear_errors(run, tmp_path):
    with pytest.raises(RunError, match="no such file"):
        load_run(tmp_path)
    (tmp_path / CONFIG).write_text("{not json")
    with pytest.raises(RunError, match="not a readable JSON"):
        load_run(tmp_path)
    (tmp_path / CONFIG).write_text(json.dumps({"format": "other"}))
    with pytest.raises(RunError, match="not a dalab run"):
        load_run(tmp_path)
    info = read_run_info(run[2])
    info["method"] = "nope"
    info.pop("sealed")  # an unsealed (older) run: the unknown method is what is reported
    info.pop("sealing")
    import shutil
    shutil.copy(run[2] / WEIGHTS, tmp_path / WEIGHTS)
    (tmp_path / CONFIG).write_text(json.dumps(info))
    with pytest.raises(RunError, match="unknown method 'nope'"):
        load_run(tmp_path)


def test_target_only_run_records_label_use(tmp_path):
    _, res, run_dir = train("target_only", "ellipse-1", "ellipse-2", 20, out=tmp_path / "t")
    assert read_run_info(run_dir)["uses_target_labels"] is True
