"""Widget state <-> query parameters, so a view can be shared as a link.

Call ``init_from_query({"gamma1": 1.0, ...}, ranges={"gamma1": (0.2, 2.0)})`` before the
widgets (which must use the same names as ``key=``) and ``to_query([...])`` after them. Values
are parsed with the default's type; a malformed parameter (not a number, ``nan``, ``inf``,
``1e309``, a string of over ``MAX_PARAM`` characters, a choice not offered) falls back to the
default, and a number out of its widget's range is clamped, so no link can crash a page.
Each such change is returned (and kept in ``st.session_state["_link_notes"]``) as a short note
the page shows under its title: :func:`show_link_notes`.
"""
from __future__ import annotations

import math

import streamlit as st

MAX_PARAM = 64  # characters: longer query values are ignored


def parse_value(raw, default, bounds=None, choices=None):
    """``(value, note)``: ``raw`` (a query string, or None) parsed as ``default``'s type, or
    ``default`` with a note saying why not; numbers are clamped into ``bounds`` ``(lo, hi)``;
    strings must be one of ``choices`` when given. Pure: no Streamlit involved."""
    if raw is None:
        return default, None
    if isinstance(raw, list):
        raw = raw[-1] if raw else None
        if raw is None:
            return default, None
    text = str(raw)
    if len(text) > MAX_PARAM:
        return default, f"ignored a {len(text)}-character value"
    try:
        if isinstance(default, bool):
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0"):
                raise ValueError(text)
            value = low in ("true", "1")
        elif isinstance(default, int):
            f = float(text)
            if not math.isfinite(f) or not f.is_integer():
                raise ValueError(text)
            value = int(f)
        elif isinstance(default, float):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
        else:
            value = type(default)(text)
    except (TypeError, ValueError, OverflowError):
        return default, f"ignored {text!r} (not a valid {type(default).__name__})"
    if choices is not None and value not in choices:
        return default, f"ignored {text!r} (choose one of {', '.join(map(str, choices))})"
    if bounds is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = bounds
        clamped = type(default)(min(max(value, lo), hi))
        if clamped != value:
            return clamped, f"{text} is outside {lo}-{hi}: set to {clamped}"
    return value, None


def init_from_query(defaults: dict, ranges: dict | None = None,
                    choices: dict | None = None) -> list[str]:
    """Set each key of ``defaults`` in the session state from the link (once per session);
    returns the notes of what was clamped or ignored."""
    ranges, choices = ranges or {}, choices or {}
    notes = []
    for key, default in defaults.items():
        if key in st.session_state:
            continue
        value, note = parse_value(st.query_params.get(key), default, ranges.get(key),
                                  choices.get(key))
        st.session_state[key] = value
        if note:
            notes.append(f"link parameter {key}: {note}")
    if notes:
        st.session_state["_link_notes"] = notes
    return notes


def show_link_notes() -> None:
    """One caption for the link parameters that were clamped or ignored (then forgotten)."""
    notes = st.session_state.pop("_link_notes", None)
    if notes:
        st.caption("; ".join(notes) + ".")


def to_query(keys: list[str]) -> None:
    st.query_params.update({k: st.session_state[k] for k in keys if k in st.session_state})


def clamp(key: str, lo, hi) -> None:
    """Keep ``st.session_state[key]`` inside a widget's range (a shared link or another model
    with fewer latent dimensions must not push a widget out of bounds, which Streamlit
    refuses); a NaN becomes ``lo``."""
    if key in st.session_state:
        v = st.session_state[key]
        if isinstance(v, float) and not math.isfinite(v):
            v = lo
        st.session_state[key] = type(st.session_state[key])(min(max(v, lo), hi))
