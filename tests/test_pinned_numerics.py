"""Each method's numerics, pinned per recipe revision (dalab/recipes.py, issue 22 and 23).

For every method, 10 training steps under its current recipe's config, from a fixed seed on
fixed random inputs: the loss of each step and two sums of every weight tensor are compared
with ``tests/pinned_numerics.json``. A refactor keeps them (within float noise, rtol 1e-4);
a change to a loss, an update or a default does not, and then the recipe is no longer the
same: bump the method's ``revision`` in ``dalab/recipes.py`` (its benchmark runs are then
trained again) and re-pin with ``DALAB_REPIN=1 pytest tests/test_pinned_numerics.py``.
"""
import json
import math
import os
from pathlib import Path

import pytest
import torch

from dalab import recipes
from dalab.methods import METHODS, build_method

PINS = Path(__file__).with_name("pinned_numerics.json")
STEPS = 10


def _numbers(name: str) -> dict:
    recipe = recipes.current(name)
    cls = METHODS[name]
    shape = (1, 28, 28) if "image" in cls.input_kinds else (2,)
    torch.manual_seed(0)
    m = build_method(name, input_shape=shape, num_classes=4, config=recipe.config())
    m.on_fit_start(100)
    g = torch.Generator().manual_seed(1)
    x_s, x_t = torch.rand(16, *shape, generator=g), torch.rand(16, *shape, generator=g)
    y = torch.randint(0, 4, (16,), generator=g)
    losses = []
    for k in range(1, STEPS + 1):
        out = m.train_step(x_s, y, x_t, k, y_t=y)
        m.step_schedules()
        losses.append(float(out["loss"]))
    weights = {n: [float(p.double().sum()), float((p.double() ** 2).sum())]
               for n, p in m.state_dict().items() if p.is_floating_point()}
    return {"revision": recipe.revision, "key": recipe.key(), "losses": losses,
            "weights": weights}


def _pins() -> dict:
    return json.loads(PINS.read_text()) if PINS.is_file() else {}


@pytest.mark.parametrize("name", list(METHODS))
def test_numerics_are_those_pinned_for_the_recipe_revision(name):
    got = _numbers(name)
    pins = _pins()
    if os.environ.get("DALAB_REPIN"):
        pins[name] = got
        PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
        pytest.skip("re-pinned")
    assert name in pins, f"{name} has no pin: DALAB_REPIN=1 pytest {__file__}"
    pin = pins[name]
    assert pin["revision"] == got["revision"], (
        f"{name}: pinned at revision {pin['revision']}, the recipe says {got['revision']}: "
        f"re-pin (DALAB_REPIN=1)")
    same = (len(pin["losses"]) == len(got["losses"])
            and all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)
                    for a, b in zip(pin["losses"], got["losses"]))
            and pin["weights"].keys() == got["weights"].keys()
            and all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-5)
                    for k in pin["weights"] for a, b in zip(pin["weights"][k],
                                                            got["weights"][k])))
    assert pin["key"] == got["key"], (
        f"{name}'s recipe key changed ({pin['key']} -> {got['key']}): its benchmark runs will be "
        f"trained again. If intended (a default, steps or engine changed), re-pin with "
        f"DALAB_REPIN=1; a renamed config key belongs in its Config's RENAMED")
    assert same, (f"{name}'s numerics changed under recipe revision {got['revision']}: if "
                  f"intended, bump its revision in dalab/recipes.py (its benchmark runs are "
                  f"trained again) and re-pin with DALAB_REPIN=1")


def test_a_changed_loss_is_caught(monkeypatch):
    """The pin is not vacuous: doubling DANN's domain loss weight changes the numbers."""
    base = _numbers("dann")
    cfg = recipes.current("dann")
    monkeypatch.setitem(recipes.CURRENT, "dann", recipes.Recipe(
        cfg.name, "dann", cfg.steps, overrides=("lambda_w=2.0",)))
    changed = _numbers("dann")
    assert any(not math.isclose(a, b, rel_tol=1e-4) for a, b in zip(base["losses"],
                                                                       changed["losses"]))
