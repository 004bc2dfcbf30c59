"""Every number a page shows has a unit or a "what is this" help (issue 14): every metric and
every table column, their help in one place (dalab/ui/glossary.py)."""
import ast
import json
from pathlib import Path

import pytest

from dalab.ui import glossary as G

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "pages").glob("*.py"))


def _calls(path, attr):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == attr:
            yield node


def test_help_lookup_matches_patterns_and_refuses_unknown_labels():
    assert G.help_for("proxy A-distance, mnist vs digits (raw pixels)") == \
        G.HELP["proxy A-distance, {name} vs {other} (raw pixels)"]
    assert G.help_key("predicted ratio (Eq. 12)") == "predicted ratio ({equation})"
    with pytest.raises(KeyError, match="glossary"):
        G.help_for("a number nobody explained")
    with pytest.raises(KeyError, match="glossary"):
        G.column_help("mystery")
    assert G.column_help("lr", grid=True) == G.GRID_VALUE
    assert all(len(h) > 20 for h in [*G.HELP.values(), *G.COLUMNS.values()])


def test_columns_puts_the_help_on_each_given_column_config():
    import streamlit as st
    cfg = G.columns(["mean", "sd"], mean=st.column_config.NumberColumn(format="%.4f"))
    assert cfg["mean"]["help"] == G.COLUMNS["mean"] and cfg["mean"]["type_config"]
    assert cfg["sd"]["help"] == G.COLUMNS["sd"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_metric_and_table_of_a_page_takes_its_help_from_the_glossary(path):
    """Static: each st.metric passes help= with a HELP entry (or one built on it), each
    st.dataframe a column_config."""
    for call in _calls(path, "metric"):
        kw = {k.arg: k.value for k in call.keywords}
        assert "help" in kw, f"{path.name}:{call.lineno}: st.metric without help="
        text = ast.unparse(kw["help"])
        assert "HELP[" in text or "help_for(" in text, f"{path.name}:{call.lineno}: {text}"
        for node in ast.walk(kw["help"]):
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "HELP":
                assert ast.literal_eval(node.slice) in G.HELP, f"{path.name}:{call.lineno}"
    for call in _calls(path, "dataframe"):
        assert "column_config" in {k.arg for k in call.keywords}, \
            f"{path.name}:{call.lineno}: st.dataframe without column_config"


RENDERED = ["datasets.py", "kl_gap.py", "latent.py", "modulation.py", "bridge.py", "home.py",
            "results.py", "alignment.py"]


@pytest.mark.parametrize("page", RENDERED)
def test_every_rendered_metric_and_column_has_its_help(app_env, page):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=180).run()
    assert not at.exception, at.exception
    for m in at.metric:
        k = G.help_key(m.label)
        assert k is not None, f"{page}: no glossary entry for the metric {m.label!r}"
        assert G.HELP[k] in m.help, (page, m.label, m.help)
    for df in at.dataframe:
        config = json.loads(df.proto.columns or "{}")
        for name in df.value.columns:
            assert config.get(str(name), {}).get("help"), (page, name)
