"""Issue 14, Modulation page: Fig. 4's averages (legend, no overlap), the x~_ts row's note and
the equation that follows the mode; pure functions first, then the page (AppTest, tiny zoo)."""
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dalab.ui import figures as F
from dalab.ui.modulation import MODE_EQUATIONS, TEST_MODE_NOTE, mode_equations, modulation_view

ROOT = Path(__file__).resolve().parents[1]
MODES = ("full", "pm1", "pm2", "none")


def test_fig4_averages_have_a_legend_their_own_zoomed_panel_and_distinct_labels():
    rng = np.random.default_rng(0)
    pts = {k: rng.normal(size=(30, 2)) * 3 for k in ("mu_s", "mu_t", "mu_st", "mu_ts")}
    pts["mu_st"] = pts["mu_s"].copy()  # PM1/PM2: the transfer mean is the mean itself
    fig = F.modulation_scatter_figure(pts, (0, 1))
    averages = [t for t in fig.data if str(t.name).startswith("average")]
    assert [t.name for t in averages] == ["average μ_s", "average μ_t", "average μ_st",
                                          "average μ_ts"]
    assert all(t.showlegend is not False for t in averages)  # in the legend
    assert all(t.xaxis == "x2" for t in averages)  # their own panel, not on the point cloud
    assert len({t.textposition for t in averages}) == 4  # labels in four corners
    # a transfer mean on its mean stays visible: open diamond around a filled cross
    assert averages[0].marker.symbol == "diamond-open" and averages[2].marker.symbol == "x"
    assert averages[0].marker.size > averages[2].marker.size
    x_range, y_range = fig.layout.xaxis2.range, fig.layout.yaxis2.range
    for t in averages:  # the zoom holds every average, inside its padding
        assert x_range[0] < t.x[0] < x_range[1] and y_range[0] < t.y[0] < y_range[1]
    spread = max(t.x[0] for t in averages) - min(t.x[0] for t in averages)
    assert x_range[1] - x_range[0] < 3 * spread  # zoomed: not the cloud's range
    assert len([a for a in fig.layout.annotations if a.showarrow]) == 2  # mean -> transfer


def test_x_ts_row_does_not_change_with_the_mode_and_the_note_says_why(cdlm_enc):
    model, enc = cdlm_enc
    views = {m: modulation_view(model, enc, 0.8, 0.1, m) for m in MODES}
    for m in MODES[1:]:  # D(gamma1 h_t + gamma2 eps): the same images and accuracy
        assert np.array_equal(views[m]["images"]["x~_ts"], views["full"]["images"]["x~_ts"])
        assert views[m]["acc_gen"] == views["full"]["acc_gen"]
    assert not np.array_equal(views["none"]["images"]["x^_ts"],
                              views["full"]["images"]["x^_ts"])  # D(z_ts) does change
    assert "does not change with the mode" in TEST_MODE_NOTE and "h_t" in TEST_MODE_NOTE


def test_the_equation_and_caption_follow_the_mode():
    for mode in MODES:
        eq = mode_equations(mode, 0.8, 0.4)
        assert eq["latex"] == MODE_EQUATIONS[mode]
        assert ("(10)" in eq["latex"]) == (mode == "full")
        assert ("Eq. 10" in eq["caption"]) == (mode == "full")
    assert "0.062" in mode_equations("full", 0.8)["caption"]  # ((1 - 0.8) / 0.8)^2
    assert "(11)" in MODE_EQUATIONS["pm1"] and "(12)" in MODE_EQUATIONS["pm1"]
    assert "Eq. 12" in mode_equations("pm1", 0.8, 0.4)["caption"]
    assert "(15)" in MODE_EQUATIONS["pm2"] and "0.400" in mode_equations("pm2", 1, 0.4)["caption"]
    assert "ratio 1" in mode_equations("none", 0.8)["caption"]
    with pytest.raises(ValueError):
        mode_equations("bogus", 1.0)


@pytest.mark.slow
def test_modulation_page_equation_and_notes_follow_the_mode(app_env):
    at = AppTest.from_file(str(ROOT / "pages/modulation.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert "(10)" in at.latex[0].value
    assert any(c.value == TEST_MODE_NOTE for c in at.caption)
    for mode in ("pm1", "pm2", "none"):
        at.radio(key="modulation.mode").set_value(mode).run()
        assert not at.exception, at.exception
        assert at.latex[0].value.strip("$\n") == MODE_EQUATIONS[mode]
        what = next(c.value for c in at.caption if c.value.startswith("What you are seeing"))
        assert "Eq. 10" not in what and mode_equations(mode, 1.0)["caption"][:20] in what
