"""Widget state <-> query parameters, so a view can be shared as a link.

Call ``init_from_query({"gamma1": 1.0, ...})`` before the widgets (which must use the same
names as ``key=``) and ``to_query([...])`` after them. Values are parsed with the default's
type; a malformed parameter falls back to the default instead of crashing the page.
"""
from __future__ import annotations

import streamlit as st


def init_from_query(defaults: dict) -> None:
    for key, default in defaults.items():
        if key in st.session_state:
            continue
        raw = st.query_params.get(key)
        try:
            value = default if raw is None else type(default)(raw)
        except (TypeError, ValueError):
            value = default
        st.session_state[key] = value


def to_query(keys: list[str]) -> None:
    st.query_params.update({k: st.session_state[k] for k in keys if k in st.session_state})


def clamp(key: str, lo, hi) -> None:
    """Keep ``st.session_state[key]`` inside a widget's range (a shared link or another model
    with fewer latent dimensions must not push a widget out of bounds, which Streamlit refuses)."""
    if key in st.session_state:
        st.session_state[key] = type(st.session_state[key])(min(max(st.session_state[key], lo), hi))
