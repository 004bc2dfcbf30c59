"""The Home page's method cards. Everything on a card is declared by the method's class
(``paper``, ``summary``, ``equation``, ``pages``: :class:`dalab.methods.Method`), so a new method
touches only its own file and the registry line; a method without an equation still gets a card."""
from __future__ import annotations


def method_cards(methods, zoo_entries: list[dict]) -> list[dict]:
    """``[{"name", "paper", "idea", "equation", "pages", "zoo"}]`` for the Home page:
    ``methods`` are the registered classes, ``pages`` their page titles joined by commas,
    ``zoo`` counts their zoo entries."""
    return [{"name": m.name, "paper": m.paper, "idea": m.summary, "equation": m.equation,
             "pages": ", ".join(m.pages),
             "zoo": sum(e["method"] == m.name for e in zoo_entries)} for m in methods]
