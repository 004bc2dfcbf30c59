"""Keep a deep link inside app.py's navigation: the one place that touches Streamlit's legacy
``pages/`` mode.

The problem. Streamlit still honours its legacy ``pages/`` folder mode: when the *first*
request a fresh server sees is a page URL (a shared link such as ``/modulation?gamma1=0.8``),
it runs ``pages/modulation.py`` on its own, without ``app.py`` (no sections, no sidebar), until
some session runs ``st.navigation``. :func:`ensure_app_navigation`, the first line of every
page, notices that mode, turns it off and reruns, so ``app.py`` draws the page with its
navigation and sidebar.

What was checked for a supported way to stop the legacy mode while keeping the folder name
``pages/`` (Streamlit 1.67.0, files under ``site-packages/streamlit/``): there is none.

- ``runtime/pages_manager.py:36`` declares the class attribute ``uses_pages_directory``
  (``None``); ``:60-63`` set it, process-wide, on the first session, to whether a ``pages``
  folder exists next to the entry point. Nothing else decides it.
- ``runtime/scriptrunner/script_runner.py:933-936``: while it is true, every run goes through
  ``_mpa_v1`` (``:144-181``), which builds a navigation of the entry point plus ``pages/*.py``
  and runs the requested page *instead of* the entry point; ``app.py`` never executes.
- ``commands/navigation.py:394-399``: ``st.navigation`` sets it to ``False`` (the documented
  "as soon as any session of your app executes st.navigation, your app will ignore the
  pages/ directory (across all sessions)", docs.streamlit.io/develop/api-reference/navigation/
  st.navigation) but only once ``app.py`` runs, which a deep link on a fresh server never
  does. ``position`` accepts only ``"sidebar"``, ``"hidden"``, ``"top"``: placement, not mode.
- ``config.py:661-670``, ``client.showSidebarNavigation`` ("only applies when app's pages are
  defined by the pages/ directory"): ``script_runner.py:170-174`` and ``app_session.py:1583``
  only hide the legacy menu; the page still runs without ``app.py``. No ``[server]`` or
  ``[client]`` option mentions pages otherwise (``config.py``, searched for "pages").
- ``st.switch_page("app.py")`` from the page would reach the entry point through public API,
  but app.py's ``st.navigation`` then resolves to its default page (Home): the deep link and
  its query parameters are lost, with two extra runs.
- The supported fixes are outside this module's remit: rename the folder (the docs'
  multipage overview calls ``pages/`` next to the entry point the legacy mechanism), or start
  Streamlit on an entry point whose folder has no ``pages/``.
- ``testing/v1/app_test.py:666`` resets the attribute to ``None`` for every AppTest run.

So the guard stays, here only; ``tests/test_navigation.py`` fails when an upgrade removes or
renames the attribute, so the next Streamlit upgrade re-checks this list.
"""
from __future__ import annotations

import streamlit as st

try:
    from streamlit.runtime.pages_manager import PagesManager
except ImportError:  # a future Streamlit without the module: the test says so
    PagesManager = None

FLAG = "uses_pages_directory"  # the private class attribute of PagesManager described above


def ensure_app_navigation() -> None:
    """Leave Streamlit's legacy ``pages/`` mode and rerun through ``app.py`` (see the module
    docstring); a no-op once any session has run ``st.navigation`` or without the flag."""
    if PagesManager is not None and getattr(PagesManager, FLAG, None):
        setattr(PagesManager, FLAG, False)
        st.rerun()
