"""The sidebar every page shares (drawn by app.py) and the cached model loader pages use.

The sidebar stores the chosen pair, model and device in ``st.session_state`` (keys
``dalab_pair``, ``dalab_model``, ``dalab_device``); a page asks :func:`pick_model` for a model
of the kind it can show, which defaults to the sidebar's choice when that one fits. Pages run
alone (AppTest) work too: without a sidebar the best working model (the highest recorded target
accuracy, models at chance last: ``models.default_index``) is the default, as it is in the
sidebar itself.
"""
from __future__ import annotations

import streamlit as st
import torch

from ..runs import RunError, load_run
from . import present
from .models import (available, by_pair, default_index, find_linked, no_model_message,
                     option_label, pair_of)

ANY = "any pair"


def devices() -> list[str]:
    out = ["cpu"]
    if torch.cuda.is_available():
        out.insert(0, "cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        out.insert(0, "mps")
    return out


@st.cache_data(ttl=10, max_entries=8, show_spinner=False)  # one per capability
def models_cached(capability: str | None = None) -> list[dict]:
    """``models.available`` re-read at most every 10 s (a finished training shows up then)."""
    return available(capability=capability)


@st.cache_data(ttl=10, max_entries=1, show_spinner=False)
def model_problems() -> list[str]:
    """The zoo entries and runs left out of the lists, one line each (re-read every 10 s)."""
    problems: list[str] = []
    available(problems=problems)
    return problems


def device() -> str:
    return st.session_state.get("dalab_device") or devices()[0]


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def load_model(path: str, device: str = "cpu"):
    """``(model, info)`` of a run or zoo entry, at most four kept in memory."""
    return load_run(path, device=device)


def load_model_or_explain(path: str, device: str = "cpu"):
    """:func:`load_model`, or (a damaged run, edited weights, a run of a method this version
    lacks) an error box naming the model and the cause, and the page stops there: one bad
    run never takes a page down. Call it before the page's cached work uses the model."""
    try:
        model, info = load_model(path, device)
    except (RunError, OSError, ValueError, KeyError, TypeError) as e:
        st.error(f"This model cannot be loaded: {e}. Pick another one in the sidebar "
                 f"(or above).")
        st.stop()
    problem = data_problem(info)
    if problem:
        st.error(f"This model loads, but the data it was trained on does not: {problem}. "
                 f"Put the file back, or pick another model in the sidebar (or above).")
        st.stop()
    return model, info


def data_problem(info: dict) -> str | None:
    """Why the pair a run was trained on cannot be rebuilt (a custom ``npz:``/``folder:``
    domain whose file was moved), or None. The pages build that pair for their batches; a
    run whose data is gone is thus explained, not a traceback (issue 24)."""
    from ..data import DomainPair
    p = info.get("pair") or {}
    try:
        DomainPair(p["source"], p["target"], p.get("split_seed", 0))
    except (OSError, ValueError, KeyError, TypeError) as e:  # DataError is a ValueError
        return f"{type(e).__name__}: {e}" if not isinstance(e, ValueError) else str(e)
    return None


def apply_model_link(models: list[dict]) -> None:
    """A link's ``?model=NAME`` (``models.link_name``: ``/modulation?model=cdlm_mnist_to_digits``)
    chooses the sidebar's pair and model, once per link value, before the sidebar's widgets are
    drawn (so the user can choose another afterwards); an unknown name becomes a link note."""
    link = st.query_params.get("model")
    if not link or st.session_state.get("_model_link") == link:
        return
    st.session_state["_model_link"] = link
    i = find_linked(models, link)
    if i is None:
        st.session_state.setdefault("_link_notes", []).append(
            f"link parameter model: no model named {link!r}")
        return
    pair = pair_of(models[i])
    shown = [m for m in models if pair_of(m) == pair]
    st.session_state["dalab_pair"] = pair
    st.session_state["dalab_model_index"] = shown.index(models[i])


def draw() -> None:
    """The sidebar: pair, model (zoo first, then the user's runs), device, projector mode."""
    models = by_pair(models_cached())
    apply_model_link(models)
    with st.sidebar:
        st.header("Model")
        pairs = sorted({pair_of(m) for m in models})
        pair = st.selectbox("Pair", [ANY] + pairs, key="dalab_pair",
                            help="Pages that show a model start from the one chosen here.",
                            on_change=st.session_state.pop, args=("dalab_model_index", None))
        shown = [m for m in models if pair == ANY or pair_of(m) == pair]
        if shown:
            labels = [option_label(m) for m in shown]
            # a new pair opens on its best working model (the callback above forgot the
            # index); a link's model (apply_model_link) set it instead
            if not 0 <= st.session_state.get("dalab_model_index", -1) < len(shown):
                st.session_state["dalab_model_index"] = default_index(shown, pair)
            i = st.selectbox("Model", range(len(shown)), format_func=labels.__getitem__,
                             key="dalab_model_index",
                             help="Grouped by pair; each with its target test accuracy (0-1), "
                                  "how it was chosen among its seeds, and its use of target "
                                  "labels where it has one.")
            st.session_state["dalab_model"] = shown[min(i, len(shown) - 1)]["path"]
        else:
            st.caption(no_model_message(example="cdlm"))
            st.session_state["dalab_model"] = None
        st.selectbox("Device", devices(), key="dalab_device")
        present.initial_state()  # a link's ?present=1 turns it on
        st.toggle("Projector mode", key=present.KEY,
                  help="Larger fonts, fewer controls, figures sized for 1280 x 720 "
                       "(also: add ?present=1 to a link).")
        n_zoo = sum(m["origin"] == "zoo" for m in models)
        st.caption(f"{n_zoo} zoo model(s), {len(models) - n_zoo} run(s) of yours.")
        problems = model_problems()
        if problems:
            with st.expander(f"{len(problems)} model(s) left out"):
                for line in problems:
                    st.caption(line)


def pick_model(method: str | None = None, capability: str | None = None,
               label: str = "Model", key: str | None = None) -> dict | None:
    """A selectbox of the models a page can show (``method`` and/or ``capability``: only
    those), grouped by pair (``models.by_pair``, labels ``models.option_label``), defaulting
    to the sidebar's choice, then to a link's ``?model=``, then to the best working model of
    the sidebar's pair (:func:`chosen_index`). ``None`` (with a message on the page naming
    what to train) when there is none."""
    models = by_pair([m for m in models_cached(capability)
                      if method is None or m["method"] == method])
    if not models:
        st.info(no_model_message(method, capability))
        return None
    index = chosen_index(models)
    labels = [option_label(m) for m in models]
    i = st.selectbox(label, range(len(models)), index=index, format_func=labels.__getitem__,
                     key=key, help="Only the models this page can show, grouped by pair; "
                                   "each with its target test accuracy (0-1) and how it was "
                                   "chosen among its seeds.")
    return models[i]


def chosen_index(models: list[dict]) -> int:
    """Index of the sidebar's model in ``models`` (entries of ``available``), else of the
    model a link names (``?model=``: a page run without the sidebar), else of the best
    working model of the sidebar's pair (:func:`dalab.ui.models.default_index`)."""
    paths = [m["path"] for m in models]
    chosen = st.session_state.get("dalab_model")
    if chosen in paths:
        return paths.index(chosen)
    linked = find_linked(models, st.query_params.get("model"))
    return linked if linked is not None else default_index(
        models, st.session_state.get("dalab_pair", ANY))
