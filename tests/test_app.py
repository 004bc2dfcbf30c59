"""Smoke tests of the placeholder app pages (the full app has its own issue)."""
import pytest
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("page", ["pages/home.py", "pages/datasets.py", "pages/kl_gap.py",
                                  "pages/train.py", "pages/results.py"])
def test_page_renders_without_exception(page):
    at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception, at.exception


def test_home_lists_the_registered_methods():
    from dalab.methods import METHODS
    at = AppTest.from_file(str(ROOT / "pages/home.py"), default_timeout=60).run()
    shown = at.dataframe[0].value["method"].tolist()
    assert shown == list(METHODS)


def test_datasets_page_follows_the_selected_domain():
    at = AppTest.from_file(str(ROOT / "pages/datasets.py"), default_timeout=60).run()
    at.selectbox[0].set_value("mnist").run()
    assert not at.exception
    assert any("train 4000, test 1000" in m.value for m in at.markdown)
    at.selectbox[1].set_value("mnistm").run()
    a = float(at.metric[0].value)
    assert 1.5 < a <= 2.0  # gray digits vs digits on photos: linearly separable


def test_kl_gap_page_follows_gamma1():
    at = AppTest.from_file(str(ROOT / "pages/kl_gap.py"), default_timeout=60).run()
    assert not at.exception
    before = at.metric[0].value
    at.slider[0].set_value(0.5).run()
    assert at.metric[0].value == "1.000" != before
    at.slider[0].set_value(1.0).run()
    assert at.metric[0].value == "0.000"
    assert at.query_params["gamma1"] in ("1.0", ["1.0"])


def test_kl_gap_page_reads_a_shared_link():
    at = AppTest.from_file(str(ROOT / "pages/kl_gap.py"), default_timeout=60)
    at.query_params["gamma1"] = "0.5"
    at.query_params["mu_s"] = "not-a-number"  # falls back to the default, no crash
    at.run()
    assert not at.exception and at.metric[0].value == "1.000"


def test_train_page_trains_and_reports(tmp_path, monkeypatch, train_jobs):
    monkeypatch.chdir(tmp_path)  # runs/app/ goes here
    at = AppTest.from_file(str(ROOT / "pages/train.py"), default_timeout=60).run()
    assert not at.exception and at.info  # asks to press Start
    at.selectbox[1].set_value("ellipse-1")
    at.selectbox[2].set_value("ellipse-2")
    at.number_input[0].set_value(40)
    at.button[0].click().run()
    trainer = train_jobs.current_job(at.session_state["train.run"])
    trainer.join(60)
    at.run()
    assert not at.exception
    assert trainer.state == "finished"
    assert any("Run saved to" in s.value for s in at.success)
    assert list((tmp_path / "runs" / "app").glob("*/config.json"))


def test_train_page_shows_bad_overrides_as_an_error(train_jobs):
    at = AppTest.from_file(str(ROOT / "pages/train.py"), default_timeout=60).run()
    at.text_area[0].set_value("bogus=1")
    at.button[0].click().run()
    assert not at.exception
    assert "unknown config key" in at.error[0].value


@pytest.mark.slow
def test_alignment_page_without_and_with_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DALAB_ZOO_DIR", str(tmp_path / "no-zoo"))
    at = AppTest.from_file(str(ROOT / "pages/alignment.py"), default_timeout=120).run()
    assert not at.exception and "No model" in at.info[0].value
    from dalab.train import train
    for m in ("source_only", "dann"):
        train(m, "ellipse-1", "ellipse-2", 30, out=tmp_path / "runs" / m)
    monkeypatch.setenv("DALAB_ALIGNMENT_CACHE", str(tmp_path / "alignment-cache"))
    at = AppTest.from_file(str(ROOT / "pages/alignment.py"), default_timeout=120).run()
    assert not at.exception
    at.button(key="alignment.compute").click().run()  # nothing is computed before Compute
    assert not at.exception
    a = [float(x.value) for x in at.metric if "A-distance" in x.label]
    assert len(a) == 2 and all(0 <= v <= 2 for v in a)


def test_app_navigation_lists_every_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    pages = (ROOT / "pages").glob("*.py")
    text = (ROOT / "app.py").read_text()
    assert all(f"pages/{p.name}" in text for p in pages)


@pytest.mark.slow
def test_latent_page_with_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DALAB_ZOO_DIR", str(tmp_path / "no-zoo"))
    from dalab.train import train
    for m in ("source_only", "dann"):
        train(m, "ellipse-1", "ellipse-2", 30, out=tmp_path / "runs" / m)
    at = AppTest.from_file(str(ROOT / "pages/latent.py"), default_timeout=120).run()
    assert not at.exception
    before = [t.value for t in at.markdown if t.value.startswith("dimension")][0]
    dim_box = next(b for b in at.selectbox if b.label.startswith("Dimension"))
    dim_box.set_value(int(dim_box.options[-1])).run()
    after = [t.value for t in at.markdown if t.value.startswith("dimension")][0]
    assert not at.exception and before != after
