"""Model pickers (issue 14, "What a student trips on"): only the models a page can show,
grouped by pair, each with its target accuracy, the rule it was chosen by and its use of target
labels; a page with no model says what to train; a link's ?model= chooses the model."""
import pytest
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dalab.ui.models import (by_pair, find_linked, labels_phrase, link_name, no_model_message,
                             option_label, selection_rule)

ROOT = Path(__file__).resolve().parents[1]


def _m(label, source="mnist", target="digits", method="cdlm", accuracy=0.8, **kw):
    return {"label": label, "path": f"/zoo/{label}", "method": method, "source": source,
            "target": target, "accuracy": accuracy, "num_classes": 10, "origin": "zoo", **kw}


def test_selection_rule_reads_the_zoo_note():
    assert selection_rule({"note": "best of 3 seed(s) on held-out target train accuracy "
                                   "(oracle): a 0.8, b 0.9"}) == \
        "best of 3 seeds by held-out target train accuracy (oracle)"
    assert selection_rule({"note": "best of 3 seed(s) on held-out target train accuracy: a 1"}) \
        == "best of 3 seeds by held-out target train accuracy (oracle)"  # older notes
    assert selection_rule({"note": "best of 3 seed(s) on the label-free importance_weighted "
                                   "score: x 0.9"}) == "best of 3 seeds by label-free IWCV score"
    assert selection_rule({"note": "best of 1 seed(s) on held-out target train accuracy: x",
                           "seed": 0}) == "one seed (0), not selected"
    assert selection_rule({"note": "semi-supervised ..., one seed (0), not seed-selected",
                           "seed": 0}) == "one seed (0), not selected"
    assert selection_rule({}) == "selection not recorded"


def test_option_label_has_pair_accuracy_rule_and_label_use():
    m = _m("zoo: bridge_m2d", method="bridge", accuracy=0.789, selection="one seed (0), not "
           "selected", labels="uses 10 target labels per class")
    assert option_label(m) == ("mnist -> digits · bridge · zoo: bridge_m2d · target acc 0.789"
                               " · one seed (0), not selected · semi-supervised: uses 10 "
                               "target labels per class")
    low = option_label({**_m("zoo: x", accuracy=None), "at_chance": True})
    assert "zoo: x (at chance)" in low and "target acc -" in low
    assert labels_phrase("uses target labels").startswith("supervised upper bound")
    assert labels_phrase("") == ""


def test_by_pair_groups_and_keeps_each_pairs_order():
    models = [_m("zoo: a", "mnist", "mnistm"), _m("zoo: b"), _m("run: c", "digits", "mnist"),
              _m("run: d")]
    assert [m["label"] for m in by_pair(models)] == ["run: c", "zoo: b", "run: d", "zoo: a"]


def test_links_name_zoo_entries_and_runs():
    zoo_m, run_m = _m("zoo: cdlm_m2d"), {**_m("run: app/x"), "origin": "run",
                                         "path": "runs/app/x"}
    assert link_name(zoo_m) == "cdlm_m2d" and link_name(run_m) == "runs/app/x"
    assert find_linked([run_m, zoo_m], "cdlm_m2d") == 1
    assert find_linked([run_m, zoo_m], "runs/app/x") == 0
    assert find_linked([run_m, zoo_m], "nope") is None and find_linked([zoo_m], None) is None


def test_no_model_message_names_what_to_train():
    text = no_model_message("cdlm")
    assert "needs a CDLM model (method cdlm)" in text and "--method cdlm" in text
    text = no_model_message(capability="encode", example="cdlm")
    assert "encode capability (" in text and "dann" in text and "--method cdlm" in text


@pytest.mark.slow
def test_modulation_and_bridge_pickers_list_only_their_models(app_env):
    for page, label, method in (("modulation.py", "CDLM model", "cdlm"),
                                ("bridge.py", "Bridge model", "bridge")):
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120).run()
        assert not at.exception, at.exception
        box = next(b for b in at.selectbox if b.label == label)
        assert len(box.options) == 1, box.options      # the tiny zoo: one of each
        assert box.options[0].startswith(f"mnist -> digits · {method} · zoo: tiny-{method}")
        assert "· target acc " in box.options[0] and "selection" in box.options[0]
        assert box.help and "grouped by pair" in box.help


@pytest.mark.slow
def test_a_page_without_a_model_it_can_show_says_what_to_train(tmp_path, monkeypatch):
    import streamlit as st
    monkeypatch.setenv("DALAB_ZOO_DIR", str(tmp_path / "no-zoo"))
    monkeypatch.chdir(tmp_path)
    st.cache_data.clear()
    for page, needs in (("modulation.py", "a CDLM model (method cdlm)"),
                        ("bridge.py", "a bridge model (method bridge)"),
                        ("latent.py", "the encode capability")):
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60).run()
        assert not at.exception, (page, at.exception)
        assert needs in at.info[0].value and "python -m dalab train" in at.info[0].value, page
    st.cache_data.clear()


def test_a_model_link_chooses_the_sidebars_model_once(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = "tiny-bridge"
    at.run()
    assert not at.exception, at.exception
    assert Path(at.session_state["dalab_model"]).name == "tiny-bridge"
    assert at.session_state["dalab_pair"] == "mnist -> digits"
    for name in ("tiny-bridge", "tiny-cdlm"):               # a page alone: no sidebar
        page = AppTest.from_file(str(ROOT / "pages/latent.py"), default_timeout=120)
        page.query_params["model"] = name
        page.run()
        assert not page.exception, page.exception
        left = next(b for b in page.selectbox if b.label == "Model (left)")
        assert left.value == f"zoo: {name}"
