"""The Home page's method cards. Everything on a card is declared by the method's class
(``paper``, ``summary``, ``equation``, ``pages``: :class:`dalab.methods.Method`), so a new method
touches only its own file and the registry line; a method without an equation still gets a card.

A card is half the page wide, so a long equation is broken into lines (:func:`split_equation`)
at its top-level separators and operators; a line still too wide scrolls inside the card
(Streamlit's own ``overflow-x: auto`` on ``.katex-display``), which at 1440 pixels hid the end of
four equations before.
"""
from __future__ import annotations

import re

# visible symbols per line of a card's equation (:func:`visible_length`): a card is 450 pixels
# wide on a 1440-pixel page, and the widest measured equation drew 16.5 pixels a symbol
MAX_EQUATION_CHARS = 26
_FORMAT = re.compile(r"\\(mathcal|mathrm|mathbb|mathbf|text|left|right|overline|big|Big)\b"
                     r"|\\[,;!]|[{}_^]")
_COMMAND = re.compile(r"\\[a-zA-Z]+|\\ ")
# where a line may end: after \quad or ",\ ", before " \text{then}" (first choice); before a
# top-level =, + or - (only inside a line that is still too long)
_SEPARATOR = re.compile(r"\\quad|,\\ |\\ \\text\{then\}\\ ")
_OPERATOR = re.compile(r"[=+\-]")


def visible_length(equation: str) -> int:
    """About how many symbols KaTeX draws for ``equation``: formatting commands, braces and
    sub/superscript marks count 0, any other command (``\\lambda``, ``\\quad``) 1."""
    return len(_COMMAND.sub("x", _FORMAT.sub("", equation)))


def _pieces(equation: str, where: re.Pattern) -> list[str]:
    """``equation`` cut at the matches of ``where`` outside braces, brackets and ``|...|``;
    a separator stays at the end of its piece, an operator starts the next one."""
    pieces, depth, bars, start, i = [], 0, False, 0, 0
    while i < len(equation):
        ch = equation[i]
        if ch == "\\" and equation[i + 1:i + 2] in ("{", "}", "|"):
            i += 2
            continue
        depth += (ch in "{([") - (ch in "})]")
        bars ^= ch == "|"
        m = where.match(equation, i) if depth == 0 and not bars and i > start else None
        if m:  # an operator or "\ \text{then}" opens the next piece, others close theirs
            opens = len(m.group()) == 1 or m.group().startswith("\\ ")
            pieces.append(equation[start:i if opens else m.end()])
            start = i if opens else m.end()
            i = i + 1 if opens else m.end()
            continue
        i += 1
    return [p for p in pieces + [equation[start:]] if p.strip()]


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    lines: list[str] = []
    for piece in pieces:
        if lines and visible_length(lines[-1] + piece) <= max_chars:
            lines[-1] += piece
        else:
            lines.append(piece)
    return lines


def split_equation(equation: str, max_chars: int = MAX_EQUATION_CHARS) -> list[str]:
    """``equation`` as lines of at most about ``max_chars`` visible symbols, broken outside
    braces, brackets and ``|...|``: first after ``\\quad`` and ``,\\ `` and before
    ``\\ \\text{then}\\ ``; a line still too long also before ``=``, ``+`` and ``-`` (the
    operator starts the next line). A piece without such a place stays whole (the card
    scrolls it)."""
    lines = []
    for line in _pack(_pieces(equation, _SEPARATOR), max_chars):
        lines += ([line] if visible_length(line) <= max_chars
                  else _pack(_pieces(line, _OPERATOR), max_chars))
    return lines


def card_latex(equation: str, max_chars: int = MAX_EQUATION_CHARS) -> str:
    """The LaTeX a card draws: ``equation`` itself when it fits a line, else its
    :func:`split_equation` lines stacked (``gathered``)."""
    lines = split_equation(equation, max_chars)
    if len(lines) == 1:
        return lines[0]
    return r"\begin{gathered}" + r"\\ ".join(lines) + r"\end{gathered}"


# the app pages that show each method at work (the app's knowledge, not the core's: issue 23)
METHOD_PAGES: dict[str, tuple[str, ...]] = {
    "source_only": ("Alignment", "Playground"),   # the 'before' next to an adapted model
    "target_only": ("Results",),                  # the upper bound of the benchmark table
    "dann": ("Alignment", "Playground"),
    "cdlm": ("Modulation", "KL-gap calculator", "Latent vs prior"),
    "dfa_ent": ("Latent vs prior", "Alignment", "Playground"),
    "dfa_mcd": ("Latent vs prior", "Alignment", "Playground"),
    "bridge": ("Bridge interpolation", "Translate"),
    "lstnet": ("Translate",),
}


def method_cards(methods, zoo_entries: list[dict]) -> list[dict]:
    """``[{"name", "paper", "idea", "equation", "latex", "pages", "zoo"}]`` for the Home page:
    ``methods`` are the registered classes, ``latex`` the equation as the card draws it
    (:func:`card_latex`), ``pages`` their page titles joined by commas, ``zoo`` counts their
    zoo entries."""
    return [{"name": m.name, "paper": m.paper, "idea": m.summary, "equation": m.equation,
             "latex": card_latex(m.equation) if m.equation else "",
             "pages": ", ".join(METHOD_PAGES.get(m.name, ("Train",))),
             "zoo": sum(e["method"] == m.name for e in zoo_entries)} for m in methods]
