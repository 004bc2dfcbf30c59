"""Keep a deep link inside app.py's navigation.

Streamlit still honours its legacy ``pages/`` folder mode: when the *first* request a fresh
server sees is a page URL (a shared link such as ``/modulation?gamma1=0.8``), it runs
``pages/modulation.py`` on its own, without ``app.py`` (no sections, no sidebar), until some
session runs ``st.navigation``. :func:`ensure_app_navigation` at the top of a page notices that
mode, turns it off and reruns, so ``app.py`` draws the page with its navigation and sidebar.
"""
from __future__ import annotations

import streamlit as st


def ensure_app_navigation() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
