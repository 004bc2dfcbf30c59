"""The Modulation and Bridge pages' numbers, tested without a UI on small untrained models."""
import numpy as np
import pytest
import torch

from dalab.methods import get_method
from dalab.ui.bridge_view import (ROW_NAMES, domain_classifier_paths, interpolation_rows,
                                  own_transfer_accuracy, page_transfer_accuracy,
                                  stratified_sample, toy_bridge)
from dalab.ui.modulation import encode_batch, modulation_view, predicted_gap, view_csv


def test_modulation_view_shapes_and_determinism(cdlm_enc):
    model, enc = cdlm_enc
    v = modulation_view(model, enc, 1.0, 0.1, "full", seed=3, dims=(2, 5), n_show=4)
    assert set(v["points"]) == {"mu_s", "mu_t", "mu_st", "mu_ts"}
    assert all(p.shape == (40, 2) for p in v["points"].values())
    assert np.allclose(v["points"]["mu_s"], enc["mu_s"][:, [2, 5]].numpy())
    assert all(im.shape == (4, 1, 28, 28) for im in v["images"].values())
    assert 0 <= v["acc_gen"] <= 1 and 0 <= v["acc_h"] <= 1
    w = modulation_view(model, enc, 1.0, 0.1, "full", seed=3, dims=(2, 5), n_show=4)
    assert w["kl_st_ts"] == v["kl_st_ts"]  # fixed noise: the same setting, the same numbers
    assert "mode,gamma1" in view_csv(v, 1.0, 0.1, "full")


def test_gamma1_moves_the_gap_and_eq10_is_the_prediction(cdlm_enc):
    model, enc = cdlm_enc
    a = modulation_view(model, enc, 0.5, 0.1, "full")
    b = modulation_view(model, enc, 2.0, 0.1, "full")
    assert a["kl_s_t"] == b["kl_s_t"] > 0       # the unmodulated gap does not depend on gamma
    assert a["kl_st_ts"] != b["kl_st_ts"]
    assert a["predicted_ratio"] == pytest.approx(1.0) and b["predicted_ratio"] == pytest.approx(0.25)
    assert b["equation"] == "Eq. 10"
    # Fig. 4: at eps = 0 the transfer means are mu + gamma1 sigma h of the partner
    mu_st = enc["mu_s"] + 2.0 * enc["sigma_s"] * enc["h_t"]
    assert np.allclose(b["points"]["mu_st"], mu_st[:, :2].numpy(), atol=1e-5)
    assert a["dist_s_t"] == b["dist_s_t"] and a["dist_st_ts"] != b["dist_st_ts"]


def test_mode_none_keeps_the_gap_and_pm_modes_ignore_gamma(cdlm_enc):
    model, enc = cdlm_enc
    v = modulation_view(model, enc, 1.7, 0.3, "none")
    assert v["ratio"] == pytest.approx(1.0) and v["predicted_ratio"] == pytest.approx(1.0)
    for mode, eq in (("pm1", "Eq. 12"), ("pm2", "Eq. 15")):
        a, b = (modulation_view(model, enc, g, 0.1, mode) for g in (0.5, 2.0))
        assert a["kl_st_ts"] == pytest.approx(b["kl_st_ts"]) and a["equation"] == eq


def test_modulation_view_refuses_bad_settings(cdlm_enc):
    model, enc = cdlm_enc
    with pytest.raises(ValueError, match="mode"):
        modulation_view(model, enc, 1.0, 0.1, "half")
    with pytest.raises(ValueError, match="dims"):
        modulation_view(model, enc, 1.0, 0.1, dims=(0, 8))
    with pytest.raises(ValueError, match="gamma1"):
        modulation_view(model, enc, 0.0, 0.1)
    with pytest.raises(ValueError):
        predicted_gap("x", 1.0, 0, 1, 1, 1)


def test_predicted_gap_formulas():
    assert predicted_gap("full", 2.0, 1.0, 1.0, -1.0, 1.0) == (pytest.approx(0.5), "Eq. 10")
    assert predicted_gap("pm1", 2.0, 1.0, 1.0, -1.0, 1.0)[0] == pytest.approx(2.0)
    assert predicted_gap("pm2", 2.0, 1.0, 1.0, -1.0, 1.0)[0] == pytest.approx(2.0)


def tiny_bridge(num_classes: int):
    """An untrained image bridge small enough for a unit test (seeded)."""
    torch.manual_seed(0)
    cls = get_method("bridge")
    cfg = cls.Config(base_hidden=32, base_layers=1, n_latent=8, bridge_hidden=16,
                     bridge_layers=1)
    return cls(cfg, input_shape=(1, 28, 28), num_classes=num_classes).eval()


def test_bridge_views_on_an_untrained_bridge():
    model = tiny_bridge(3)
    rng = np.random.default_rng(0)
    x = rng.random((10, 1, 28, 28), np.float32)
    rows = interpolation_rows(model, x[0], x[1], steps=5, kind="lerp")
    assert list(rows) == list(ROW_NAMES) and all(r.shape == (5, 1, 28, 28) for r in rows.values())
    acc = own_transfer_accuracy(model, x, x[::-1])
    assert set(acc) == {"source->target", "target->source"}
    assert all(0 <= v <= 1 for v in acc.values())


def test_stratified_sample_sees_every_class_of_a_class_sorted_split():
    y = np.repeat(np.arange(10), 100)           # class-sorted, as the test splits are
    idx = stratified_sample(y, 500, seed=0)
    assert np.bincount(y[idx]).tolist() == [50] * 10
    assert not np.array_equal(idx, stratified_sample(y, 500, seed=1))


def test_page_transfer_accuracy_uses_the_given_domain_classifiers():
    """A classifier that reads the mean brightness disagrees with one that always says 0:
    the page's number comes from the classifiers it is given, not from the bridge's head."""
    model = tiny_bridge(2)
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 28, 28), np.float32)
    y = np.arange(40) % 2

    def zero(xb):
        return torch.stack([torch.ones(len(xb)), torch.zeros(len(xb))], 1)
    same = page_transfer_accuracy(model, x, y, x, y, zero, zero, n=20)
    assert same["source->target"] == 1.0 and same["target->source"] == 1.0
    assert 0 <= same["target accuracy"] <= 1

    def flip(xb):
        return torch.stack([torch.zeros(len(xb)), torch.ones(len(xb))], 1)
    assert page_transfer_accuracy(model, x, y, x, y, zero, flip, n=20)["source->target"] == 0.0


def test_domain_classifiers_come_from_single_domain_zoo_models():
    paths = domain_classifier_paths(("mnist", "digits", "no-such-domain"))
    assert set(paths) == {"mnist", "digits"}
    assert "source_only_mnist" in paths["mnist"] and "digits" in paths["digits"]


def test_toy_bridge_returns_plot_arrays():
    x_1, y_1, x_2, y_2, out = toy_bridge(steps=5, n=50)
    assert x_1.shape == (50, 2) and out["x_12"].shape == (50, 2) and out["shared_2"].shape == (50, 2)
    assert out["boundary_w"].shape == (2, 2) and len(out["losses"]) == 5


# -- Results page (issue 14) ------------------------------------------------------------------

def _bench_row(method, mean, sd, seeds, **extra):
    return {"source": "mnist", "target": "digits", "method": method, "mean": mean, "sd": sd,
            "seeds": seeds, "gap_closed": 0.5, "steps": [100], "steps_per_second": 10.0,
            "device": ["cpu"], "paper": [], **extra}


BENCH = [_bench_row("dann", 0.80, 0.011, 3), _bench_row("skada:DANN", 0.76, 0.0, 1),
         _bench_row("source_only", 0.70, 0.02, 3),
         _bench_row("target_only", 0.98, 0.004, 3, uses_target_labels=True)]


def test_results_table_shows_no_sd_for_one_seed():
    from dalab.ui.models import results_table
    table = results_table(BENCH)
    sd = {r["method"]: r["sd"] for r in table}
    assert sd["skada:DANN"] == "-" and sd["dann"] == "0.0110"
    assert [r["method"] for r in table][0] == "target_only (uses target labels)"  # by mean


def test_results_figure_bars_per_method_and_the_two_reference_levels():
    from dalab.ui.figures import results_figure
    fig = results_figure(BENCH)
    bars = fig.data[0]
    assert list(bars.x) == ["dann", "skada:DANN"] and list(bars.y) == [0.80, 0.76]
    assert list(bars.error_y.array) == [0.011, 0.0]  # no error bar from a single seed
    levels = sorted(s.y0 for s in fig.layout.shapes)
    assert levels == [0.70, 0.98]
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "source-only 0.700" in texts and "target-only 0.980" in texts
    assert fig.layout.yaxis.title.text == "mean target test accuracy"


# -- KL-gap calculator (issue 14) -------------------------------------------------------------

@pytest.mark.parametrize("gamma1", [0.2, 0.3, 0.33, 0.5, 2.0])
def test_gap_ratio_figure_keeps_the_marker_inside_the_axis(gamma1):
    from dalab.analysis.kl import gap_ratio
    from dalab.ui.figures import gap_ratio_figure
    fig = gap_ratio_figure(gamma1)
    lo, hi = fig.layout.yaxis.range
    assert lo <= gap_ratio(gamma1) < hi


def test_gaussians_figure_draws_the_four_densities_with_the_pages_moments():
    from dalab.analysis.kl import modulated_moments
    from dalab.ui.figures import gaussians_figure
    mu_s, sd_s, mu_t, sd_t, g1 = 2.0, 0.5, -1.0, 1.5, 0.8
    fig = gaussians_figure(mu_s, sd_s, mu_t, sd_t, g1)
    assert [t.name.split(" ")[0] for t in fig.data] == ["s", "t", "z_st", "z_ts"]
    m_st, s_st, m_ts, s_ts = modulated_moments(mu_s, sd_s, mu_t, sd_t, g1)
    for trace, (mu, sd) in zip(fig.data, [(mu_s, sd_s), (mu_t, sd_t), (m_st, s_st),
                                          (m_ts, s_ts)]):
        x, y = np.asarray(trace.x), np.asarray(trace.y)
        assert x[np.argmax(y)] == pytest.approx(mu, abs=(x[1] - x[0]))  # the peak at mu
        assert y.max() == pytest.approx(1 / (sd * np.sqrt(2 * np.pi)), rel=1e-2)
        assert np.trapezoid(y, x) == pytest.approx(1.0, abs=1e-3)  # all the mass is drawn
    # a new mu moves the curves (the old plot ignored mu and sigma)
    moved = gaussians_figure(mu_s + 3, sd_s, mu_t, sd_t, g1)
    assert np.asarray(moved.data[0].x)[np.argmax(moved.data[0].y)] > mu_s + 2


def test_unit_sigma_note_only_when_sigma_s_is_not_one():
    from dalab.ui.figures import unit_sigma_note
    assert unit_sigma_note(1.0) is None
    note = unit_sigma_note(2.0)
    assert "σ_s = 1" in note and "Eq. 9" in note and "2" in note


# -- default model and the at-chance flag (issue 14) -------------------------------------------

def _model(name, acc, source="mnist", target="digits", num_classes=10):
    return {"label": f"zoo: {name}", "path": name, "method": name.split("_")[0],
            "source": source, "target": target, "accuracy": acc, "num_classes": num_classes}


def test_at_chance_is_one_and_a_half_times_the_uniform_guess():
    from dalab.ui.models import at_chance
    assert at_chance(0.10, 10) and at_chance(0.15, 10) and not at_chance(0.16, 10)
    assert at_chance(0.75, 2) and not at_chance(0.76, 2)
    assert not at_chance(None, 10) and not at_chance(0.1, None)  # unknown: not flagged


def test_default_model_is_the_best_working_model_of_the_pair():
    from dalab.ui.models import default_index
    models = [_model("bridge_m2d", 0.10), _model("cdlm_m2d", 0.86), _model("dann_m2d", None),
              _model("dfa_d2m", 0.95, "digits", "mnist"), _model("dann_m2d_b", 0.80)]
    assert default_index(models, "mnist -> digits") == 1
    assert default_index(models, None) == 3  # any pair: the best of all
    assert default_index(models, "mnist -> mnistm") == 3  # no model of that pair: all
    chance = [_model("bridge_a", 0.10), _model("bridge_b", 0.12), _model("x", None)]
    assert default_index(chance, "mnist -> digits") == 1  # all at chance: still the best
    assert default_index([], None) == 0
    # the upper bound (target labels) is not what a page opens on, even when it scores best
    oracle = [_model("cdlm_m2d", 0.86),
              {**_model("target_only_m2d", 0.98), "labels": "uses target labels"}]
    assert default_index(oracle, "mnist -> digits") == 0


def test_picker_label_flags_a_model_at_chance_and_keeps_its_name():
    from dalab.ui.models import AT_CHANCE, picker_label
    m = _model("bridge_m2d", 0.10)
    assert picker_label(m) == "zoo: bridge_m2d"  # not marked by available(): no flag
    assert picker_label({**m, "at_chance": True}) == "zoo: bridge_m2d" + AT_CHANCE


def test_kl_gap_bars_use_a_log_scale_with_a_floor_for_zero():
    from dalab.ui.figures import kl_gap_figure
    fig = kl_gap_figure(2.0, 0.05, 0.0, "Eq. 10")  # gamma1 = 1: Eq. 10 predicts exactly 0
    bars = fig.data[0]
    assert fig.layout.yaxis.type == "log" and "log scale" in fig.layout.yaxis.title.text
    assert list(bars.y[:2]) == [2.0, 0.05] and 0 < bars.y[2] < 0.05  # 0 drawn below the rest
    assert list(bars.text) == ["2", "0.05", "0"]  # the labels keep the true values
    assert min(kl_gap_figure(0.0, 0.0, 0.0, "Eq. 7").data[0].y) > 0


# -- Table 6 live: the gamma1 x gamma2 map (issue 14) ------------------------------------------

@pytest.fixture(scope="module")
def sensitive_cdlm():
    """An untrained CDLM whose classifier reads the tiny differences of its ``h`` (scaled
    weights, centred on the generations' mean ``h``), so the test-mode accuracy moves with the
    gammas (the plain untrained model predicts one class everywhere)."""
    torch.manual_seed(0)
    model = get_method("cdlm")(get_method("cdlm").Config(latent_dim=8), input_shape=(1, 28, 28),
                               num_classes=3).eval()
    rng = np.random.default_rng(0)
    x_s, x_t = rng.random((40, 1, 28, 28), np.float32), rng.random((40, 1, 28, 28), np.float32)
    with torch.no_grad():
        h = model.E(model.decode(model.E(torch.from_numpy(x_t))[2]))[2]
        model.C.weight.mul_(1e4)
        model.C.bias.copy_(-model.C.weight @ h.mean(0))
    return model, encode_batch(model, x_s, x_t, np.arange(40) % 3)


def test_gamma_grid_shape_and_cells_equal_the_single_point_view(sensitive_cdlm):
    from dalab.ui.modulation import GAMMA1_GRID, GAMMA2_GRID, gamma_grid
    model, enc = sensitive_cdlm
    assert len(GAMMA1_GRID) >= 8 and len(GAMMA2_GRID) >= 8
    assert min(GAMMA1_GRID) == 0.1 and max(GAMMA1_GRID) == 3.0
    assert min(GAMMA2_GRID) == 0.0 and max(GAMMA2_GRID) == 1.0
    g1s, g2s = (0.3, 1.0, 2.5), (0.0, 0.2, 0.9, 1.0)
    g = gamma_grid(model, enc, g1s, g2s, "full", seed=3, batch_size=50)  # chunks split a cell
    assert g["acc_gen"].shape == g["kl_st_ts"].shape == g["ratio"].shape == (3, 4)
    assert list(g["gamma1"]) == list(g1s) and list(g["gamma2"]) == list(g2s)
    assert len(np.unique(g["acc_gen"])) > 2  # the accuracy moves: the check below can fail
    for i, j in np.ndindex(3, 4):
        v = modulation_view(model, enc, g1s[i], g2s[j], "full", seed=3)
        assert g["acc_gen"][i, j] == pytest.approx(v["acc_gen"])
        assert g["kl_st_ts"][i, j] == pytest.approx(v["kl_st_ts"])
        assert g["ratio"][i, j] == pytest.approx(v["ratio"])
        assert g["kl_s_t"] == pytest.approx(v["kl_s_t"])
    assert len(np.unique(g["kl_st_ts"])) > 1  # the gammas move the measured gap
    # other modes: the gap ignores the gammas, the generations (test mode) do not
    none = gamma_grid(model, enc, g1s, g2s, "none", seed=3)
    assert np.allclose(none["ratio"], 1.0)
    with pytest.raises(ValueError, match="gamma1"):
        gamma_grid(model, enc, (0.0, 1.0), g2s)


def test_grid_marker_sits_on_the_current_gammas():
    from dalab.ui.modulation import grid_marker
    g1s, g2s = (0.1, 0.5, 1.0, 2.0), (0.0, 0.1, 0.5)
    assert grid_marker(g1s, g2s, 1.0, 0.1) == (2.0, 1.0)   # on a grid point: its cell
    assert grid_marker(g1s, g2s, 1.5, 0.3) == pytest.approx((2.5, 1.5))  # between: between
    assert grid_marker(g1s, g2s, 5.0, -1.0) == (3.0, 0.0)  # outside: clipped to the edge


def test_gamma_grid_figure_draws_the_map_and_marks_the_current_setting():
    from dalab.ui.figures import gamma_grid_figure
    g1s, g2s = (0.1, 0.5, 1.0, 2.0), (0.0, 0.1, 0.5)
    z = np.arange(12, dtype=float).reshape(4, 3) / 12
    fig = gamma_grid_figure(z, g1s, g2s, 1.5, 0.3, title="accuracy")
    heat, mark = fig.data
    assert np.array_equal(np.asarray(heat.z), z)
    assert list(fig.layout.yaxis.ticktext) == ["0.1", "0.5", "1", "2"]  # rows: gamma1
    assert list(fig.layout.xaxis.ticktext) == ["0", "0.1", "0.5"]      # columns: gamma2
    assert (mark.x[0], mark.y[0]) == pytest.approx((1.5, 2.5))
    assert "1.5" in mark.hovertext[0] and "0.3" in mark.hovertext[0]
    log = gamma_grid_figure(np.full((4, 3), 10.0), g1s, g2s, 1.0, 0.1, title="ratio", log=True)
    assert np.allclose(np.asarray(log.data[0].z), 1.0)       # colour on log10
    assert "10" in log.data[0].text[0][0]                    # the labels keep the true value


# -- the Train page's numbers (issue 14: Train page) -----------------------------------------

def test_loss_series_has_every_loss_component_per_step_within_a_point_budget():
    from dalab.ui.trainer import loss_series
    rows = [{"step": s, "loss": 2.0 + s, "loss_cls": 1.0 * s, "loss_dom": 0.5, "lr": 0.1}
            for s in range(1, 1001)]
    few = loss_series(rows[:10], max_points=400)
    assert list(few) == ["step", "loss", "loss_cls", "loss_dom"]  # not lr: not a loss
    assert few["step"] == list(range(1, 11)) and few["loss_cls"] == [float(s) for s in range(1, 11)]
    many = loss_series(rows, max_points=400)
    assert 200 <= len(many["step"]) <= 400 and many["step"][-1] == 1000
    assert many["loss_dom"] == [0.5] * len(many["step"])
    assert many["loss_cls"][0] == pytest.approx(sum(range(1, 4)) / 3)  # buckets of 3 steps
    # a component that starts later (a second phase) has gaps before it, not zeros
    late = loss_series([{"step": 1, "loss": 1.0}, {"step": 2, "loss": 1.0, "loss_d": 3.0}])
    assert late["loss_d"] == [None, 3.0]


def test_metrics_tail_reads_only_what_was_appended_and_follows_a_rewrite(tmp_path):
    from dalab.runs import MetricsLog, read_metrics
    from dalab.ui.trainer import MetricsTail
    path = tmp_path / "metrics.csv"
    tail = MetricsTail(path)
    assert tail.read() == 0 and tail.rows == []  # no file yet
    log = MetricsLog(path)
    for s in range(1, 6):
        log.write(s, {"loss": s / 10, "loss_cls": s / 20})
    log.flush()
    assert tail.read() == 5 and tail.rows == read_metrics(tmp_path)
    pos = tail._pos
    for s in range(6, 9):
        log.write(s, {"loss": s / 10, "loss_cls": s / 20})
    log.flush()
    assert tail.read() == 3 and tail._pos > pos and tail.rows == read_metrics(tmp_path)
    assert tail.read() == 0  # nothing new: nothing parsed
    log.write(9, {"loss": 0.9, "loss_cls": 0.45, "loss_ent": 1.0})  # a new column: rewritten
    log.flush()
    tail.read()
    assert tail.rows == read_metrics(tmp_path) and tail.rows[-1]["loss_ent"] == 1.0
    with open(path, "a") as f:
        f.write("10,1.0")  # a line still being written is left for the next read
    tail.read()
    assert tail.rows[-1]["step"] == 9


def test_training_figure_has_numeric_axes_and_one_line_per_loss_component():
    """Issue 14: the accuracy axis read "0, 0, 0.62, 0.478, ..." (categories, not numbers)."""
    import numpy as np
    from dalab.ui.figures import training_figure
    series = {"step": [1, 2, 3], "loss": [2.0, 1.5, 1.0], "loss_cls": [1.0, 0.8, 0.5],
              "loss_dom": [0.7, None, 0.6]}
    history = [{"step": 2, "target_test": np.float32(0.0), "source_test": "0.62"},
               {"step": 3, "target_test": 0.478, "source_test": 0.7}]
    fig = training_figure(series, history)
    names = [t.name for t in fig.data]
    assert names == ["loss", "loss_cls", "loss_dom", "target_test", "source_test"]
    acc = [t for t in fig.data if t.name in ("target_test", "source_test")]
    assert {t.yaxis for t in acc} == {"y2"} and {t.yaxis for t in fig.data[:3]} == {"y"}
    for t in fig.data:  # plain numbers (never strings or numpy scalars) on every trace
        assert all(v is None or type(v) is float for v in t.y), (t.name, t.y)
        assert all(type(v) is int for v in t.x)
    assert list(acc[1].y) == [0.62, 0.7]
    assert fig.layout.yaxis.type == "linear" and fig.layout.yaxis2.type == "linear"
    assert tuple(fig.layout.yaxis2.range) == (0, 1) and fig.layout.yaxis2.tickformat == ".2f"
    assert fig.layout.xaxis.type == "linear"


def test_status_text_says_stopping_until_the_trainer_reports_stopped():
    from dalab.ui.trainer import status_text
    snap = {"state": "stopping", "step": 40, "steps": 300}
    assert status_text(snap) == "stopping...: step 40 / 300"
    assert status_text({**snap, "state": "stopped"}) == "stopped: step 40 / 300"
    assert status_text({**snap, "state": "running"}) == "running: step 40 / 300"


def test_trainer_threads_leave_a_core_to_the_page_unless_told():
    from dalab.ui.trainer import trainer_threads
    assert trainer_threads(2, {}) == 1 and trainer_threads(8, {}) == 7
    assert trainer_threads(1, {}) == 1 and trainer_threads(None, {}) == 1
    assert trainer_threads(8, {"OMP_NUM_THREADS": "3"}) is None  # the user's choice stays


# "Paper says / this model shows" (dalab/ui/claims.py): each claim with inputs that make it hold
# and inputs that make it fail


def test_gap_direction_keeps_only_within_the_tolerance():
    from dalab.ui.claims import gap_direction
    assert [gap_direction(r) for r in (0.0, 0.94, 1.0, 1.04, 1.2)] == [
        "shrinks", "shrinks", "keeps", "keeps", "grows"]
    assert gap_direction(float("nan")) == "undefined"


def test_modulation_claim_holds_when_the_gap_moves_as_the_equation_says():
    from dalab.ui.claims import modulation_claim
    paper, shown, holds = modulation_claim(0.3, 0.0, "Eq. 10", "full")
    assert holds and paper.startswith("Eq. 10 predicts KL(st‖ts) = 0.00 × KL(s‖t)")
    assert shown.startswith("measured 0.30 ×")
    # the docs' zoo model at gamma1 = 1: Eq. 10 says 0, it measures 3.2 (the gap grows)
    paper, shown, holds = modulation_claim(3.2, 0.0, "Eq. 10", "full", sigma_s_mean=1.7,
                                           h_t_mean=0.51, mu_t_mean=0.02)
    assert not holds
    assert "σ_s averages 1.70" in shown and "h_t averages 0.51" in shown
    assert modulation_claim(1.0, 1.0, "Eq. 7", "none")[2]  # a plain VAE keeps the gap
    assert not modulation_claim(0.5, 1.0, "Eq. 7", "none")[2]
    assert "σ_s" not in modulation_claim(0.86, 0.32, "Eq. 12", "pm1", 1.7, 0.5, 0.0)[1]


def test_kl_gap_claim_holds_for_unit_sigmas_only():
    from dalab.ui.claims import kl_gap_claim
    paper, shown, holds = kl_gap_claim(1.0, 1.0, -1.0, 1.0, 0.8)
    assert holds and "0.062" in paper and "0.062" in shown  # ((1-0.8)/0.8)^2 = 0.0625
    assert kl_gap_claim(1.0, 1.0, -1.0, 1.0, 1.0)[2]  # both 0
    assert not kl_gap_claim(1.0, 2.0, -1.0, 1.0, 0.8)[2]  # sigma_s = 2
    assert not kl_gap_claim(1.0, 1.0, 1.0, 1.0, 0.8)[2]  # no gap to shrink: undefined


def test_latent_alignment_and_bridge_claims_hold_and_fail():
    from dalab.ui import claims
    assert claims.latent_claim(0.4, 0.8)[2] and not claims.latent_claim(0.4, 1.2)[2]
    assert "0.40" in claims.latent_claim(0.4, 0.8)[1]
    assert claims.alignment_claim(0.43, 1.89)[2] and not claims.alignment_claim(2.0, 1.89)[2]
    assert "1.89" in claims.alignment_claim(2.0, 1.89)[0]
    # issue 25: the citation follows the method compared (DFA's own figure for DFA models)
    assert claims.alignment_claim(0.4, 1.9, method="dfa_mcd")[0].startswith("DFA Fig. 5")
    assert claims.alignment_claim(0.4, 1.9, method="cdlm")[0].startswith("CDLM Fig. 9")
    assert claims.bridge_claim(0.95, 0.9)[2] and not claims.bridge_claim(0.95, 0.5)[2]


def test_verdict_names_a_model_that_shows_the_effect_or_says_none_does():
    from dalab.ui.claims import first_holding, verdict
    assert first_holding([("a", False), ("b", True), ("c", True)]) == "b"
    assert first_holding(iter([("a", False)])) is None
    assert verdict("X", True, None) is None
    assert verdict("X", False, "zoo: b") == "This model does not show X; zoo: b does."
    assert verdict("X", False, None, "the zoo").endswith("nothing in the zoo does either.")


def test_gap_at_is_the_single_views_gap(cdlm_enc):
    from dalab.ui.modulation import gap_at, modulation_view
    model, enc = cdlm_enc
    v = modulation_view(model, enc, 0.7, 0.1, "full", seed=0)
    g = gap_at(enc, 0.7, 0.1, "full", seed=0)
    assert g["ratio"] == pytest.approx(v["ratio"]) and g["equation"] == v["equation"]
    assert g["predicted_ratio"] == pytest.approx(v["predicted_ratio"])
    assert g["sigma_s_mean"] == pytest.approx(float(enc["sigma_s"].mean()))


# projector mode (dalab/ui/present.py)


def test_projector_mode_reads_the_link_and_the_toggle():
    from dalab.ui.present import is_present
    assert is_present("1") and is_present(["0", "true"]) and not is_present(None)
    assert not is_present("0") and not is_present("1", toggle=False)
    assert is_present(None, toggle=True)


def test_size_figure_fits_1280_by_720_only_in_projector_mode():
    import plotly.graph_objects as go
    from dalab.ui.present import CSS, FONT_PX, MARKER, SCREEN, size_figure
    fig = size_figure(go.Figure(layout=dict(height=380)), False)
    assert fig.layout.height == 380 and fig.layout.width is None and fig.layout.font.size is None
    fig = size_figure(go.Figure(layout=dict(height=380)), True, columns=2)
    assert fig.layout.width <= SCREEN[0] // 2 and fig.layout.height <= SCREEN[1]
    assert fig.layout.font.size >= 18
    assert f'id="{MARKER}"' in CSS and f"font-size: {FONT_PX}px" in CSS and FONT_PX > 16


# Home page cards (dalab/ui/cards.py): long equations in lines that fit half a 1440-pixel page


def test_card_equations_are_split_into_lines_that_fit_a_card():
    from dalab.methods import list_methods
    from dalab.ui.cards import MAX_EQUATION_CHARS, card_latex, split_equation, visible_length
    for m in list_methods():
        lines = split_equation(m.equation)
        assert "".join(lines) == m.equation  # nothing lost or reordered
        assert all(visible_length(line) <= MAX_EQUATION_CHARS for line in lines), m.name
    assert visible_length(r"\mathcal{L}_{rec}+\lambda") == 6
    long = r"a=b+c+d,\quad e_{f}=|g-h|"
    assert split_equation(long, 6) == [r"a=b+c", r"+d,\quad", r" e_{f}", r"=|g-h|"]  # not in |..|
    assert card_latex(long, 100) == long
    assert card_latex(long, 6).startswith(r"\begin{gathered}")


def test_latent_page_opens_on_dfa_against_source_only():
    """Issue 25: DFA Fig. 8-9 compare a DFA model with source-only; the page opened on DFA vs
    CDLM. The right-hand model is source-only on the left's pair."""
    from dalab.ui.models import latent_defaults
    ms = [{"method": "cdlm", "source": "a", "target": "b", "accuracy": 0.86},
          {"method": "dfa_ent", "source": "a", "target": "b", "accuracy": 0.88},
          {"method": "dfa_mcd", "source": "a", "target": "b", "accuracy": 0.91},
          {"method": "source_only", "source": "c", "target": "d", "accuracy": 0.7},
          {"method": "source_only", "source": "a", "target": "b", "accuracy": 0.77}]
    assert latent_defaults(ms, None) == (2, 4)
    assert latent_defaults(ms, 0) == (0, 4)      # the sidebar's CDLM stays on the left
    assert latent_defaults(ms[:3], None) == (2, 1)  # no source-only: the next model


def test_cdlm_table3_rows_and_the_line_that_says_where_they_differ():
    from dalab.ui.paper_tables import CDLM_TABLE3, cdlm_table3
    rows, line = cdlm_table3()
    assert len(rows) == 4 and rows[0]["L_c terms"] == "none"
    assert "+0.32" in line and "+0.68" in line  # the paper's, and ours with L_gen off
    # the paper's pattern with L_gen off: none < target only < source only
    off = {t.split(" (")[0]: o for t, _, _, o in CDLM_TABLE3}
    assert off["none"] < off["target only"] < off["source only"]


def test_fig4_opens_on_the_dimensions_that_show_the_aggregate(cdlm_enc):
    """Issue 25: dimensions 0 and 1 showed the transfer means farther apart while the
    aggregate said closer. The chosen pair changes most in the aggregate's direction."""
    import torch

    from dalab.ui.modulation import modulation_view, representative_dims
    model, enc = cdlm_enc
    (i, j), closer = representative_dims(enc, 1.0, 0.1)
    v = modulation_view(model, enc, 1.0, 0.1, dims=(i, j))
    assert closer == (v["dist_st_ts"] < v["dist_s_t"])
    # in the chosen two dimensions the averages move the aggregate's way
    p = v["points"]
    before = torch.tensor(p["mu_s"].mean(0) - p["mu_t"].mean(0)).norm()
    after = torch.tensor(p["mu_st"].mean(0) - p["mu_ts"].mean(0)).norm()
    assert (after < before) == closer
