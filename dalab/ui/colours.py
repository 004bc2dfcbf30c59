"""The app's colours, one definition for every figure (plotly on the pages, matplotlib in
``tools/``): the source domain is always blue, the target domain always red, the N(0, 1) prior
green. Hex strings, which both libraries read.

:func:`domain_colour` maps a trace's name to its domain's colour (``"source"``,
``"source_test"``, ``"mu_s"`` -> blue), so builders colour by what they draw, never by order.
"""
from __future__ import annotations

SOURCE_COLOUR = "#1f77b4"   # blue: the labelled source domain, on every page
TARGET_COLOUR = "#d62728"   # red: the unlabelled target domain, on every page
PRIOR_COLOUR = "#2ca02c"    # green: the N(0, 1) prior of the latent pages
NEUTRAL_COLOUR = "#7f7f7f"  # grey: what is neither domain (a method's bar, a marker legend)
DOMAIN_COLOURS = {"source": SOURCE_COLOUR, "target": TARGET_COLOUR}

_SOURCE_NAMES = {"source", "s", "mu_s", "μ_s", "source_test", "source_train", "domain 1"}
_TARGET_NAMES = {"target", "t", "mu_t", "μ_t", "target_test", "target_train", "domain 2"}


def domain_colour(name: str) -> str | None:
    """The colour of a trace named ``name``: :data:`SOURCE_COLOUR` for the source domain's
    names (``"source"``, ``"source_test"``, ``"mu_s"``, ``"domain 1"`` ...),
    :data:`TARGET_COLOUR` for the target's, ``None`` for anything else (the caller picks)."""
    key = str(name).strip().lower()
    if key in _SOURCE_NAMES:
        return SOURCE_COLOUR
    if key in _TARGET_NAMES:
        return TARGET_COLOUR
    return None


def matplotlib_domain_style() -> dict:
    """``{"source": {...}, "target": {...}}`` keyword arguments for matplotlib's ``plot`` /
    ``scatter`` / ``hist`` (``color`` and ``label``): the same two colours as the pages."""
    return {d: {"color": c, "label": d} for d, c in DOMAIN_COLOURS.items()}
