"""The deep-link guard (dalab/ui/navigation.py) and the Streamlit internals it relies on: a
Streamlit upgrade that renames or drops them fails here, so the guard gets re-checked."""
import ast
import inspect
from pathlib import Path

import pytest
import streamlit
from streamlit.runtime import pages_manager
from streamlit.runtime.scriptrunner import script_runner

from dalab.ui import navigation

ROOT = Path(__file__).resolve().parents[1]


class _Rerun(Exception):
    pass


@pytest.fixture
def rerun(monkeypatch):
    """``st.rerun`` replaced by one that records the call and stops the page, as it does."""
    calls = []

    def fake():
        calls.append(True)
        raise _Rerun
    monkeypatch.setattr(streamlit, "rerun", fake)
    return calls


def test_streamlit_still_has_the_private_flag():
    assert navigation.PagesManager is pages_manager.PagesManager
    assert navigation.FLAG in vars(pages_manager.PagesManager)  # a class attribute


def test_streamlit_still_enters_the_legacy_mode_for_our_layout(monkeypatch):
    """A fresh server (flag None) with pages/ next to app.py turns the legacy mode on, and the
    script runner still branches on the flag to run a page without app.py."""
    monkeypatch.setattr(pages_manager.PagesManager, navigation.FLAG, None)
    pages_manager.PagesManager(str(ROOT / "app.py"))
    assert getattr(pages_manager.PagesManager, navigation.FLAG) is True
    assert callable(getattr(script_runner, "_mpa_v1", None))
    assert f"PagesManager.{navigation.FLAG}" in inspect.getsource(script_runner.ScriptRunner)


def test_guard_leaves_the_legacy_mode_and_reruns(monkeypatch, rerun):
    monkeypatch.setattr(pages_manager.PagesManager, navigation.FLAG, True)
    with pytest.raises(_Rerun):
        navigation.ensure_app_navigation()
    assert getattr(pages_manager.PagesManager, navigation.FLAG) is False and rerun == [True]


def test_guard_is_a_no_op_once_st_navigation_ran(monkeypatch, rerun):
    monkeypatch.setattr(pages_manager.PagesManager, navigation.FLAG, False)
    navigation.ensure_app_navigation()
    assert getattr(pages_manager.PagesManager, navigation.FLAG) is False and rerun == []


def test_every_page_calls_the_guard_first():
    """Any page can be the first request a fresh server runs; app.py itself cannot be."""
    for page in sorted((ROOT / "pages").glob("*.py")):
        body = [n for n in ast.parse(page.read_text()).body
                if not isinstance(n, (ast.Import, ast.ImportFrom))
                and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        first = body[0]
        assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call) \
            and getattr(first.value.func, "id", None) == "ensure_app_navigation", page.name
