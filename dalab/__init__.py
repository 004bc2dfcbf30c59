"""dalab: a domain-adaptation lab. Core: data -> nn -> losses -> methods -> train -> runs."""
__version__ = "0.1.0"
