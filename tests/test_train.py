import threading
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from dalab.data import DomainPair
from dalab.methods import METHODS, Method, build_method
from dalab.runs import load_run
from dalab.train import fit, resolve_device, train


def test_resolve_device():
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            resolve_device("cuda")


def test_fit_history_callbacks_and_steps_per_second():
    pair = DomainPair("ellipse-1", "ellipse-2")
    m = build_method("source_only", input_shape=pair.input_shape, num_classes=2)
    events = []
    res = fit(m, pair, 40, eval_every=10, callbacks=[events.append])
    assert res.status == "finished" and res.steps_done == 40
    assert [h["step"] for h in res.history] == [10, 20, 30, 40]
    assert {"target_test", "source_test", "loss"} <= set(res.history[0])
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("step") == 40 and kinds.count("eval") == 4
    assert res.steps_per_second > 0


def test_stop_event_stops_cooperatively():
    pair = DomainPair("ellipse-1", "ellipse-2")
    m = build_method("dann", input_shape=pair.input_shape, num_classes=2)
    stop = threading.Event()

    def cb(ev):
        if ev.kind == "step" and ev.step == 7:
            stop.set()
    res = fit(m, pair, 100, callbacks=[cb], stop_event=stop)
    assert res.status == "stopped" and res.steps_done == 7


@dataclass
class _NaNConfig:
    batch_size: int = 8
    nan_at: int = 6


class _NaNAfter(Method):
    """Learns normally, then reports a NaN loss at step ``nan_at`` after wrecking its weights."""
    name = "nan_after"
    paper = summary = "test double"
    Config = _NaNConfig

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        self.lin = torch.nn.Linear(input_shape[0], num_classes)

    def train_step(self, x_s, y_s, x_t, step, y_t=None):
        with torch.no_grad():
            if step >= self.config.nan_at:
                self.lin.weight.fill_(float("nan"))
                return {"loss": float("nan")}
            self.lin.weight.add_(1.0)
        return {"loss": float(step)}

    def predict(self, x):
        return self.lin(x)


def test_nan_guard_restores_last_good_weights_and_saves_them(tmp_path, monkeypatch):
    monkeypatch.setitem(METHODS, "nan_after", _NaNAfter)
    model, res, run_dir = train("nan_after", "ellipse-1", "ellipse-2", 20, eval_every=4,
                                out=tmp_path / "run")
    assert res.status == "diverged" and res.steps_done == 4
    assert "step 6" in res.message and "step 4" in res.message and "loss=nan" in res.message
    assert torch.isfinite(model.lin.weight).all()
    reloaded, info = load_run(run_dir)
    assert info["status"] == "diverged" and info["steps"] == 4
    assert torch.equal(reloaded.lin.weight, model.lin.weight)


def test_fit_rejects_mismatched_shapes():
    pair = DomainPair("ellipse-1", "ellipse-2")
    m = build_method("source_only", input_shape=(1, 28, 28), num_classes=2)
    with pytest.raises(ValueError, match="built for inputs"):
        fit(m, pair, 5)


def test_same_seed_same_result():
    a = train("dann", "ellipse-1", "ellipse-2", 30, seed=3)[1]
    b = train("dann", "ellipse-1", "ellipse-2", 30, seed=3)[1]
    assert a.history[-1]["loss"] == b.history[-1]["loss"]
    assert a.accuracy == b.accuracy


@pytest.mark.slow
def test_dann_integration_loss_falls_and_beats_chance():
    """A few hundred DANN steps on mnist -> digits: the classification loss falls and the
    target accuracy is far above chance (10 %)."""
    model, res, _ = train("dann", "mnist", "digits", 300, eval_every=100, seed=0)
    losses = [h["loss_cls"] for h in res.history]
    assert losses[-1] < 0.5 * losses[0]
    assert res.accuracy["source_test"] > 0.8
    assert res.accuracy["target_test"] > 0.35


def test_extra_predictors_are_reported_next_to_target_test(monkeypatch):
    class TwoHeads(METHODS["source_only"]):
        name = "two_heads"

        def extra_predictors(self):
            return {"flipped": lambda x: -self.predict(x)}
    monkeypatch.setitem(METHODS, "two_heads", TwoHeads)
    res = train("two_heads", "ellipse-1", "ellipse-2", 30, eval_every=30)[1]
    acc = res.accuracy
    assert set(acc) == {"target_test", "source_test", "target_test_flipped", "target_entropy"}
    # two classes: the flipped head is wrong exactly where the plain one is right
    assert acc["target_test"] + acc["target_test_flipped"] == pytest.approx(1.0)
    assert "target_test_flipped" in res.history[-1]


def test_history_averages_each_metric_over_the_steps_that_reported_it(monkeypatch):
    class Sometimes(METHODS["source_only"]):
        name = "sometimes"

        def train_step(self, x_s, y_s, x_t, step, y_t=None):
            out = super().train_step(x_s, y_s, x_t, step)
            if step % 2 == 0:
                out["even_only"] = 4.0
            return out
    monkeypatch.setitem(METHODS, "sometimes", Sometimes)
    res = train("sometimes", "ellipse-1", "ellipse-2", 10, eval_every=10)[1]
    assert res.history[-1]["even_only"] == 4.0  # not diluted to 2.0 by the odd steps
