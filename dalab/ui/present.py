"""Projector mode: larger fonts, fewer controls, figures sized for a 1280 x 720 screen.

On with the sidebar's "Projector mode" toggle (session key ``dalab_present``) or a link's
``?present=1`` (read on a session's first run, so a shared link opens in it). The pure parts
(:func:`is_present`, :func:`size_figure`, :data:`CSS`) have tests; :func:`active`,
:func:`inject` and :func:`show_advanced` are what app.py and the pages call.
"""
from __future__ import annotations

import streamlit as st

KEY = "dalab_present"  # the sidebar toggle's session key
QUERY = "present"  # ?present=1
MARKER = "dalab-present"  # the id of the injected <style>: tests look for it
FONT_PX = 22  # the base font size in projector mode (Streamlit's default is 16)
SCREEN = (1280, 720)  # what the figures are sized for
FIGURE_HEIGHT = 540  # a full-width figure below a title on a 720-pixel screen
FIGURE_FONT = 20  # plotly's default is 12
CSS = f"""<style id="{MARKER}">
html, body, [data-testid="stAppViewContainer"] {{ font-size: {FONT_PX}px; }}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stAlert"] p,
[data-testid="stWidgetLabel"] p {{ font-size: {FONT_PX}px !important; }}
[data-testid="stMetricValue"] {{ font-size: {2 * FONT_PX}px !important; }}
h1 {{ font-size: {2.2 * FONT_PX:.0f}px !important; }}
h2, h3 {{ font-size: {1.5 * FONT_PX:.0f}px !important; }}
.katex {{ font-size: 1.3em !important; }}
</style>"""


def is_present(query_value=None, toggle: bool | None = None) -> bool:
    """Whether projector mode is on: the toggle once it has been drawn (``toggle`` not None),
    else the link's ``?present=`` value (``1``, ``true``, ``yes``, ``on``; a list: its last)."""
    if toggle is not None:
        return bool(toggle)
    if isinstance(query_value, (list, tuple)):
        query_value = query_value[-1] if query_value else None
    return str(query_value or "").strip().lower() in ("1", "true", "yes", "on")


def size_figure(fig, present: bool, columns: int = 1, height: int | None = None):
    """``fig`` (plotly) for projector mode: as wide as ``1 / columns`` of a 1280-pixel screen,
    ``height`` pixels tall (default :data:`FIGURE_HEIGHT`), fonts of :data:`FIGURE_FONT`. Off,
    the figure comes back unchanged. Returns ``fig`` (changed in place)."""
    if not present:
        return fig
    width = (SCREEN[0] - 80) // max(1, int(columns))
    fig.update_layout(width=width, height=height or FIGURE_HEIGHT,
                      font=dict(size=FIGURE_FONT), title_font_size=FIGURE_FONT + 4,
                      legend_font_size=FIGURE_FONT - 2)
    return fig


def initial_state() -> None:
    """Seed the toggle's state from ``?present=`` on a session's first run."""
    if KEY not in st.session_state:
        st.session_state[KEY] = is_present(st.query_params.get(QUERY))


def active() -> bool:
    """Projector mode for this run (the toggle, or ``?present=1`` before it was drawn)."""
    return is_present(st.query_params.get(QUERY), st.session_state.get(KEY))


def inject() -> None:
    """The larger fonts, when projector mode is on (a ``<style id="dalab-present">``)."""
    if active():
        st.markdown(CSS, unsafe_allow_html=True)


def show_advanced() -> bool:
    """Whether a page draws its advanced controls (not in projector mode: fewer controls)."""
    return not active()


def figure(fig, columns: int = 1, height: int | None = None):
    """:func:`size_figure` with this run's mode: what the pages wrap their figures in."""
    return size_figure(fig, active(), columns, height)
