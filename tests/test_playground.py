"""The Playground (issue 25): its pure core (dalab/ui/playground.py), its figures and the page."""
from pathlib import Path

import numpy as np
import pytest

from dalab.ui.figures import playground_figures
from dalab.ui.playground import (PLAY_METHODS, Setup, domains, frame, mmd2, start,
                                 train_chunk)

ROOT = Path(__file__).resolve().parents[1]


def test_the_target_is_the_source_shape_rotated_and_shifted():
    x_s, y_s, x_t, y_t = domains(Setup(angle=0.0))
    assert x_s.shape == x_t.shape == (300, 2) and set(y_s) == set(y_t) == {0, 1}
    _, _, r_t, r_y = domains(Setup(angle=90.0, shift=1.0))
    # rotating by 90 degrees maps (x, y) to (-y, x); then the shift
    assert np.allclose(r_t, np.stack([-x_t[:, 1], x_t[:, 0]], 1) + 1.0, atol=1e-5)
    assert np.array_equal(r_y, y_t)


def test_setup_round_trips_through_the_url_and_a_bad_link_is_noted():
    s = Setup("dfa_mcd", 60.0, -0.5, 3, 0.001, 2.0)
    again, notes = Setup.from_params(s.to_params())
    assert again == s and notes == []
    got, notes = Setup.from_params({"method": "cdlm", "angle": "999", "seed": "x",
                                    "shift": "nan"})
    assert got == Setup() and len(notes) == 4
    with pytest.raises(ValueError, match="angle"):
        Setup(angle=-5)


@pytest.mark.parametrize("method", PLAY_METHODS)
def test_a_chunk_trains_the_method_and_the_frame_shows_it(method):
    s = start(Setup(method=method, angle=40.0))
    f0 = frame(s, grid=20)
    assert f0["step"] == 0 and f0["p1"].shape == (20, 20)
    assert f0["f_s"].shape == (300, 2) and f0["f_t"].shape == (300, 2)
    train_chunk(s, 40)
    f1 = frame(s, grid=20)
    assert f1["step"] == 40 and [h["step"] for h in f1["history"]] == [0, 40]
    assert f1["scores"]["source_acc"] > f0["scores"]["source_acc"] + 0.2  # it learned
    assert not np.allclose(f1["p1"], f0["p1"])
    with pytest.raises(ValueError):
        train_chunk(s, 0)


def test_dfa_aligns_the_features_and_source_only_leaves_them():
    """The Playground's point: DFA-ENT's alignment brings the two domains' features together
    (MMD² falls), source-only's does not (it has no alignment term)."""
    out = {}
    for method in ("source_only", "dfa_ent"):
        s = start(Setup(method=method, angle=40.0))
        for _ in range(5):
            train_chunk(s, 20)
        out[method] = s.history[-1]["mmd2"] / s.history[0]["mmd2"]
    assert out["dfa_ent"] < 0.6 < out["source_only"], out


def test_mmd2_is_zero_for_one_set_and_grows_with_the_gap():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(100, 2))
    assert mmd2(a, a, 1.0) == pytest.approx(0.0, abs=1e-12)
    assert mmd2(a, a + 0.5, 1.0) < mmd2(a, a + 2.0, 1.0)


def test_the_figures_draw_both_domains_in_their_colours():
    from dalab.ui.colours import SOURCE_COLOUR, TARGET_COLOUR
    s = start(Setup(method="dann"))
    train_chunk(s, 5)
    inp, feat, cur = playground_figures(frame(s, grid=10))
    colours = {t.marker.color for t in inp.data if t.type == "scatter"}
    assert colours == {SOURCE_COLOUR, TARGET_COLOUR}
    assert inp.data[0].type == "contour" and len(feat.data) == 4 and len(cur.data) == 3


def test_the_page_steps_plays_and_reads_its_link():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "pages" / "playground.py"), default_timeout=120)
    at.query_params.update({"method": "dfa_ent", "angle": "60", "seed": "x"})
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="pg.method").value == "dfa_ent"
    assert at.slider(key="pg.angle").value == 60
    assert any("seed='x'" in c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["steps trained"] == "0"
    at.button(key="pg.step").click().run()
    assert {m.label: m.value for m in at.metric}["steps trained"] == "20"
    at.button(key="pg.play").click().run()
    assert at.session_state["pg.playing"] is True
    assert at.button(key="pg.play").label == "Pause"
    at.button(key="pg.reset").click().run()
    assert {m.label: m.value for m in at.metric}["steps trained"] == "0"
