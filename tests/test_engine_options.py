"""The engine options every method shares: a weight average (EMA) and image augmentation."""
import pytest
import torch

from dalab import runs
from dalab.data import DomainPair
from dalab.nn import WeightAverage, random_affine
from dalab.train import FitArgumentError, build_for, fit, prepare, resume


class _Died(Exception):
    pass


def test_weight_average_is_the_decayed_mean_with_warm_up():
    lin = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(0.0)
    avg = WeightAverage(lin, 0.5)
    expect = 0.0
    for n, value in enumerate([1.0, 2.0, 4.0]):
        with torch.no_grad():
            lin.weight.fill_(value)
        d = min(0.5, (1 + n) / (10 + n))
        expect = d * expect + (1 - d) * value
        avg.update(lin)
    assert torch.allclose(avg.shadow["weight"], torch.full((1, 2), expect))
    with avg.applied(lin):
        assert torch.allclose(lin.weight, torch.full((1, 2), expect))
    assert torch.equal(lin.weight, torch.full((1, 2), 4.0))  # its own weights come back
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(lin, 1.0)


@pytest.mark.slow
def test_fit_with_ema_holds_and_reports_the_average_of_the_raw_training():
    """Training itself is unchanged (the raw weights are those of a run without EMA), the run
    ends holding the average of those raw weights, and the raw accuracy is recorded beside."""
    m_raw, pair = prepare("dann", "mnist", "digits", overrides=["batch_size=16"], seed=0)
    manual = WeightAverage(m_raw, 0.9)
    fit(m_raw, pair, 8, seed=0, eval_every=8, device="cpu", evaluate=False,
        callbacks=[lambda e: manual.update(m_raw) if e.kind == "step" else None])
    m_ema, _ = prepare("dann", "mnist", "digits", overrides=["batch_size=16"], seed=0)
    r = fit(m_ema, pair, 8, seed=0, eval_every=8, device="cpu", ema=0.9)
    for k, v in m_ema.state_dict().items():
        assert torch.allclose(v.float(), manual.shadow[k].float(), atol=1e-6), k
    assert not torch.equal(m_ema.state_dict()["C.0.weight"], m_raw.state_dict()["C.0.weight"])
    assert {"target_test", "target_test_raw"} <= set(r.accuracy)
    assert all("target_test_raw" in h for h in r.history)


@pytest.mark.slow
def test_ema_and_augment_are_checkpointed_and_a_resume_is_bit_exact(tmp_path):
    kw = dict(seed=0, eval_every=12, device="cpu", ema=0.9, augment=True)
    m1, pair = prepare("dann", "mnist", "digits", overrides=["batch_size=16"], seed=0)
    fit(m1, pair, 12, out=tmp_path / "one", **kw)
    m2, _ = prepare("dann", "mnist", "digits", overrides=["batch_size=16"], seed=0)

    def die(e):
        if e.kind == "checkpoint" and e.step == 6:
            raise _Died

    with pytest.raises(_Died):
        fit(m2, pair, 12, out=tmp_path / "two", checkpoint_every=6, callbacks=[die], **kw)
    m3, r3, _ = resume(tmp_path / "two", device="cpu")   # options come from the run
    assert r3.steps_done == 12
    for k, v in m1.state_dict().items():
        assert torch.equal(v, m3.state_dict()[k]), k
    fs = runs.read_run_info(tmp_path / "two")["fit"]
    assert fs["ema"] == 0.9 and fs["augment"] is True
    # the saved weights are the average the run holds
    loaded, _ = runs.load_run(tmp_path / "two")
    for k, v in m3.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k


@pytest.mark.slow
def test_augment_changes_what_is_trained_and_needs_images():
    a, pair = prepare("source_only", "mnist", "digits", overrides=["batch_size=16"], seed=0)
    fit(a, pair, 3, seed=0, device="cpu", augment=True, evaluate=False)
    b, _ = prepare("source_only", "mnist", "digits", overrides=["batch_size=16"], seed=0)
    fit(b, pair, 3, seed=0, device="cpu", evaluate=False)
    assert any(not torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    x = torch.rand(4, 1, 28, 28)
    torch.manual_seed(0)
    y = random_affine(x)
    assert y.shape == x.shape and not torch.equal(x, y)
    pts = DomainPair("ellipse-1", "ellipse-2")   # 2-D points: nothing to jitter
    m = build_for("source_only", pts, seed=0)
    with pytest.raises(FitArgumentError, match="jitters images"):
        fit(m, pts, 2, device="cpu", augment=True)
    with pytest.raises(FitArgumentError, match="decay"):
        fit(m, pts, 2, device="cpu", ema=1.5)
