"""AppTest of the Explore pages and the sidebar on a tiny real zoo (tests/conftest.py)."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
# alignment.py is left out: its two t-SNE maps take ~25 s; test_app.py covers it with runs
PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py") if p.name != "alignment.py")


def _metric(at, start):
    return next(float(m.value) for m in at.metric if m.label.startswith(start))


@pytest.mark.slow
def test_modulation_page_follows_gamma1_and_mode(app_env):
    at = AppTest.from_file(str(ROOT / "pages/modulation.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    ratio = _metric(at, "measured KL(st‖ts) / KL(s‖t)")
    acc = _metric(at, "accuracy on x~_ts")
    assert 0 <= acc <= 1
    at.slider(key="modulation.gamma1").set_value(2.0).run()
    assert not at.exception
    assert _metric(at, "measured KL(st‖ts) / KL(s‖t)") != ratio
    assert _metric(at, "predicted ratio") == pytest.approx(0.25, abs=1e-3)  # Eq. 10 at 2.0
    assert at.query_params["gamma1"] in ("2.0", ["2.0"])
    at.radio(key="modulation.mode").set_value("none").run()
    assert _metric(at, "measured KL(st‖ts) / KL(s‖t)") == pytest.approx(1.0)
    ms = next(c.value for c in at.caption if c.value.startswith("New numbers"))
    assert " ms " in ms
    # the gamma1 x gamma2 map (Table 6 live): both heatmaps, ring on the sliders' setting
    maps = {c.key: c for c in at.get("plotly_chart") if c.key in ("grid_acc", "grid_gap")}
    assert set(maps) == {"grid_acc", "grid_gap"}


@pytest.mark.slow
def test_modulation_page_survives_a_bad_link(app_env):
    at = AppTest.from_file(str(ROOT / "pages/modulation.py"), default_timeout=60)
    at.query_params.update({"gamma1": "9", "dim_y": "99", "mode": "nonsense"})
    at.run()
    assert not at.exception, at.exception
    assert at.slider(key="modulation.gamma1").value == 3.0
    assert at.number_input(key="modulation.dim_y").value == 15


@pytest.mark.slow
def test_widget_keys_are_per_page_and_kept_across_navigation(app_env):
    """Issue 14: one shared key made γ1 = 3.0 on Modulation show up on the KL-gap page (whose
    slider stops at 2.0); each page's own setting must also survive a visit elsewhere."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)

    def visit(page):
        at.query_params.clear()  # a server's navigation drops the link; AppTest keeps it
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, at.exception
        return at.slider(key=f"{page}.gamma1")

    visit("kl_gap").set_value(1.5).run()
    visit("modulation").set_value(3.0).run()
    assert visit("kl_gap").value == 1.5
    assert visit("modulation").value == 3.0


def test_kl_gap_deep_link_is_clamped_into_the_slider(app_env):
    at = AppTest.from_file(str(ROOT / "pages/kl_gap.py"), default_timeout=60)
    at.query_params.update({"gamma1": "5", "sigma_t": "nan"})
    at.run()
    assert not at.exception, at.exception
    assert at.slider(key="kl_gap.gamma1").value == 2.0
    assert at.number_input(key="kl_gap.sigma_t").value == 1.0
    assert any("gamma1: 5 is outside 0.2-2.0" in c.value for c in at.caption)


def test_modulation_page_without_a_cdlm_model(tmp_path, monkeypatch):
    import streamlit as st
    monkeypatch.setenv("DALAB_ZOO_DIR", str(tmp_path / "no-zoo"))
    monkeypatch.chdir(tmp_path)
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "pages/modulation.py"), default_timeout=60).run()
    assert not at.exception and "needs a CDLM model (method cdlm)" in at.info[0].value
    assert "Train" in at.info[0].value
    st.cache_data.clear()


@pytest.mark.slow
def test_bridge_page_follows_steps_and_kind(app_env):
    at = AppTest.from_file(str(ROOT / "pages/bridge.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    acc = _metric(at, "transfer accuracy source -> target")
    assert 0 <= acc <= 1
    at.radio(key="bridge.kind").set_value("lerp").run()
    assert not at.exception and at.query_params["kind"] in ("lerp", ["lerp"])
    at.radio(key="bridge.pick").set_value("two images").run()
    at.number_input(key="bridge.img_b").set_value(5).run()
    assert not at.exception
    assert any("image 5 (class" in c.value for c in at.caption)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_tiny_zoo(app_env, page):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120).run()
    assert not at.exception, at.exception


def test_app_sidebar_lists_the_zoo_and_pages_follow_it(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="dalab_pair").options == ["any pair", "mnist -> digits"]
    assert len(at.sidebar.selectbox(key="dalab_model_index").options) == 2
    assert any("Pretrained zoo: 2 model(s)" in s.value for s in at.success)  # home page
    # AppTest re-enters Streamlit's legacy pages/ mode on every rerun, which drops the
    # sidebar (a real server does not: tests/test_browser.py), so: one fresh run per choice
    for i in range(2):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["dalab_model_index"] = i
        at.switch_page("pages/latent.py").run()
        assert not at.exception
        chosen = at.session_state["dalab_model"]
        left = next(b for b in at.selectbox if b.label == "Model (left)")
        assert left.value == "zoo: " + Path(chosen).name


def test_home_page_has_a_card_per_method_and_says_when_the_zoo_is_empty(tmp_path, monkeypatch):
    from dalab.methods import METHODS
    monkeypatch.setenv("DALAB_ZOO_DIR", str(tmp_path / "no-zoo"))
    at = AppTest.from_file(str(ROOT / "pages/home.py"), default_timeout=60).run()
    assert not at.exception
    assert "is empty" in at.info[0].value and "Train" in at.info[0].value
    assert len(at.latex) == len(METHODS)


@pytest.mark.slow
def test_a_killed_run_is_listed_as_incomplete_and_breaks_no_page(app_env):
    """A run killed right after its step-0 checkpoint (no evaluation yet: no accuracy) sits in
    runs/: the sidebar lists it flagged, and the pages that list models still render."""
    from dalab.train import fit, prepare

    class Died(Exception):
        pass

    def die(ev):
        if ev.kind == "checkpoint":
            raise Died
    model, pair = prepare("cdlm", "mnist", "digits", overrides=["batch_size=8"])
    with pytest.raises(Died):
        fit(model, pair, 10, out=Path("runs") / "killed", checkpoint_every=5, callbacks=[die])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    labels = at.sidebar.selectbox(key="dalab_model_index").options
    assert any("killed (incomplete, step 0)" in s and "target acc -" in s for s in labels), \
        labels
    for page in ("latent.py", "modulation.py", "kl_gap.py"):
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120).run()
        assert not at.exception, (page, at.exception)


def test_datasets_page_offers_only_domains_it_can_compare(app_env):
    """ellipse-1 (2 classes) used to default "Compare with" to a one-class cloud: DataError."""
    at = AppTest.from_file(str(ROOT / "pages/datasets.py"), default_timeout=120).run()
    at.selectbox[0].set_value("ellipse-1").run()
    assert not at.exception, at.exception
    assert at.selectbox[1].options == ["ellipse-2"]
    at.selectbox[0].set_value("moons-s").run()
    assert not at.exception and "ellipse-2" not in at.selectbox[1].options


def test_alignment_page_with_the_same_model_left_and_right(app_env, tmp_path, monkeypatch):
    """Same model on both sides used to raise StreamlitDuplicateElementKey."""
    monkeypatch.setenv("DALAB_ALIGNMENT_CACHE", str(tmp_path / "alignment-cache"))
    at = AppTest.from_file(str(ROOT / "pages/alignment.py"), default_timeout=180).run()
    at.slider[0].set_value(100).run()
    at.selectbox[1].set_value(at.selectbox[0].value).run()
    at.button(key="alignment.compute").click().run()
    assert not at.exception, at.exception
    assert {c.key for c in at.get("plotly_chart")} == {"emb-left", "emb-right"}


def _a_distances(at):
    return [m.value for m in at.metric if "A-distance" in m.label]


@pytest.mark.slow
def test_alignment_page_computes_on_request_and_keeps_the_last_maps(app_env, tmp_path,
                                                                     monkeypatch):
    """Issue 14: every control change recomputed the maps (13-19 s each). Now nothing is
    computed before Compute, a control change keeps the maps with a note, and a new session
    (a reload) shows the maps from the disk cache at once."""
    monkeypatch.setenv("DALAB_ALIGNMENT_CACHE", str(tmp_path / "alignment-cache"))
    at = AppTest.from_file(str(ROOT / "pages/alignment.py"), default_timeout=180).run()
    assert not at.exception, at.exception
    assert not at.get("plotly_chart") and "Compute" in at.info[0].value
    at.slider(key="alignment.n").set_value(100).run()
    assert not at.get("plotly_chart")  # a control alone computes nothing
    at.button(key="alignment.compute").click().run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2 and not at.info
    before = _a_distances(at)
    assert len(before) == 2 and all("common 8-d" in m.label for m in at.metric
                                    if "A-distance" in m.label)
    assert any("Common representation" in c.value for c in at.caption)
    at.slider(key="alignment.n").set_value(200).run()  # changed, not recomputed
    assert len(at.get("plotly_chart")) == 2 and _a_distances(at) == before
    assert "controls changed" in at.info[0].value
    at.radio(key="alignment.colour").set_value("domain").run()  # a redraw, still no compute
    assert _a_distances(at) == before
    import streamlit as st
    st.cache_data.clear()  # a new server process: only the disk cache is left
    again = AppTest.from_file(str(ROOT / "pages/alignment.py"), default_timeout=60)
    again.session_state["alignment.n"] = 100
    again.run()
    assert not again.exception, again.exception
    assert len(again.get("plotly_chart")) == 2 and _a_distances(again) == before
    assert any(c.value.startswith("From the cache") for c in again.caption)
    again.button(key="alignment.compare_button").click().run()
    assert not again.exception, again.exception
    # both tiny models are at chance: neither may be called the best aligned
    assert any("every one is at chance" in m.value for m in again.markdown)
    table = again.dataframe[0].value
    assert len(table) == 2 and all(table["note"].str.startswith("at chance"))
    assert not table["below raw pixels"].any()


def test_kl_gap_page_warns_when_sigma_s_is_not_one(app_env):
    at = AppTest.from_file(str(ROOT / "pages/kl_gap.py"), default_timeout=60).run()
    assert not at.exception and not at.warning
    at.number_input(key="kl_gap.sigma_s").set_value(2.0).run()
    assert not at.exception and "Eq. 9-10" in at.warning[0].value


def test_sidebar_opens_on_the_best_working_model_and_flags_chance(app_env, tmp_path,
                                                                 monkeypatch):
    """Issue 14: the sidebar opened on the first model listed, a bridge at chance (0.10). Both
    tiny models are at chance, so a copy of the zoo records tiny-cdlm at 0.80."""
    import json
    import shutil

    import streamlit as st
    from dalab import zoo as dalab_zoo
    from dalab.ui.models import AT_CHANCE
    zoo = tmp_path / "zoo"
    shutil.copytree(app_env, zoo)
    index = json.loads((zoo / "index.json").read_text())
    for e in index["entries"]:
        if e["name"] == "tiny-cdlm":
            e["accuracy"]["target_test"] = 0.8
            e["sealed"] = dalab_zoo.entry_digest(e)  # a deliberate edit, sealed anew
    (zoo / "index.json").write_text(json.dumps(index))
    monkeypatch.setenv("DALAB_ZOO_DIR", str(zoo))
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    labels = at.sidebar.selectbox(key="dalab_model_index").options
    assert [AT_CHANCE in x for x in labels] == [True, False], labels  # bridge first, at chance
    assert Path(at.session_state["dalab_model"]).name == "tiny-cdlm"
    at.sidebar.selectbox(key="dalab_model_index").set_value(0).run()  # the user's choice holds
    assert Path(at.session_state["dalab_model"]).name == "tiny-bridge"
    at.sidebar.selectbox(key="dalab_pair").set_value("mnist -> digits").run()
    assert Path(at.session_state["dalab_model"]).name == "tiny-cdlm"  # a new pair: its best


@pytest.mark.slow
def test_modulation_reset_puts_the_trained_gammas_back(app_env):
    from dalab.runs import read_run_info
    at = AppTest.from_file(str(ROOT / "pages/modulation.py"), default_timeout=60).run()
    cfg = read_run_info(app_env / "tiny-cdlm")["config"]
    at.slider(key="modulation.gamma1").set_value(2.5)
    at.slider(key="modulation.gamma2").set_value(0.9).run()
    at.button(key="modulation.reset").click().run()
    assert not at.exception, at.exception
    assert at.slider(key="modulation.gamma1").value == pytest.approx(cfg["gamma1"])
    assert at.slider(key="modulation.gamma2").value == pytest.approx(cfg["gamma2"])


# -- Train page: one job per server, kept across reloads (issue 14) --------------------------

def _train_page(steps=100_000):
    at = AppTest.from_file(str(ROOT / "pages/train.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    at.selectbox(key="train.method").set_value("source_only")
    at.selectbox(key="train.source").set_value("ellipse-1")
    at.selectbox(key="train.target").set_value("ellipse-2")
    at.number_input(key="train.steps").set_value(steps)
    return at


def _start_button(at):
    return next((b for b in at.get("form_submit_button") if b.label == "Start"), None)


def _status(at):
    return at.get("progress")[0].proto.text


def test_train_page_reattaches_to_the_running_job_after_a_reload(tmp_path, monkeypatch,
                                                                 train_jobs):
    monkeypatch.chdir(tmp_path)
    first = _train_page()
    _start_button(first).click().run()
    assert not first.exception, first.exception
    job = train_jobs.current_job()
    assert job is not None and job.state == "running"
    assert _start_button(first) is None  # the running job, not the form
    reloaded = AppTest.from_file(str(ROOT / "pages/train.py"), default_timeout=60).run()
    assert not reloaded.exception, reloaded.exception
    assert _start_button(reloaded) is None  # a new session (a reload) shows the job ...
    assert _status(reloaded).startswith(("running", "paused"))
    assert any(str(job.out) in m.value for m in reloaded.markdown)  # ... by its run dir
    reloaded.button(key="train.stop").click().run()
    assert _status(reloaded).startswith(("stopping...", "stopped"))
    job.join(30)
    reloaded.run()
    assert job.state == "stopped" and _start_button(reloaded) is not None  # the form is back
    assert any("Run saved to" in s.value for s in reloaded.success)


def test_train_page_refuses_a_second_start_naming_the_running_run(tmp_path, monkeypatch,
                                                                  train_jobs):
    monkeypatch.chdir(tmp_path)
    tab_a, tab_b = _train_page(), _train_page()  # both opened before either started
    _start_button(tab_a).click().run()
    running = train_jobs.current_job()
    _start_button(tab_b).click().run()
    assert not tab_b.exception, tab_b.exception
    assert train_jobs.current_job() is running and len(list((tmp_path / "runs" / "app").glob("*"))) <= 1
    err = tab_b.error[0].value
    assert "already training" in err and str(running.out) in err
    assert _start_button(tab_b) is None  # and tab b now shows the running job


@pytest.mark.slow
def test_projector_mode_enlarges_fonts_and_hides_the_advanced_controls(app_env):
    """Issue 14: the sidebar toggle (or ?present=1) injects the larger-font CSS and drops the
    advanced expander's widgets; off again, they are back."""
    from dalab.ui.present import MARKER
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/modulation.py").run()
    assert not at.exception, at.exception

    def css():
        return any(MARKER in md.value for md in at.markdown)

    def advanced():
        return {w.key for w in at.number_input} & {"modulation.dim_x", "modulation.dim_y"}

    assert not css() and advanced()
    at.toggle(key="dalab_present").set_value(True).run()
    assert not at.exception, at.exception
    assert css() and not advanced()
    assert _metric(at, "measured KL(st‖ts) / KL(s‖t)") > 0  # the page still draws its numbers
    at.toggle(key="dalab_present").set_value(False).run()
    assert not css() and advanced()
    linked = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    linked.query_params["present"] = "1"
    linked.switch_page("pages/kl_gap.py").run()
    assert any(MARKER in md.value for md in linked.markdown)
    assert linked.toggle(key="dalab_present").value is True


def test_kl_gap_page_says_when_eq10_does_not_hold(app_env):
    at = AppTest.from_file(str(ROOT / "pages/kl_gap.py"), default_timeout=30).run()
    assert not at.exception, at.exception
    lines = [md.value for md in at.markdown if "Paper says" in md.value]
    assert len(lines) == 1 and "Eq. 10 predicts KL(st‖ts) = 0.000 × KL(s‖t)" in lines[0]
    assert not [w for w in at.warning if "does not show" in w.value]
    at.slider(key="kl_gap.gamma1").set_value(0.8).run()
    assert not [w for w in at.warning if "does not show" in w.value]  # unit sigmas: it holds
    at.number_input(key="kl_gap.sigma_s").set_value(2.0).run()  # at 1.0 both sides are 0
    said = [w.value for w in at.warning if "does not show" in w.value]
    assert said == ["This setting does not show Eq. 10's ratio; the same μ and γ1 with "
                    "σ_s = σ_t = 1 does."]


@pytest.mark.slow
def test_modulation_page_states_the_claim_next_to_the_gap(app_env):
    at = AppTest.from_file(str(ROOT / "pages/modulation.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    line = next(md.value for md in at.markdown if "Paper says" in md.value)
    ratio = _metric(at, "measured KL(st‖ts) / KL(s‖t)")
    assert f"measured {ratio:.2f} ×" in line  # computed from the page's own number
    from dalab.ui.claims import gap_direction
    predicted = _metric(at, "predicted ratio")
    warned = any("does not show" in w.value for w in at.warning)
    assert warned == (gap_direction(ratio) != gap_direction(predicted))
