"""What a method declares on its class is what it does (DESIGN.md, "Methods": capabilities,
``translate_to``, the equation and pages the app shows). New methods are picked up here."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from dalab.methods import METHODS, Method, build_method, get_method

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = {"source", "target"}
# the pages app.py's st.navigation offers, by title
APP_PAGES = set(re.findall(r'st\.Page\([^)]*title="([^"]+)"', (ROOT / "app.py").read_text()))


def _small(name: str) -> tuple[Method, torch.Tensor]:
    """The method built at its defaults on 28 x 28 grey images (2-D points when it declares
    points only), in eval mode, with a batch of 3 inputs."""
    shape = (1, 28, 28) if "image" in get_method(name).input_kinds else (2,)
    model = build_method(name, input_shape=shape, num_classes=10).eval()
    return model, torch.rand(3, *shape)


@pytest.mark.parametrize("name", list(METHODS))
def test_declared_capabilities_are_consistent(name):
    cls = get_method(name)
    assert cls.capabilities <= {"encode", "translate", "reconstruct"}
    assert cls.translate_to <= DOMAINS
    assert ("translate" in cls.capabilities) == bool(cls.translate_to)
    # a declared capability is implemented, an undeclared one is not
    assert ("translate" in cls.capabilities) == (cls.translate is not Method.translate)
    assert ("encode" in cls.capabilities) == (cls.encode is not Method.encode)
    assert ("reconstruct" in cls.capabilities) == hasattr(cls, "reconstruct")


@pytest.mark.parametrize("name", list(METHODS))
def test_translate_honours_translate_to(name):
    model, x = _small(name)
    with torch.no_grad():
        for d in sorted(get_method(name).translate_to):
            out = model.translate(x, to=d)
            assert out.shape == x.shape and torch.isfinite(out).all()
        for d in sorted(DOMAINS - get_method(name).translate_to) + ["mnist"]:
            with pytest.raises(ValueError):
                model.translate(x, to=d)


@pytest.mark.parametrize("name", list(METHODS))
def test_equation_and_pages_are_declared_by_the_class_itself(name):
    cls = get_method(name)
    # in the class's own namespace: a subclass (dann, target_only) must not show its parent's
    assert "equation" in vars(cls) and cls.equation.strip()
    from dalab.ui.cards import METHOD_PAGES
    assert not hasattr(cls, "pages")  # page titles are the app's (issue 23), not the core's
    assert METHOD_PAGES[name] and set(METHOD_PAGES[name]) <= APP_PAGES, METHOD_PAGES[name]


def test_app_pages_were_read_from_app_py():
    assert {"Home", "Train", "Translate", "Modulation", "Bridge interpolation"} <= APP_PAGES


# ---------------------------------------------------------------------------------------
# The public inference methods the app uses instead of sub-networks
# ---------------------------------------------------------------------------------------
def test_bridge_shared_logits_is_predict_on_target_and_differs_by_domain():
    model, x = _small("bridge")
    with torch.no_grad():
        assert torch.equal(model.shared_logits(x, "target"), model.predict(x))
        assert model.shared_logits(x, "source").shape == (3, 10)
        assert not torch.allclose(model.shared_logits(x, "source"),
                                  model.shared_logits(x, "target"))
        with pytest.raises(ValueError):
            model.shared_logits(x, "mnist")


def test_cdlm_decode_and_classify_features_compose_into_the_existing_paths():
    model, x = _small("cdlm")
    with torch.no_grad():
        lat = model.encode(x, "target")
        assert torch.equal(model.classify_features(lat.h), model.classify_h(x))
        assert torch.equal(model.decode(model.config.gamma1 * lat.h), model.generate(lat.h))
        assert model.decode(lat.mu).shape == x.shape


# ---------------------------------------------------------------------------------------
# The UI's one adapter reads the declaration
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n, c in METHODS.items() if c.translate_to])
def test_ui_adapter_follows_translate_to(name):
    from dalab.ui.translate import can_translate, direction_problem, translate_and_classify
    model, x = _small(name)
    assert can_translate(model)
    for d in sorted(DOMAINS):
        if d in model.translate_to:
            assert direction_problem(model, d) is None
            img, probs = translate_and_classify(model, x.numpy(), to=d)
            assert img.shape == tuple(x.shape) and np.allclose(probs.sum(1), 1, atol=1e-5)
        else:
            assert f"{d} domain" in direction_problem(model, d)
            with pytest.raises(ValueError, match="domain only"):
                translate_and_classify(model, x.numpy(), to=d)


def test_ui_adapter_refuses_models_without_translation():
    from dalab.ui.translate import TRANSLATION_METHODS, can_translate, direction_problem
    model, _ = _small("dann")
    assert not can_translate(model)
    assert "does not translate" in direction_problem(model, "source")
    assert "to='up'" in direction_problem(model, "up")
    assert TRANSLATION_METHODS.split(", ") == [n for n, c in METHODS.items() if c.translate_to]
