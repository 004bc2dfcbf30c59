"""The declared semi-supervised budget (the bridge's Table 3 protocol): exactly n labelled
target *train* images per class, disjoint from the selection slice and the test split, handed
once by ``fit``; every unsupervised method still never reads a target label."""
import numpy as np
import pytest
import torch

from dalab.data import pair_from_arrays
from dalab.data.pair import SELECTION_FRACTION, TargetEvaluation
from dalab.methods import METHODS
from dalab.methods.bridge import Bridge, BridgeConfig
from dalab.runs import read_run_info
from dalab.train import FitArgumentError, build_for, fit


def points_pair(n=120, seed=0, labelled=True):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = (rng.normal(size=(n, 2)) + y[:, None] * 3).astype(np.float32)
    return pair_from_arrays(x, y, x + 0.5, y if labelled else None)


def test_subset_has_n_per_class_and_avoids_the_selection_slice():
    pair = points_pair(300)
    ev = pair.evaluation
    x_all, y_all = ev.train_labeled()
    sel = set(ev.selection_indices().tolist())
    assert len(sel) == int(len(y_all) * SELECTION_FRACTION)
    x, y = ev.labelled_subset(4, seed=0)
    assert np.bincount(y).tolist() == [4, 4, 4] and list(y) == sorted(y)
    rows = {tuple(r) for r in x_all[sorted(sel)].reshape(len(sel), -1).round(6)}
    assert not any(tuple(r) in rows for r in x.reshape(len(x), -1).round(6))
    test_rows = {tuple(r) for r in ev.x_test.round(6)}
    assert not any(tuple(r) in test_rows for r in x.round(6))
    x2, _ = ev.labelled_subset(4, seed=0)
    x3, _ = ev.labelled_subset(4, seed=1)
    assert np.array_equal(x, x2) and not np.array_equal(x, x3)
    xa, ya = ev.labelled_subset(-1)
    assert len(ya) == len(y_all) - len(sel)
    with pytest.raises(ValueError, match="per_class"):
        ev.labelled_subset(0)


def test_unlabelled_target_refuses_a_budget():
    pair = points_pair(labelled=False)
    m = build_for("bridge", pair, overrides=["target_labels_per_class=2", "batch_size=8"])
    with pytest.raises(FitArgumentError, match="target labels per class"):
        fit(m, pair, 2, device="cpu")


def test_fit_hands_the_bridge_exactly_the_subset_and_records_it(tmp_path):
    pair = points_pair(300)
    m = build_for("bridge", pair, overrides=["target_labels_per_class=5", "batch_size=8",
                                             "bridge_hidden=16", "bridge_layers=1"])
    fit(m, pair, 3, device="cpu", out=tmp_path / "run")
    x, y = m._target_labelled
    ex, ey = pair.evaluation.labelled_subset(5, seed=pair.split_seed)
    assert torch.equal(y, torch.from_numpy(ey)) and np.allclose(x.numpy(), ex)
    assert read_run_info(tmp_path / "run")["target_labels_per_class"] == 5


def test_bridge_pairs_the_labelled_batches_by_class():
    m = Bridge(BridgeConfig(batch_size=8, bridge_hidden=16, bridge_layers=1),
               input_shape=(2,), num_classes=3)
    y = torch.tensor([2, 0, 1, 0, 2, 1])
    m.receive_target_labels(torch.randn(6, 2) + y[:, None], y)
    y_l = torch.tensor([0, 1, 2, 2, 1, 0, 0])
    x_lt, y_lt = m._target_labelled_batch(y_l, len(y_l))
    assert torch.equal(y_lt, y_l)
    _, y_only = m._target_labelled_batch(torch.tensor([0, 0]), 2)
    assert torch.equal(y_only, torch.tensor([0, 0]))


def test_the_target_classifier_term_moves_only_with_a_budget():
    """L_Cls^2 is on with the budget and absent without it (same seed, same batches)."""
    def run(budget):
        torch.manual_seed(0)
        m = Bridge(BridgeConfig(batch_size=8, bridge_hidden=16, bridge_layers=1,
                                n_sup=-1), input_shape=(2,), num_classes=3)
        if budget:
            y = torch.tensor([0, 1, 2, 0, 1, 2])
            m.receive_target_labels(torch.randn(6, 2), y)
        torch.manual_seed(1)
        x = torch.randn(8, 2)
        return m.train_step(x, torch.arange(8) % 3, x + 1, 1)
    assert "acc_cls_t" in run(True) and "acc_cls_t" not in run(False)


def image_pair():
    rng = np.random.default_rng(0)
    x = rng.random((24, 1, 28, 28), dtype=np.float32)
    y = np.arange(24) % 2
    return pair_from_arrays(x, y, x[::-1].copy(), y)


SMALL = {"lstnet": ["width=0.03125"]}


@pytest.mark.parametrize("name", [n for n, c in METHODS.items() if not c.uses_target_labels])
def test_unsupervised_methods_never_read_a_target_label(name, monkeypatch):
    """Every door to target train labels raises during training (evaluation, which reads the
    test labels, is switched off)."""
    cls = METHODS[name]
    pair = points_pair() if "points" in cls.input_kinds else image_pair()
    m = build_for(name, pair, overrides=["batch_size=4", *SMALL.get(name, [])])
    assert m.target_labels_per_class() == 0

    def refuse(*a, **k):
        raise AssertionError("a target label was read during training")
    monkeypatch.setattr(TargetEvaluation, "train_labeled", refuse)
    monkeypatch.setattr(TargetEvaluation, "labelled_subset", refuse)
    r = fit(m, pair, 3, device="cpu", evaluate=False)
    assert r.status == "finished" and r.steps_done == 3
