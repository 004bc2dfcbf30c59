"""The public Python API: your own arrays, an unlabelled target, save, reload, re-evaluate."""
import numpy as np
import pytest

import dalab
from dalab.cli import main
from dalab.data import DataError
from dalab.runs import RunError, load_pair, read_run_info


def _digits(n, seed, shift=0.0, classes=3):
    """Bars at a class-dependent height; ``shift`` brightens the background (a domain shift)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = (rng.random((n, 1, 28, 28)) * 0.2 + shift).astype(np.float32)
    for c in range(classes):
        x[y == c, :, 4 + 6 * c:8 + 6 * c, 4:24] = 1.0
    return x.clip(0, 1), y


@pytest.mark.slow
def test_the_readme_example_with_an_unlabelled_target(tmp_path):
    x_s, y_s = _digits(120, 0)
    x_t, y_t = _digits(90, 1, shift=0.3)
    # -- the README's five lines --
    pair = dalab.pair_from_arrays(x_s, y_s, x_t, y_t=None)
    model, result = dalab.fit("dann", pair, steps=60, out=tmp_path / "run", save_data=True)
    labels = model.predict_numpy(x_t)
    again, info = dalab.load(tmp_path / "run")
    # ----------------------------
    assert labels.shape == (90,) and labels.dtype == np.int64
    assert np.array_equal(again.predict_numpy(x_t), labels)
    acc = result.accuracy
    assert "target_test" not in acc and acc["source_test"] > 0.9  # source metrics only
    assert 0.0 <= acc["target_entropy"] <= np.log(3) + 1e-6        # a label-free score
    assert info["pair"]["origin"] == "arrays" and info["pair"]["target_labels"] is False
    assert info["pair"]["fingerprint"] == pair.fingerprint() and info["data"] == "data.npz"
    assert (labels == y_t).mean() > 0.5  # (checked here, never seen by the method)


@pytest.mark.slow
def test_eval_of_an_array_run_checks_the_saved_data(tmp_path, capsys):
    x_s, y_s = _digits(60, 0)
    x_t, _ = _digits(60, 1, shift=0.3)
    pair = dalab.pair_from_arrays(x_s, y_s, x_t)
    dalab.fit("source_only", pair, steps=10, out=tmp_path / "saved", save_data=True)
    assert main(["eval", str(tmp_path / "saved")]) == 0
    assert "no target labels were given" in capsys.readouterr().out
    dalab.fit("source_only", pair, steps=10, out=tmp_path / "bare")
    with pytest.raises(RunError, match="not saved with the run"):
        load_pair(tmp_path / "bare")
    assert main(["eval", str(tmp_path / "bare")]) == 2
    assert "--save-data" in capsys.readouterr().err
    # a changed data copy is refused by its fingerprint
    data = dict(np.load(tmp_path / "saved" / "data.npz"))
    data["x_t_test"] = data["x_t_test"][::-1].copy()
    np.savez(tmp_path / "saved" / "data.npz", **data)
    with pytest.raises(RunError, match="fingerprint"):
        load_pair(tmp_path / "saved")


@pytest.mark.slow
def test_labelled_target_arrays_give_a_target_test_split():
    x_s, y_s = _digits(100, 0)
    x_t, y_t = _digits(100, 1, shift=0.3)
    pair = dalab.pair_from_arrays(x_s, y_s, x_t, y_t, split_seed=1)
    assert pair.evaluation.has_labels and len(pair.evaluation.y_test) == 20
    assert len(pair.x_t_train) == 80 and len(pair.x_s_test) == 20
    model, res = dalab.fit("dann", pair, steps=40)
    assert {"target_test", "source_test", "target_entropy"} <= set(res.accuracy)
    assert dalab.evaluate(model, pair)["target_test"] == res.accuracy["target_test"]
    # uint8, channels-last and other sizes are converted as the npz: domains are
    x8 = (np.moveaxis(x_t, 1, 3) * 255).astype(np.uint8)
    p8 = dalab.pair_from_arrays(x_s, y_s, x8)
    assert p8.input_shape == (1, 28, 28) and p8.x_t_train.max() <= 1.0


def test_points_and_unlabelled_targets_refuse_target_labels():
    rng = np.random.default_rng(0)
    pair = dalab.pair_from_arrays(rng.normal(size=(50, 2)), np.arange(50) % 2,
                                  rng.normal(size=(40, 2)) + 1)
    assert pair.kind == "points" and pair.input_shape == (2,)
    with pytest.raises(ValueError, match="trains on target labels"):
        dalab.fit("target_only", pair, steps=5)
    with pytest.raises(DataError, match="no labels"):
        pair.evaluation.train_labeled()


@pytest.mark.parametrize("bad,match", [
    (dict(x_s=np.zeros((5, 1, 28, 28)), y_s=np.zeros(4)), "5 images but 4 labels"),
    (dict(x_s=np.full((4, 1, 28, 28), np.nan)), "nan or inf"),
    (dict(x_s=np.full((4, 1, 28, 28), 200.0)), r"values in \[200.0, 200.0\]"),
    (dict(x_s=np.zeros((4, 5))), "images or both points"),
    (dict(y_s=-np.ones(4)), "negative labels"),
    (dict(x_s=np.zeros((0, 1, 28, 28)), y_s=np.zeros(0)), "no samples"),
    (dict(y_s=np.array([0, 1, 2, 2 ** 40])), "labels go up to"),
    (dict(x_s=np.zeros((4, 2, 28, 28))), "channel"),
])
def test_bad_arrays_say_which_argument_and_what_is_valid(bad, match):
    args = dict(x_s=np.zeros((4, 1, 28, 28), np.float32), y_s=np.array([0, 1, 0, 1]),
                x_t=np.zeros((4, 1, 28, 28), np.float32))
    args.update(bad)
    with pytest.raises(DataError, match=match):
        dalab.pair_from_arrays(**args)


def test_load_takes_a_zoo_name_or_a_run_directory(tmp_path):
    _, _, run_dir = __import__("dalab.train", fromlist=["train"]).train(
        "source_only", "ellipse-1", "ellipse-2", 5, out=tmp_path / "r")
    model, info = dalab.load(run_dir, device="cpu")
    assert info["method"] == "source_only" and read_run_info(run_dir)["steps"] == 5
    with pytest.raises(RunError, match="unknown zoo entry"):
        dalab.load("no-such-model")
    assert set(dalab.__all__) >= {"fit", "load", "pair_from_arrays", "evaluate", "resume"}
