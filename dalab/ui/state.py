"""Widget state <-> query parameters, so a view can be shared as a link.

Widget keys are per page: ``key("kl_gap", "gamma1")`` is ``"kl_gap.gamma1"``, so a page never
reads another page's widget of the same name (γ1 of Modulation is not γ1 of the KL-gap
calculator). Query parameters keep the plain name (``/kl_gap?gamma1=0.8``). Call
``init_from_query({"gamma1": 1.0, ...}, ranges={"gamma1": (0.2, 2.0)}, page="kl_gap")``
before the widgets (``st.slider(..., **kept("kl_gap", "gamma1"))``: the key, and
``persist_state="session"`` so the setting survives a visit to another page) and
``to_query([...], page="kl_gap")`` after them. Values are parsed with the default's type; a malformed parameter (not a number, ``nan``, ``inf``,
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


def key(page: str, name: str) -> str:
    """The session-state key of widget ``name`` on ``page``: ``"kl_gap.gamma1"``."""
    return f"{page}.{name}"


def kept(page: str, name: str) -> dict:
    """A widget's ``key=`` and ``persist_state=`` for ``name`` on ``page``: the per-page key,
    its value kept for the whole session (a visit to another page does not reset it)."""
    return {"key": key(page, name), "persist_state": "session"}


def init_from_query(defaults: dict, ranges: dict | None = None,
                    choices: dict | None = None, *, page: str) -> list[str]:
    """Set ``key(page, name)`` for each ``name`` of ``defaults`` in the session state from the
    link's parameter ``name`` (once per session); returns the notes of what was clamped or
    ignored."""
    ranges, choices = ranges or {}, choices or {}
    notes = []
    for name, default in defaults.items():
        if key(page, name) in st.session_state:
            continue
        value, note = parse_value(st.query_params.get(name), default, ranges.get(name),
                                  choices.get(name))
        st.session_state[key(page, name)] = value
        if note:
            notes.append(f"link parameter {name}: {note}")
    if notes:
        st.session_state["_link_notes"] = notes
    return notes


def show_link_notes() -> None:
    """One caption for the link parameters that were clamped or ignored (then forgotten)."""
    notes = st.session_state.pop("_link_notes", None)
    if notes:
        st.caption("; ".join(notes) + ".")


def to_query(names: list[str], *, page: str) -> None:
    """Write the page's widgets ``names`` into the link under their plain names."""
    st.query_params.update({n: st.session_state[key(page, n)] for n in names
                            if key(page, n) in st.session_state})


def clamp(state_key: str, lo, hi) -> None:
    """Keep ``st.session_state[state_key]`` inside a widget's range (a shared link or another
    model with fewer latent dimensions must not push a widget out of bounds, which Streamlit
    refuses); a NaN becomes ``lo``."""
    if state_key in st.session_state:
        v = st.session_state[state_key]
        if isinstance(v, float) and not math.isfinite(v):
            v = lo
        st.session_state[state_key] = type(st.session_state[state_key])(min(max(v, lo), hi))
